"""The `tf.function`s a policy SavedModel is made of, and its flat signatures.

`PolicySaver` traces a policy's `action`, `distribution` and
`get_initial_state` for the saved specs (a stateless policy's `action` twice,
so a loaded model takes `action(time_step)` and `action(time_step, ())`), and
wraps them in flat serving signatures whose inputs and outputs are named by
nest path (`0/step_type`, `0/observation/pos`). Loaders read facts back from
a loaded one (its fixed batch size, where to run it).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Sequence
from typing import TypeAlias

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.policies import tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "add_batch_dim",
    "default_device",
    "saved_batch_size",
    "flat_signature",
    "observation_signature",
    "traced_action_and_distribution",
    "traced_from_input_fn",
    "traced_initial_state",
]

InputFnType = Callable[
    [types.NestedTensor], tuple[types.NestedTensor, types.NestedTensor]
]
# A traced `tf.function`, as saved in the SavedModel.
SavedFunction: TypeAlias = tf.types.experimental.PolymorphicFunction


def add_batch_dim(
    spec: tf.TensorSpec, outer_dims: Sequence[int | None]
) -> tf.TensorSpec:
    """A `TensorSpec` like `spec` with `outer_dims` in front of its shape."""
    shape = tf.TensorShape(list(outer_dims)).concatenate(spec.shape)
    return tf.TensorSpec(shape=shape, dtype=spec.dtype, name=spec.name)


def _check_composite_distribution(d: object) -> object:
    """Returns `d`; raises TypeError for a distribution that cannot be saved."""
    if isinstance(d, tfp.distributions.Distribution) and not hasattr(d, "_type_spec"):
        raise TypeError(f"{d} is not a composite tensor, so it cannot be saved.")
    return d


def _check_compatible(spec: tf.TensorSpec, value: tf.Tensor) -> None:
    """Raises ValueError unless `value` (with outer dims) fits `spec`."""
    shape = value.shape[value.shape.rank - spec.shape.rank :]
    if value.dtype != spec.dtype or not spec.shape.is_compatible_with(shape):
        raise ValueError(
            f"input_fn returned {value.dtype.name}{value.shape.as_list()}, which does "
            f"not match the policy's spec {spec}."
        )


def flat_signature(
    fn: Callable,
    input_specs: types.NestedTensorSpec,
    output_spec: types.NestedTensorSpec,
    batch_dims: Sequence[int | None] = (),
) -> SavedFunction:
    """A `tf.function` over the flattened `input_specs` returning a dict of outputs.

    Output keys are the names of the flattened `output_spec`; inputs get
    `batch_dims` prepended.
    """
    flat_inputs = [add_batch_dim(s, batch_dims) for s in tf.nest.flatten(input_specs)]
    names = [s.name for s in tf.nest.flatten(output_spec)]

    @common.function(input_signature=flat_inputs)
    def with_signature(*flat: tf.Tensor) -> dict[str, tf.Tensor]:
        outputs = fn(*tf.nest.pack_sequence_as(input_specs, list(flat)))
        nest_utils.assert_same_structure(outputs, output_spec)
        return dict(zip(names, tf.nest.flatten(outputs)))

    return with_signature


def _action_fn(policy: tf_policy.TFPolicy, seed: types.Seed) -> Callable:
    if seed is None:
        return policy.action
    return functools.partial(policy.action, seed=seed)


def traced_action_and_distribution(
    policy: tf_policy.TFPolicy,
    seed: types.Seed,
    time_step_and_state_spec: tuple[ts.TimeStep, types.NestedTensorSpec],
    batch_dims: list,
) -> tuple[SavedFunction, SavedFunction]:
    """`action` and `distribution` as `tf.function`s traced for the batched specs."""
    batched_ts, batched_state = tf.nest.map_structure(
        lambda s: add_batch_dim(s, batch_dims), time_step_and_state_spec
    )
    return (
        _polymorphic(_action_fn(policy, seed), batched_ts, batched_state),
        _polymorphic(_saveable_distribution(policy), batched_ts, batched_state),
    )


def traced_from_input_fn(
    policy: tf_policy.TFPolicy,
    seed: types.Seed,
    input_fn_and_spec: tuple[InputFnType, types.NestedTensorSpec],
    time_step_and_state_spec: tuple[ts.TimeStep, types.NestedTensorSpec],
    batch_dims: list,
) -> tuple[SavedFunction, SavedFunction]:
    """`action` and `distribution` of one input that `input_fn` turns into their arguments."""
    input_fn, input_spec = input_fn_and_spec
    batched_input = tf.nest.map_structure(
        lambda s: add_batch_dim(s, batch_dims), input_spec
    )
    functions = []
    for fn in (_action_fn(policy, seed), _saveable_distribution(policy)):
        function = _with_input_fn(fn, input_fn, time_step_and_state_spec)
        function.get_concrete_function(example=batched_input)
        functions.append(function)
    return functions[0], functions[1]


def traced_initial_state(
    policy: tf_policy.TFPolicy, batch_size: int | None
) -> tuple[SavedFunction, tuple]:
    """`get_initial_state` traced (taking `batch_size` unless fixed), and its inputs."""
    if batch_size is None:
        function = common.function(policy.get_initial_state)
        inputs: tuple = (tf.TensorSpec(shape=(), dtype=tf.int32, name="batch_size"),)
    else:
        function = common.function(
            functools.partial(policy.get_initial_state, batch_size=batch_size)
        )
        inputs = ()
    function.get_concrete_function(*inputs)
    return function, inputs


def _saveable_distribution(policy: tf_policy.TFPolicy) -> Callable:
    """`policy.distribution` for saving, or an asserting stub if it cannot be saved."""

    def distribution_fn(
        time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep | tuple:
        try:
            step = policy.distribution(time_step=time_step, policy_state=policy_state)
            return tf.nest.map_structure(_check_composite_distribution, step)
        except (TypeError, NotImplementedError) as e:
            logging.warning(
                'Could not save policy.distribution() of policy "%s"; calling the '
                "saved distribution() will fail with: %s",
                policy,
                e,
            )
            tf.debugging.Assert(False, [str(e)])
            return ()

    return distribution_fn


def _polymorphic(
    fn: Callable,
    batched_ts: ts.TimeStep,
    batched_state: types.NestedTensorSpec,
) -> SavedFunction:
    """`fn(time_step, policy_state)` as a `tf.function` traced for the saved specs.

    A stateless policy's function is traced twice, so the loaded model accepts
    both `action(time_step)` and `action(time_step, ())`.
    """
    if tf.nest.flatten(batched_state):
        function = common.function(fn)
        function.get_concrete_function(time_step=batched_ts, policy_state=batched_state)
        return function

    def stateless(
        time_step: ts.TimeStep, policy_state: types.NestedTensor = batched_state
    ) -> policy_step.PolicyStep:
        return fn(time_step, policy_state)

    function = common.function(stateless)
    function.get_concrete_function(time_step=batched_ts, policy_state=batched_state)
    function.get_concrete_function(time_step=batched_ts)
    return function


def _with_input_fn(
    fn: Callable, input_fn: Callable, expected_spec: types.NestedTensorSpec
) -> SavedFunction:
    """`fn(*input_fn(example))` as a `tf.function`, checking `input_fn`'s output."""

    def from_example(example: types.NestedTensor) -> policy_step.PolicyStep:
        inputs = input_fn(example)
        tf.nest.map_structure(_check_compatible, expected_spec, inputs)
        return fn(*inputs)

    return common.function(from_example)


