"""`TFPyPolicy`: a Python (NumPy) policy used as an in-graph `TFPolicy`.

Each `action` call runs the Python policy through `tf.numpy_function`, so it
works eagerly and inside `tf.function` (not in a SavedModel: the Python code
is not part of the graph).

    tf_policy = tf_py_policy.TFPyPolicy(scripted_py_policy.ScriptedPyPolicy(...))
    step = tf_policy.action(batched_time_step)   # tensors in, tensors out
"""

from __future__ import annotations

import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import py_policy, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["TFPyPolicy", "map_tensor_spec_to_dtypes_list"]


def map_tensor_spec_to_dtypes_list(t_spec: types.NestedTensorSpec) -> list[tf.DType]:
    """The dtypes of a spec nest's leaves, in flattening order."""
    return [spec.dtype for spec in tf.nest.flatten(t_spec)]


class TFPyPolicy(tf_policy.TFPolicy):
    """Runs a `PyPolicy` inside TensorFlow.

    Args:
      policy: the `PyPolicy` to run.
      py_policy_is_batched: False (default): the Python policy takes one time
        step, so the batch dim (which must be 1) is removed before it and added
        back to its action. True: time steps and actions pass through as is.
      name: module name.

    Raises:
      TypeError: `policy` is not a `PyPolicy`.
    """

    def __init__(
        self,
        policy: py_policy.PyPolicy,
        py_policy_is_batched: bool = False,
        name: str | None = None,
    ):
        if not isinstance(policy, py_policy.PyPolicy):
            raise TypeError(
                f"Input policy should implement py_policy.PyPolicy, but saw {type(policy).__name__}."
            )
        self._py_policy = policy
        self._py_policy_is_batched = py_policy_is_batched
        specs = tf.nest.map_structure(
            tensor_spec.from_spec,
            (
                policy.time_step_spec,
                policy.action_spec,
                policy.policy_state_spec,
                policy.info_spec,
            ),
        )
        super().__init__(
            time_step_spec=specs[0],
            action_spec=specs[1],
            policy_state_spec=specs[2],
            info_spec=specs[3],
            clip=False,
            automatic_state_reset=False,
            name=name,
        )
        self._policy_state_dtypes = map_tensor_spec_to_dtypes_list(
            self.policy_state_spec
        )
        self._policy_step_dtypes = map_tensor_spec_to_dtypes_list(self.policy_step_spec)

    @common.function
    def _get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        def initial_state(*batch: tf.Tensor) -> list:
            size = None if not batch else int(batch[0])
            return tf.nest.flatten(self._py_policy.get_initial_state(batch_size=size))

        if not self._policy_state_dtypes:
            return self.policy_state_spec  # empty: nothing to ask the Python policy
        inputs = [] if batch_size is None else [batch_size]
        flat = tf.numpy_function(
            initial_state, inputs, self._policy_state_dtypes, name="get_initial_state"
        )
        return tf.nest.pack_sequence_as(self.policy_state_spec, flat)

    @common.function
    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        if seed is not None:
            raise NotImplementedError(
                f"TFPyPolicy does not take a seed; saw seed: {seed}"
            )
        py = self._py_policy

        def action(*flat: tf.Tensor) -> list:
            py_time_step, py_state = tf.nest.pack_sequence_as(
                (py.time_step_spec, py.policy_state_spec), list(flat)
            )
            return tf.nest.flatten(
                py.action(time_step=py_time_step, policy_state=py_state)
            )

        if not self._py_policy_is_batched:
            time_step = nest_utils.unbatch_nested_tensors(time_step)
        flat_step = tf.numpy_function(
            action,
            tf.nest.flatten((time_step, policy_state)),
            self._policy_step_dtypes,
            name="action",
        )
        step = tf.nest.pack_sequence_as(self.policy_step_spec, flat_step)
        if not self._py_policy_is_batched:
            step = step._replace(action=nest_utils.batch_nested_tensors(step.action))
        return step

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError(
            f"{type(self).__name__} does not support distribution."
        )
