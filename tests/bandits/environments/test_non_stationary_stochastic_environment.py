"""NonStationaryStochasticEnvironment: a clock and an EnvironmentDynamics."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.environments import non_stationary_stochastic_environment as nsse
from policylib.specs import tensor_spec


class _ClockDynamics(nsse.EnvironmentDynamics):
    """Contexts show the time; arm a pays context + a."""

    batch_size = 3
    observation_spec = tensor_spec.TensorSpec([1], tf.float32, name="clock")
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)

    def observation(self, env_time):
        return tf.fill([3, 1], tf.cast(env_time, tf.float32))

    def reward(self, observation, env_time):
        return observation + tf.constant([[0.0, 1.0, 2.0]])


def test_clock_advances_by_batch_size_and_indexes_rewards():
    env = nsse.NonStationaryStochasticEnvironment(_ClockDynamics())
    assert isinstance(env.environment_dynamics, _ClockDynamics)
    assert env.batch_size == 3 and env.action_spec().maximum == 2
    np.testing.assert_array_equal(env.reset().observation.numpy(), [[0.0]] * 3)
    last = env.step(tf.constant([0, 1, 2]))
    np.testing.assert_array_equal(last.reward.numpy(), [0.0, 1.0, 2.0])
    assert env._env_time.numpy() == 3
    # The next context is drawn after the clock moved.
    np.testing.assert_array_equal(last.observation.numpy(), [[3.0]] * 3)
    last = env.step(tf.constant([2, 2, 0]))
    np.testing.assert_array_equal(last.reward.numpy(), [5.0, 5.0, 3.0])
    assert env._env_time.numpy() == 6


def test_rejects_other_dynamics():
    with pytest.raises(TypeError, match="must be an EnvironmentDynamics; got dict"):
        nsse.NonStationaryStochasticEnvironment({})
