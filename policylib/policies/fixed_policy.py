"""`FixedPolicy`: always the same action, tiled to the batch."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.policies import tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["FixedPolicy"]


class FixedPolicy(tf_policy.TFPolicy):
    """Returns `actions` for every time step.

    Args:
      actions: a nest of values matching `action_spec` (converted to its dtypes).
      time_step_spec: a `TimeStep` of tensor specs.
      action_spec: nest of tensor specs.
      emit_log_probability: add a log probability of 0 to the info (default
        True, as in TF-Agents: the action is certain).
      policy_info: fixed info returned with every action.
      info_spec: spec of `policy_info`.
      name: module name.
    """

    def __init__(
        self,
        actions: types.NestedTensor,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        emit_log_probability: bool = True,
        policy_info: types.NestedTensor = (),
        info_spec: types.NestedTensorSpec = (),
        name: str | None = None,
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            clip=False,
            info_spec=info_spec,
            name=name,
            emit_log_probability=emit_log_probability,
        )
        nest_utils.assert_same_structure(
            self._action_spec,
            actions,
            message="FixedPolicy: actions do not have the structure of action_spec",
        )

        def _convert(action: types.TensorOrArray, spec: tf.TensorSpec) -> tf.Tensor:
            return tf.convert_to_tensor(action, dtype=spec.dtype)

        self._action_value = tf.nest.map_structure(_convert, actions, self._action_spec)
        self._policy_info = policy_info
        if emit_log_probability:
            zeros = tf.nest.map_structure(
                lambda _: tf.constant(0.0, tf.float32), self._action_spec
            )
            self._policy_info = policy_step.set_log_probability(
                self._policy_info, zeros
            )

    def _outputs(
        self, time_step: ts.TimeStep
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """The actions tiled to the batch, and the info (with zero log-probs)."""
        outer_shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
        actions = tf.nest.map_structure(
            lambda t: common.replicate(t, outer_shape), self._action_value
        )
        info = self._policy_info
        if self._emit_log_probability:
            zeros = tf.nest.map_structure(
                lambda _: tf.zeros(outer_shape, tf.float32), self._action_spec
            )
            info = policy_step.set_log_probability(info, zeros)
        return actions, info

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ):
        del seed  # Nothing is random.
        actions, info = self._outputs(time_step)
        return policy_step.PolicyStep(actions, policy_state, info)

    def _distribution(self, time_step: ts.TimeStep, policy_state: types.NestedTensor):
        actions, info = self._outputs(time_step)
        dists = tf.nest.map_structure(
            lambda a: tfp.distributions.Deterministic(loc=a), actions
        )
        return policy_step.PolicyStep(dists, policy_state, info)
