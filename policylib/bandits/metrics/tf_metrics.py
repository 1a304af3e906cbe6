"""In-graph bandit metrics: regret, suboptimal arms, constraint violations, greed.

Each metric is a `TFStepMetric` fed the trajectories of a bandit driver:

    regret = tf_metrics.RegretMetric(environment.compute_optimal_reward)
    driver = dynamic_step_driver.DynamicStepDriver(env, policy, observers=[regret])

Unlike return metrics, these describe the latest batch only: every call
replaces the value with the mean over that batch's samples.
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import tensorflow as tf

from policylib.metrics import tf_metric
from policylib.specs import bandit_spec_utils
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "ConstraintViolationsMetric",
    "DistanceFromGreedyMetric",
    "RegretMetric",
    "SuboptimalArmsMetric",
]


class _LatestBatchMeanMetric(tf_metric.TFStepMetric):
    """Holds the mean of `_per_sample(trajectory)` over the latest batch.

    Subclasses set `_variable_name` (the public attribute holding the variable)
    and implement `_per_sample`.
    """

    _variable_name = "value"

    def __init__(self, name: str, dtype: tf.DType):
        super().__init__(name=name)
        self.dtype = tf.as_dtype(dtype)
        setattr(
            self,
            self._variable_name,
            common.create_variable(
                initial_value=0, dtype=self.dtype, shape=(), name=self._variable_name
            ),
        )

    @property
    def _variable(self) -> tf.Variable:
        return getattr(self, self._variable_name)

    def _per_sample(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        raise NotImplementedError

    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        """Sets the value to the batch mean of this trajectory; returns it unchanged."""
        values = tf.cast(self._per_sample(trajectory), self.dtype)
        self._variable.assign(tf.reduce_mean(values))
        return trajectory

    def result(self) -> tf.Tensor:
        return tf.identity(self._variable, name=self.name)

    @common.function
    def reset(self) -> None:
        self._variable.assign(tf.zeros([], self.dtype))


def _scalar_reward(reward: types.NestedTensor) -> types.Tensor:
    """The reward, or its `'reward'` entry for the dict rewards of constrained bandits."""
    if isinstance(reward, dict):
        if bandit_spec_utils.REWARD_SPEC_KEY not in reward:
            raise ValueError(
                f"A dict reward needs a '{bandit_spec_utils.REWARD_SPEC_KEY}' entry; "
                f"got keys {sorted(reward)}."
            )
        return reward[bandit_spec_utils.REWARD_SPEC_KEY]
    return reward


def _action_values(values: types.Tensor, action: types.Tensor) -> tf.Tensor:
    """`values[b, action[b]]` for `[B, num_actions]` values (`values[action]` unbatched)."""
    action = tf.cast(action, tf.int32)
    batch_dims = 1 if action.shape.rank else 0
    return tf.gather(values, action, axis=-1, batch_dims=batch_dims)


@gin.configurable
class RegretMetric(_LatestBatchMeanMetric):
    """Mean of `baseline_reward_fn(observation) - reward` over the latest batch.

    Args:
      baseline_reward_fn: maps a batch of observations to the baseline's
        (typically the optimal action's) rewards.
      name: the metric's name.
      dtype: the value's dtype.
    """

    _variable_name = "regret"

    def __init__(
        self,
        baseline_reward_fn: Callable[[types.NestedTensor], types.Tensor],
        name: str = "RegretMetric",
        dtype: tf.DType = tf.float32,
    ):
        self._baseline_reward_fn = baseline_reward_fn
        super().__init__(name=name, dtype=dtype)

    def _per_sample(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        baseline = tf.cast(self._baseline_reward_fn(trajectory.observation), self.dtype)
        reward = tf.cast(_scalar_reward(trajectory.reward), self.dtype)
        return baseline - reward


@gin.configurable
class SuboptimalArmsMetric(_LatestBatchMeanMetric):
    """Fraction of the latest batch whose action differs from the baseline's.

    Args:
      baseline_action_fn: maps a batch of observations to the baseline's
        (typically the optimal) actions.
      name: the metric's name.
      dtype: the value's dtype.
    """

    _variable_name = "suboptimal_arms"

    def __init__(
        self,
        baseline_action_fn: Callable[[types.NestedTensor], types.Tensor],
        name: str = "SuboptimalArmsMetric",
        dtype: tf.DType = tf.float32,
    ):
        self._baseline_action_fn = baseline_action_fn
        super().__init__(name=name, dtype=dtype)

    def _per_sample(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        action = tf.convert_to_tensor(trajectory.action)
        baseline = tf.cast(
            self._baseline_action_fn(trajectory.observation), action.dtype
        )
        return tf.not_equal(baseline, action)


@gin.configurable
class ConstraintViolationsMetric(_LatestBatchMeanMetric):
    """Mean probability, over the latest batch, that the chosen action was infeasible.

    Args:
      constraint: a bandit constraint (e.g. a `constraints.BaseConstraint`):
        called with a batch of observations, it returns the `[B, num_actions]`
        probabilities that each action is feasible.
      name: the metric's name.
      dtype: the value's dtype.
    """

    _variable_name = "constraint_violations"

    def __init__(
        self,
        constraint: Callable[..., types.Tensor],
        name: str = "ConstraintViolationMetric",
        dtype: tf.DType = tf.float32,
    ):
        self._constraint = constraint
        super().__init__(name=name, dtype=dtype)

    def _per_sample(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        feasibility = tf.cast(self._constraint(trajectory.observation), self.dtype)
        return 1.0 - _action_values(feasibility, trajectory.action)


@gin.configurable
class DistanceFromGreedyMetric(_LatestBatchMeanMetric):
    """How far, by the policy's own estimates, the chosen actions fall short of greedy.

    The mean over the latest batch of `max_a r_hat(a) - r_hat(action)`: zero
    when the agent acts greedily, so it measures how much the agent believes
    exploration costs (not the regret, which uses the true rewards).

    Args:
      estimated_reward_fn: maps a batch of observations to the `[B,
        num_actions]` rewards the greedy policy estimates.
      name: the metric's name.
      dtype: the value's dtype.
    """

    _variable_name = "safe_explore"

    def __init__(
        self,
        estimated_reward_fn: Callable[[types.NestedTensor], types.Tensor],
        name: str = "DistanceFromGreedyMetric",
        dtype: tf.DType = tf.float32,
    ):
        self._estimated_reward_fn = estimated_reward_fn
        super().__init__(name=name, dtype=dtype)

    def _per_sample(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        estimates = tf.cast(
            self._estimated_reward_fn(trajectory.observation), self.dtype
        )
        best = tf.reduce_max(estimates, axis=-1)
        return best - _action_values(estimates, trajectory.action)
