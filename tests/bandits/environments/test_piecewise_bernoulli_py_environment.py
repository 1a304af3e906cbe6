"""PiecewiseBernoulliPyEnvironment: the arm means switch piece by piece."""

import itertools

import numpy as np
import pytest

from policylib.bandits.environments import piecewise_bernoulli_py_environment as pbe

MEANS = [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


def test_pieces_follow_durations_and_wrap_around():
    env = pbe.PiecewiseBernoulliPyEnvironment(
        MEANS, iter([2, 0, 3, 1, 100]), batch_size=3
    )
    np.testing.assert_array_equal(env.reset().observation, np.zeros((3, 1), np.int32))
    pieces, rewards = [], []
    for _ in range(7):
        pieces.append(env._current_piece)
        rewards.append(env.step([0, 1, 1]).reward.tolist())
    # Durations 2, 0, 3, 1: piece 0 twice, piece 1 skipped, piece 2 three times,
    # then piece 0 (wrapped) once, then piece 1.
    assert pieces == [0, 0, 2, 2, 2, 0, 1]
    assert rewards[0] == [0.0, 1.0, 1.0]
    assert rewards[2] == [1.0, 1.0, 1.0]
    assert rewards[6] == [1.0, 0.0, 0.0]


def test_callable_durations_and_single_action_broadcast():
    env = pbe.PiecewiseBernoulliPyEnvironment(MEANS, lambda: 1, batch_size=4)
    env.reset()
    np.testing.assert_array_equal(env.step(1).reward, np.ones(4, np.float32))
    np.testing.assert_array_equal(env.step([1]).reward, np.zeros(4, np.float32))


def test_bad_input():
    forever = itertools.repeat(5)
    with pytest.raises(
        ValueError, match=r"All parameters should be floats in \[0, 1\]\."
    ):
        pbe.PiecewiseBernoulliPyEnvironment([[0.5, 1.5]], forever)
    with pytest.raises(
        ValueError, match=r"\[num_pieces, num_arms\] table; got shape \(2,\)"
    ):
        pbe.PiecewiseBernoulliPyEnvironment([0.5, 0.5], forever)
    with pytest.raises(
        ValueError, match="Generated duration must be non-negative. Got -1"
    ):
        pbe.PiecewiseBernoulliPyEnvironment(MEANS, iter([-1]))
    env = pbe.PiecewiseBernoulliPyEnvironment(MEANS, forever, batch_size=2)
    env.reset()
    with pytest.raises(ValueError, match=r"must match batch size \(2\)"):
        env.step([0, 1, 0])
    ended = pbe.PiecewiseBernoulliPyEnvironment(MEANS, iter([1]))
    ended.reset()
    with pytest.raises(StopIteration):
        ended.step([0])
