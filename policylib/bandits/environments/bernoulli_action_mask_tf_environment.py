"""A bandit environment wrapper that allows only a random subset of actions.

At each step every action is allowed independently with probability
`action_probability` (at least one always is). The 0/1 mask is joined to the
wrapped environment's context by `action_constraint_join_fn`, and stepping
with an action the mask forbids raises `tf.errors.InvalidArgumentError`.

    masked = BernoulliActionMaskTFEnvironment(
        env, lambda context, mask: (context, mask), action_probability=0.5
    )
    context, mask = masked.reset().observation
"""

from __future__ import annotations

from collections.abc import Callable

import gin
import tensorflow as tf

from policylib.bandits.environments import bandit_tf_environment
from policylib.policies import utils as policy_utilities
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["BernoulliActionMaskTFEnvironment"]


@common.function
def _maybe_add_one_action(mask: types.Int) -> tf.Tensor:
    """Allows one random action in each row of `mask` that allows none.

    Args:
      mask: `[batch_size, num_actions]` int 0/1 mask.

    Returns:
      The mask with rows of all zeros replaced by a random one-hot row.
    """
    mask = tf.convert_to_tensor(mask)
    batch_size, num_actions = tf.shape(mask)[0], tf.shape(mask)[1]
    random_rows = tf.one_hot(
        tf.random.uniform([batch_size], 0, num_actions, dtype=tf.int32),
        depth=num_actions,
        dtype=mask.dtype,
    )
    has_allowed = tf.reduce_any(tf.not_equal(mask, 0), axis=1, keepdims=True)
    return tf.where(has_allowed, mask, random_rows)


@gin.configurable
class BernoulliActionMaskTFEnvironment(bandit_tf_environment.BanditTFEnvironment):
    """Adds a random mask of allowed actions to each context.

    Args:
      original_environment: the `BanditTFEnvironment` to wrap; its discrete
        action spec gives the number of actions.
      action_constraint_join_fn: `(context, mask) -> observation`; called once
        on the specs (the mask spec is an int32 `TensorSpec([num_actions])`)
        and then on each batch of contexts and masks.
      action_probability: chance in [0, 1] that an action is allowed.

    Raises:
      TypeError: `original_environment` is not a `BanditTFEnvironment`.
      ValueError: `action_probability` outside [0, 1].
    """

    def __init__(
        self,
        original_environment: bandit_tf_environment.BanditTFEnvironment,
        action_constraint_join_fn: Callable[
            [types.NestedTensorSpec, types.TensorSpec], types.NestedTensorSpec
        ],
        action_probability: float,
    ):
        if not isinstance(
            original_environment, bandit_tf_environment.BanditTFEnvironment
        ):
            raise TypeError(
                "original_environment must be a BanditTFEnvironment; got "
                f"{type(original_environment).__name__}."
            )
        if not 0.0 <= action_probability <= 1.0:
            raise ValueError(
                f"action_probability must be in [0, 1]; got {action_probability!r}."
            )
        self._original_environment = original_environment
        self._action_constraint_join_fn = action_constraint_join_fn
        self._action_probability = action_probability
        action_spec = original_environment.action_spec()
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        mask_spec = tf.TensorSpec([self._num_actions], dtype=tf.int32)
        observation_spec = action_constraint_join_fn(
            original_environment.time_step_spec().observation, mask_spec
        )
        batch_size = original_environment.batch_size
        self._current_mask = tf.Variable(
            tf.ones([batch_size, self._num_actions], dtype=tf.int32),
            trainable=False,
            name="action_mask",
        )
        super().__init__(
            time_step_spec=ts.time_step_spec(observation_spec),
            action_spec=action_spec,
            batch_size=batch_size,
        )

    @property
    def original_environment(self) -> bandit_tf_environment.BanditTFEnvironment:
        return self._original_environment

    def _check_action_with_mask(self, action: types.Tensor) -> None:
        allowed = tf.gather(
            self._current_mask, tf.cast(action, tf.int32), axis=1, batch_dims=1
        )
        tf.debugging.assert_equal(
            allowed,
            tf.ones_like(allowed),
            message="Action not in allowed action set.",
        )

    def _apply_action(self, action: types.NestedTensor) -> types.NestedTensor:
        self._check_action_with_mask(action)
        return self._original_environment._apply_action(action)

    def _observe(self) -> types.NestedTensor:
        context = self._original_environment._observe()
        draws = tf.random.uniform([self.batch_size, self._num_actions])
        mask = _maybe_add_one_action(
            tf.cast(draws < self._action_probability, tf.int32)
        )
        self._current_mask.assign(mask)
        return self._action_constraint_join_fn(context, mask)
