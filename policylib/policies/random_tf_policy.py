"""`RandomTFPolicy`: uniformly random actions in TensorFlow.

Samples each action leaf uniformly within its spec (inclusive integer bounds),
or, given an action mask, uniformly among the allowed actions. The mask comes
from the observation splitter, a stationary mask fixed at construction, the
number-of-actions feature of per-arm observations, or their product.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.distributions import masked
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RandomTFPolicy"]


class RandomTFPolicy(tf_policy.TFPolicy):
    """Returns uniformly random actions (and random info) for any time step.

    Args:
      time_step_spec: a `TimeStep` of tensor specs.
      action_spec: nest of bounded tensor specs.
      *args, **kwargs: `TFPolicy` arguments (`policy_state_spec`, `info_spec`,
        `emit_log_probability`, `observation_and_action_constraint_splitter`,
        ...), plus:
        accepts_per_arm_features: observations are per-arm dicts; their
          number-of-actions feature (if present) limits the actions.
        stationary_mask: a fixed 0/1 mask over the actions, combined with any
          dynamic mask.
    Masks need a single bounded integer action spec of shape `()` or `(1,)`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        *args: Any,
        **kwargs: Any,
    ):
        self._accepts_per_arm_features = kwargs.pop("accepts_per_arm_features", False)
        stationary_mask = kwargs.pop("stationary_mask", None)
        splitter = kwargs.get("observation_and_action_constraint_splitter")
        if splitter is not None or stationary_mask is not None:
            _check_maskable(action_spec)
        if stationary_mask is not None:
            (spec,) = tf.nest.flatten(action_spec)  # one leaf: `_check_maskable`
            if not spec.dtype.is_integer:
                raise ValueError(
                    f"A stationary mask needs an integer action spec, got {action_spec!r}."
                )
            num_actions = int(spec.maximum) - int(spec.minimum) + 1
            stationary_mask = tf.constant(stationary_mask)
            if stationary_mask.shape != (num_actions,):
                raise ValueError(
                    f"stationary_mask must have shape ({num_actions},) to match {action_spec!r}, "
                    f"got {stationary_mask.shape}."
                )
        self._stationary_mask = stationary_mask
        super().__init__(time_step_spec, action_spec, *args, **kwargs)

    def _mask(self, time_step: ts.TimeStep, outer_shape: tf.Tensor) -> tf.Tensor | None:
        """The combined 0/1 action mask for this step, or None when unmasked."""
        observation, mask = self._split_observation(time_step.observation)
        if mask is not None:
            mask = tf.cast(mask, tf.int32)
        if self._stationary_mask is not None:
            stationary = tf.cast(self._stationary_mask, tf.int32)
            mask = stationary if mask is None else mask * stationary
            if mask.shape.rank == 1:
                mask = tf.broadcast_to(
                    mask, tf.concat([outer_shape, tf.shape(mask)], 0)
                )
        if self._accepts_per_arm_features and isinstance(observation, dict):
            num_actions = observation.get(bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY)
            if num_actions is not None:
                max_actions = int(self._action_spec.maximum) + 1
                arms_mask = tf.sequence_mask(
                    tf.reshape(num_actions, [-1]), max_actions, dtype=tf.int32
                )
                mask = arms_mask if mask is None else mask * arms_mask
        return mask

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ):
        outer_shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
        mask = self._mask(time_step, outer_shape)
        if mask is not None:
            spec = self._action_spec
            dist = masked.MaskedCategorical(tf.zeros_like(mask, tf.float32), mask)
            index = dist.sample(seed=seed)
            log_probability = dist.log_prob(index)
            action = tf.cast(index + tf.cast(spec.minimum, index.dtype), spec.dtype)
            if spec.shape.rank == 1:
                action = tf.expand_dims(action, -1)
        else:
            action = tensor_spec.sample_spec_nest(
                self._action_spec, seed=seed, outer_dims=outer_shape
            )
            log_probability = tf.nest.map_structure(
                lambda s: tf.fill(outer_shape, _uniform_log_probability(s)),
                self._action_spec,
            )
        with tf.control_dependencies(tf.nest.flatten(time_step)):
            action = tf.nest.map_structure(tf.identity, action)

        info = tensor_spec.sample_spec_nest(self._info_spec, outer_dims=outer_shape)
        if self._accepts_per_arm_features and policy_utilities.has_chosen_arm_features(
            info
        ):
            arm_features = time_step.observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
            chosen = tf.nest.map_structure(
                lambda t: tf.gather(t, action, batch_dims=1), arm_features
            )
            info = info._replace(chosen_arm_features=chosen)
        if policy_utilities.has_bandit_policy_type(info, check_for_tensor=True):
            info = policy_utilities.set_bandit_policy_type(
                info,
                tf.fill(
                    tf.shape(info.bandit_policy_type),
                    policy_utilities.BanditPolicyType.UNIFORM,
                ),
            )
        if self._emit_log_probability:
            info = policy_step.set_log_probability(info, log_probability)
        return policy_step.PolicyStep(action, policy_state, info)

    def _distribution(self, time_step: ts.TimeStep, policy_state: types.NestedTensor):
        raise NotImplementedError(
            "RandomTFPolicy has no distribution(); use action() to sample."
        )


def _check_maskable(action_spec: types.NestedTensorSpec) -> None:
    if not isinstance(action_spec, tensor_spec.BoundedTensorSpec):
        raise NotImplementedError(
            f"Action masks need a single BoundedTensorSpec action spec, got {action_spec!r}."
        )
    if action_spec.shape.rank not in (0, 1) or (
        action_spec.shape.rank == 1 and action_spec.shape[0] != 1
    ):
        raise NotImplementedError(
            f"Action masks need an action spec of shape () or (1,), got {action_spec.shape}."
        )


def _uniform_log_probability(spec: Any) -> tf.Tensor:
    """log of the uniform density of one sample of `spec` (summed over its elements).

    Unbounded specs are sampled over their dtype's range (floats clamped as in
    `tensor_spec.sample_bounded_spec`), so their density uses that range.
    """
    if not tensor_spec.is_bounded(spec):
        spec = tensor_spec.BoundedTensorSpec.from_spec(spec)
    low = np.broadcast_to(np.asarray(spec.minimum, np.float64), spec.shape)
    high = np.broadcast_to(np.asarray(spec.maximum, np.float64), spec.shape)
    widths = high - low + 1.0 if spec.dtype.is_integer else high - low
    return tf.constant(-np.sum(np.log(widths)), tf.float32)
