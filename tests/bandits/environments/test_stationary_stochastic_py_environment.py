"""StationaryStochasticPyEnvironment: per-arm reward (and constraint) functions."""

import numpy as np
import pytest

from policylib.bandits.environments import stationary_stochastic_py_environment as sspe
from policylib.environments import tf_py_environment
from policylib.specs import array_spec

CONTEXTS = np.array([[1.0, 2.0], [3.0, -1.0], [0.0, 5.0]])
REWARD_FNS = [lambda x: x[0], lambda x: x[1], lambda x: x[0] + x[1]]


def test_rewards_come_from_the_chosen_arms_function():
    env = sspe.StationaryStochasticPyEnvironment(
        lambda: CONTEXTS, REWARD_FNS, batch_size=3
    )
    assert env.observation_spec() == array_spec.ArraySpec((2,), np.float64)
    assert env.action_spec().maximum == 2 and env.name == "stationary_stochastic"
    np.testing.assert_array_equal(env.reset().observation, CONTEXTS)
    reward = env.step([2, 0, 1]).reward
    assert reward.dtype == np.float32
    np.testing.assert_array_equal(reward, [3.0, 3.0, 5.0])


def test_vector_rewards_and_constraints():
    reward_fns = [lambda x: [x[0], -x[0]], lambda x: [x[1], 0.0]]
    constraint_fns = [lambda x: 1.0, lambda x: 2.0]
    env = sspe.StationaryStochasticPyEnvironment(
        lambda: CONTEXTS[:2], reward_fns, constraint_fns, batch_size=2
    )
    spec = env.reward_spec()
    assert spec["reward"].shape == (2,) and spec["constraint"].shape == ()
    first = env.reset()
    assert first.reward["reward"].shape == (2, 2) and first.reward[
        "constraint"
    ].shape == (2,)
    last = env.step([0, 1])
    np.testing.assert_array_equal(last.reward["reward"], [[1.0, -1.0], [-1.0, 0.0]])
    np.testing.assert_array_equal(last.reward["constraint"], [1.0, 2.0])


def test_random_contexts_through_tf_py_environment():
    env = sspe.StationaryStochasticPyEnvironment(
        lambda: np.random.normal(size=[4, 2]).astype(np.float32),
        REWARD_FNS,
        batch_size=4,
    )
    tf_env = tf_py_environment.TFPyEnvironment(env)
    observation = tf_env.reset().observation.numpy()
    reward = tf_env.step(np.array([0, 1, 2, 0], np.int32)).reward.numpy()
    np.testing.assert_allclose(
        reward,
        [observation[0, 0], observation[1, 1], observation[2].sum(), observation[3, 0]],
        rtol=1e-6,
    )


def test_bad_input():
    with pytest.raises(
        ValueError, match=r"should match the batch size \(2\); .* shape \(3, 2\)"
    ):
        sspe.StationaryStochasticPyEnvironment(
            lambda: CONTEXTS, REWARD_FNS, batch_size=2
        )
    with pytest.raises(ValueError, match="one reward function per arm"):
        sspe.StationaryStochasticPyEnvironment(lambda: CONTEXTS, [], batch_size=3)
    with pytest.raises(ValueError, match=r"one function per arm \(3\); got 1"):
        sspe.StationaryStochasticPyEnvironment(
            lambda: CONTEXTS, REWARD_FNS, [lambda x: 0.0], batch_size=3
        )
    env = sspe.StationaryStochasticPyEnvironment(
        lambda: CONTEXTS, REWARD_FNS, batch_size=3
    )
    env.reset()
    with pytest.raises(ValueError, match="Number of actions must match batch size"):
        env.step([0, 1])
