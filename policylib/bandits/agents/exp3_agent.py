"""`Exp3Agent`: the EXP3 algorithm for adversarial multi-armed bandits.

The agent keeps one weight per arm, an importance-weighted running estimate
of the arm's total reward, and acts with a `CategoricalPolicy` whose logits
are `learning_rate * weights`. After playing arm `a` with probability
`p = exp(log_prob)` and seeing reward `r` in [0, 1], the weight of `a` grows
by `1 - (1 - r) / p` (the loss-based estimator of Lattimore and Szepesvari,
"Bandit Algorithms", 2019, chapter 11), so rarely played arms are not
underestimated.

    agent = exp3_agent.Exp3Agent(time_step_spec, action_spec, learning_rate=0.1)
    agent.train(experience)  # experience.policy_info holds the log-probabilities

Every `train` call must see new experience only (clear a replay buffer between
calls): the weights are sums over everything ever trained on.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.policies import categorical_policy
from policylib.policies import utils as policy_utilities
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["Exp3Agent", "exp3_update_value", "selective_sum"]


def selective_sum(
    values: types.Tensor, partitions: types.Int, num_partitions: int
) -> tf.Tensor:
    """Per-partition sums: entry `i` is the sum of the `values` whose partition is `i`.

    `selective_sum([0, 1, 2, 3, 4, 5], [0, 1, 1, 1, 0, 0], 2)` is `[9, 6]`.

    Args:
      values: a numeric tensor of any shape.
      partitions: integers in `[0, num_partitions)`, shaped like `values`.
      num_partitions: the number of partitions.

    Returns:
      A `[num_partitions]` tensor of `values`' dtype.

    Raises:
      InvalidArgumentError: (when run) a partition index is out of range.
    """
    values = tf.convert_to_tensor(values)
    partitions = tf.cast(partitions, tf.int32)
    checks = [
        tf.debugging.assert_non_negative(
            partitions, message="selective_sum: negative partition index"
        ),
        tf.debugging.assert_less(
            partitions,
            tf.constant(num_partitions, tf.int32),
            message=f"selective_sum: partition index >= num_partitions "
            f"({num_partitions})",
        ),
    ]
    with tf.control_dependencies(checks):
        return tf.math.unsorted_segment_sum(values, partitions, num_partitions)


def exp3_update_value(reward: types.Float, log_prob: types.Float) -> tf.Tensor:
    """The EXP3 weight increment `1 - (1 - reward) / exp(log_prob)` of a played arm."""
    return 1.0 - (1.0 - reward) / tf.exp(log_prob)


@gin.configurable
class Exp3Agent(tf_agent.TFAgent):
    """Trains EXP3 weights from experience carrying action log-probabilities.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar `int32`/`int64` `BoundedTensorSpec` with minimum 0.
      learning_rate: scales the weights into logits (the policy's inverse
        temperature): larger values commit to the best-looking arm sooner.
      name: module name.

    Raises:
      ValueError: the action spec is not a scalar integer spec starting at 0.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        learning_rate: float,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._weights = tf.Variable(
            tf.zeros([self._num_actions], tf.float32), name="weights"
        )
        self._learning_rate = tf.Variable(
            learning_rate, dtype=tf.float32, name="learning_rate"
        )
        policy = categorical_policy.CategoricalPolicy(
            weights=self._weights,
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            inverse_temperature=self._learning_rate,
        )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=policy.action_spec,
            policy=policy,
            collect_policy=policy,
            train_sequence_length=None,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    @property
    def num_actions(self) -> int:
        return self._num_actions

    @property
    def weights(self) -> tf.Tensor:
        """A snapshot of the per-arm weights."""
        return tf.identity(self._weights)

    @property
    def learning_rate(self) -> tf.Tensor:
        return tf.identity(self._learning_rate)

    @learning_rate.setter
    def learning_rate(self, learning_rate: types.Float) -> None:
        self._learning_rate.assign(learning_rate)

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """Adds the EXP3 increments of `experience` to the weights.

        Args:
          experience: a `[B, T]` `Trajectory` whose policy info holds the
            log-probability of each action.
          weights: unused (EXP3 weighs by inverse probabilities itself).

        Returns:
          `LossInfo(-sum(reward), ())`.

        Raises:
          ValueError: the policy info holds no log-probability.
        """
        del weights
        experience = self._as_trajectory(experience)
        log_prob = policy_step.get_log_probability(experience.policy_info)
        if log_prob is None or (isinstance(log_prob, tuple) and not log_prob):
            raise ValueError(
                "Exp3Agent needs the log-probability of each action in "
                "experience.policy_info (emit_log_probability=True); got policy_info "
                f"{experience.policy_info!r}."
            )
        reward = tf.cast(experience.reward, tf.float32)
        update = exp3_update_value(reward, tf.cast(log_prob, tf.float32))
        self._weights.assign_add(
            selective_sum(update, experience.action, self._num_actions)
        )
        counter = self.train_step_counter
        self.train_step_counter.assign_add(tf.cast(tf.size(reward), counter.dtype))
        return tf_agent.LossInfo(loss=-tf.reduce_sum(reward), extra=())
