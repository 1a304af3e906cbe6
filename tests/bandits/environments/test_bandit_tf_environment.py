"""BanditTFEnvironment: one-step episodes kept in variables, eager and traced."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.environments import bandit_tf_environment
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts


class _CounterEnvironment(bandit_tf_environment.BanditTFEnvironment):
    """Contexts count the calls of `_observe`; reward = context * action."""

    def __init__(self, batch_size=2):
        observation_spec = tensor_spec.TensorSpec([1], tf.float32)
        super().__init__(
            ts.time_step_spec(observation_spec),
            tensor_spec.BoundedTensorSpec((), tf.int32, 0, 4),
            batch_size=batch_size,
            name="counter",
        )
        self._count = tf.Variable(0.0)

    def _observe(self):
        self._count.assign_add(1.0)
        return tf.fill([self.batch_size, 1], self._count.read_value())

    def _apply_action(self, action):
        # float64, to check the cast to the reward spec's float32.
        return tf.cast(self._count.read_value(), tf.float64) * tf.cast(
            action, tf.float64
        )


def test_reset_step_and_current_time_step():
    env = _CounterEnvironment(batch_size=3)
    assert env.name == "counter" and env.batch_size == 3
    # current_time_step before any reset resets.
    first = env.current_time_step()
    np.testing.assert_array_equal(first.observation.numpy(), [[1.0]] * 3)
    np.testing.assert_array_equal(first.step_type.numpy(), [0, 0, 0])
    last = env.step(tf.constant([0, 1, 2]))
    assert last.reward.dtype == tf.float32
    np.testing.assert_array_equal(last.reward.numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(last.step_type.numpy(), [2, 2, 2])
    np.testing.assert_array_equal(last.discount.numpy(), [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(last.observation.numpy(), [[2.0]] * 3)
    # current_time_step repeats the last step, without drawing a new context.
    again = env.current_time_step()
    np.testing.assert_array_equal(again.reward.numpy(), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(again.observation.numpy(), [[2.0]] * 3)


def test_steps_inside_tf_function():
    env = _CounterEnvironment()

    @tf.function
    def run():
        env.reset()
        rewards = []
        for _ in range(3):
            rewards.append(env.step(tf.constant([1, 2])).reward)
        return tf.stack(rewards)

    np.testing.assert_array_equal(run().numpy(), [[1, 2], [2, 4], [3, 6]])


def test_bad_input():
    with pytest.raises(ValueError, match="needs a time_step_spec; got None"):
        _Unspecified()
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 0"):
        _CounterEnvironment(batch_size=0)
    with pytest.raises(ValueError, match="batch_size must be a positive int; got 1.5"):
        _CounterEnvironment(batch_size=1.5)


class _Unspecified(bandit_tf_environment.BanditTFEnvironment):
    def __init__(self):
        super().__init__()

    def _observe(self):
        return tf.zeros([1])

    def _apply_action(self, action):
        return tf.zeros([1])
