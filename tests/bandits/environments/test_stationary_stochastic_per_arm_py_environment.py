"""StationaryStochasticPerArmPyEnvironment: global and per-arm contexts."""

import numpy as np
import pytest

from policylib.bandits.environments import (
    stationary_stochastic_per_arm_py_environment as sspe,
)
from policylib.specs import array_spec


def _counter():
    state = {"n": 0}

    def draw():
        state["n"] += 1
        return np.array([state["n"], 10 * state["n"]], np.int32)

    return draw


def test_observation_layout_and_reward_of_chosen_arm():
    env = sspe.StationaryStochasticPerArmPyEnvironment(
        lambda: np.array([100.0], np.float32),
        _counter(),
        max_num_actions=3,
        reward_fn=lambda x: x.sum(),
        batch_size=2,
    )
    spec = env.observation_spec()
    assert spec["global"] == array_spec.ArraySpec((1,), np.float32)
    assert spec["per_arm"] == array_spec.ArraySpec((3, 2), np.int32)
    assert "num_actions" not in spec
    observation = env.reset().observation
    assert array_spec.check_arrays_nest(
        observation, array_spec.add_outer_dims_nest(spec, (2,))
    )
    # The construction call drew arm 1; the batch holds arms 2..7 in order.
    np.testing.assert_array_equal(observation["per_arm"][1, 0], [5, 50])
    reward = env.step([0, 2]).reward
    # Entry 0, arm 0 = [2, 20]; entry 1, arm 2 = [7, 70]; plus global 100.
    np.testing.assert_array_equal(reward, [122.0, 177.0])


def test_num_actions_feature_is_clipped():
    values = iter([7, 0, 3] * 10)
    env = sspe.StationaryStochasticPerArmPyEnvironment(
        lambda: np.zeros(2),
        lambda: np.zeros(3),
        max_num_actions=4,
        reward_fn=lambda x: 0.0,
        num_actions_fn=lambda: next(values),
        batch_size=3,
    )
    spec = env.observation_spec()["num_actions"]
    assert (spec.minimum, spec.maximum, spec.dtype) == (1, 4, np.int64)
    # The construction call used 7; the batch gets 0, 3, 7 clipped into [1, 4].
    np.testing.assert_array_equal(env.reset().observation["num_actions"], [1, 3, 4])


def test_bad_input():
    with pytest.raises(ValueError, match="max_num_actions must be >= 1; got 0"):
        sspe.StationaryStochasticPerArmPyEnvironment(
            lambda: np.zeros(2), lambda: np.zeros(3), 0, lambda x: 0.0
        )
    env = sspe.StationaryStochasticPerArmPyEnvironment(
        lambda: np.zeros(2), lambda: np.zeros(3), 2, lambda x: 0.0, batch_size=2
    )
    env.reset()
    with pytest.raises(ValueError, match=r"Actions must be ints in \[0, 1\]"):
        env.step([0, 2])
