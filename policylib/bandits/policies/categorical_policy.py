"""`CategoricalPolicy`: a non-contextual policy sampling `softmax(inv_temp * w)`.

    weights = tf.Variable(tf.zeros(num_actions))
    policy = categorical_policy.CategoricalPolicy(
        weights, time_step_spec, action_spec, inverse_temperature=0.5
    )

The observation is ignored: every batch entry draws its action from the same
categorical distribution, whose logits are `inverse_temperature * weights`.
`weights` and `inverse_temperature` may be `tf.Variable`s, which an agent
(e.g. EXP3) updates in place; the policy reads them at every call.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.distributions import shifted_categorical
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["CategoricalPolicy"]


def _static_shape(value: Any) -> tf.TensorShape:
    """The static shape of a tensor, variable, array or (nested) list."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tf.TensorShape(shape)


class CategoricalPolicy(tf_policy.TFPolicy):
    """Samples every action from `Categorical(logits=inverse_temperature * weights)`.

    Args:
      weights: a vector of unnormalized log-probabilities, one per action
        (tensor, array or `tf.Variable`, read at every call).
      time_step_spec: the `TimeStep` spec; the observation is not used.
      action_spec: one scalar, integer `BoundedTensorSpec` with as many values
        as `weights` has entries.
      inverse_temperature: a float, tensor or `tf.Variable` scaling the
        weights: small values flatten the distribution, large ones sharpen it.
      emit_log_probability: put the log-probability of the sampled actions in
        the info (EXP3 needs it).
      name: module name.

    Raises:
      ValueError: `weights` is not a vector, the action spec is not a single
        scalar integer bounded spec, or the number of actions does not match
        the number of weights.
    """

    def __init__(
        self,
        weights: types.Tensor,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        inverse_temperature: types.Float = 1.0,
        emit_log_probability: bool = True,
        name: str | None = None,
    ):
        weights_shape = _static_shape(weights)
        if weights_shape.rank != 1:
            raise ValueError(
                f"weights must be a 1-D vector (one weight per action); got shape "
                f"{weights_shape}: {weights!r}."
            )
        flat_action_spec = tf.nest.flatten(action_spec)
        if len(flat_action_spec) != 1:
            raise ValueError(
                "CategoricalPolicy takes a single action spec; got "
                f"{len(flat_action_spec)}: {action_spec}."
            )
        spec = flat_action_spec[0]
        if (
            not tensor_spec.is_bounded(spec)
            or not tensor_spec.is_discrete(spec)
            or spec.shape.rank != 0
        ):
            raise ValueError(
                f"action_spec must be a scalar integer BoundedTensorSpec; got {spec}."
            )
        num_actions = int(spec.maximum) - int(spec.minimum) + 1
        num_weights = tf.compat.dimension_value(weights_shape[0])
        if num_weights is not None and num_actions != num_weights:
            raise ValueError(
                f"Number of actions ({num_actions}) does not match weights dimension "
                f"({num_weights}): action_spec {spec}."
            )
        self._weights = weights
        self._inverse_temperature = inverse_temperature
        self._minimum = int(spec.minimum)
        self._action_dtype = spec.dtype
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            emit_log_probability=emit_log_probability,
            name=name,
        )

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        outer_shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
        weights = tf.convert_to_tensor(self._weights)
        if not weights.dtype.is_floating:
            weights = tf.cast(weights, tf.float32)
        inverse_temperature = tf.cast(self._inverse_temperature, weights.dtype)
        logits = inverse_temperature * common.replicate(weights, outer_shape)
        if self._minimum == 0:
            distribution = tfp.distributions.Categorical(
                logits=logits, dtype=self._action_dtype
            )
        else:
            distribution = shifted_categorical.ShiftedCategorical(
                logits=logits, dtype=self._action_dtype, shift=self._minimum
            )
        action = tf.nest.pack_sequence_as(self._action_spec, [distribution])
        return policy_step.PolicyStep(action, policy_state, ())