def observation_signature(
    action_fn: Callable,
    time_step_spec: ts.TimeStep,
    observation_spec: types.NestedTensorSpec,
    policy_step_spec: policy_step.PolicyStep,
    batch_dims: list,
) -> SavedFunction:
    """A signature taking observations only: each is a first step (reward 0, discount 1).

    For stateless policies, whose action does not depend on the step type, so a
    serving client need not send step type, reward and discount.
    """

    def filled(spec: tf.TensorSpec, outer: tf.Tensor, value: types.Float) -> tf.Tensor:
        shape = tf.concat([outer, tf.constant(spec.shape.as_list(), tf.int32)], 0)
        return tf.fill(shape, tf.constant(value, spec.dtype))

    def from_observation(observation: types.NestedTensor) -> policy_step.PolicyStep:
        outer = tf.shape(tf.nest.flatten(observation)[0], out_type=tf.int32)[:1]
        time_step = ts.TimeStep(
            step_type=filled(time_step_spec.step_type, outer, ts.StepType.FIRST),
            reward=filled(time_step_spec.reward, outer, 0),
            discount=filled(time_step_spec.discount, outer, 1),
            observation=observation,
        )
        return action_fn(time_step)

    return flat_signature(
        from_observation, (observation_spec,), policy_step_spec, batch_dims
    )


_SMALL_POLICY_BYTES = 64 * 2**20


def default_device(model_path: str) -> str | None:
    """`"/CPU:0"` for a small saved policy on a machine with a GPU; else None."""
    if not tf.config.list_logical_devices("GPU"):
        return None
    variables = os.path.join(model_path, tf.saved_model.VARIABLES_DIRECTORY)
    try:
        size = sum(
            tf.io.gfile.stat(os.path.join(variables, name)).length
            for name in tf.io.gfile.listdir(variables)
        )
    except tf.errors.OpError:
        return None
    return "/CPU:0" if size < _SMALL_POLICY_BYTES else None


def saved_batch_size(loaded: object) -> int | None:
    """The fixed batch size a policy was saved with, or None."""
    signature = getattr(loaded, "signatures", {}).get("action")
    if signature is None:
        return None
    _, kwargs = signature.structured_input_signature
    for spec in kwargs.values():
        if spec.shape.rank:
            return spec.shape[0]
    return None
