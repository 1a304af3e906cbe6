"""Export a deterministic TF policy to a LiteRT (TFLite) flatbuffer.

    from policylib.export import litert
    litert.export(greedy_policy, "run/litert")
    policy = LiteRTPolicy("run/litert")   # policylib.export.litert_policy

The export directory holds `policy.tflite` and `specs.json` (the time-step,
action and policy-state specs as NumPy specs, and the order of the model's
inputs and outputs). Running it needs only the LiteRT interpreter
(`pip install 'policylib[litert]'`), not TensorFlow.

The flatbuffer takes the flattened time step and policy state, each with a
leading batch dim of any size, and returns the flattened action and next
state; a recurrent policy resets its state inside the model on FIRST steps,
as the TF policy does. Only TFLite's built-in ops are used, so the plain
interpreter runs it; a policy whose graph needs more is refused with the ops
named. Sampling is refused too: a flatbuffer has no seeded random ops that
match TensorFlow's, so export `GreedyPolicy(policy)` instead.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

import tensorflow as tf

from policylib.base import arg_checks, atomic_dir, native_stderr, nest_utils
from policylib.export import spec_json
from policylib.export.litert_files import FORMAT, MODEL_FILE, SPECS_FILE
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

if TYPE_CHECKING:
    from policylib.policies import tf_policy
    from policylib.trajectories import policy_step
    from policylib.typing import types

__all__ = ["export"]

# Op types that draw random numbers (stateful or stateless).
_RANDOM_OP = re.compile(r"Random|Multinomial|TruncatedNormal")


def export(
    policy: tf_policy.TFPolicy | str | os.PathLike[str],
    export_dir: str | os.PathLike[str],
) -> str:
    """Converts `policy` to `export_dir/policy.tflite` with its specs beside it.

    Args:
      policy: a deterministic `TFPolicy` (greedy Q, a deterministic actor,
        fixed or scripted actions, categorical-Q greedy, or an RNN policy
        whose state is a nest of tensors), or the path of a policy saved by
        `PolicySaver` (policylib's or TF-Agents').
      export_dir: directory to write; an existing export there is replaced
        all at once, and kept intact if the export fails.

    Returns:
      The export directory's path.

    Raises:
      TypeError: `policy` is neither a TFPolicy nor a path, or `export_dir`
        is not a path.
      NotAPolicyError: `policy` is a path that holds no saved policy.
      ValueError: the policy samples its action (the message names the
        distribution or op and suggests `GreedyPolicy`), or its graph needs
        ops the LiteRT interpreter does not have (the message names them).
    """
    from policylib.policies import tf_policy

    if isinstance(policy, (str, os.PathLike)):
        return _export_saved_model(os.fspath(policy), export_dir)
    arg_checks.check_kind(
        policy,
        tf_policy.TFPolicy,
        "export: policy",
        hint="Export a TFPolicy, e.g. GreedyPolicy(agent.policy), or a saved policy's path.",
    )
    export_dir = arg_checks.check_path(export_dir, "export: export_dir")
    _check_deterministic(policy)
    return _write(
        policy.action,
        policy.time_step_spec,
        policy.action_spec,
        policy.policy_state_spec,
        type(policy).__name__,
        policy,
        export_dir,
    )


def _export_saved_model(path: str, export_dir: str | os.PathLike[str]) -> str:
    """`export` of a SavedModel written by `PolicySaver`."""
    from policylib.policies import saved_policy_files

    export_dir = arg_checks.check_path(export_dir, "export: export_dir")
    path = saved_policy_files.check_policy_dir(path)
    loaded = saved_policy_files.load_saved_model(path)
    specs = tensor_spec.from_spec(saved_policy_files.read_specs(path))
    return _write(
        loaded.action,
        specs["time_step_spec"],
        specs["action_spec"],
        specs["policy_state_spec"],
        f"SavedModel {os.path.basename(os.path.normpath(path))}",
        loaded,
        export_dir,
    )


def _write(
    action_fn: Callable[[ts.TimeStep, types.NestedTensor], policy_step.PolicyStep],
    time_step_spec: ts.TimeStep,
    action_spec: types.NestedTensorSpec,
    policy_state_spec: types.NestedTensorSpec,
    name: str,
    trackable: tf.Module,
    export_dir: str,
) -> str:
    """Traces `action_fn` over flat batched inputs, converts it and writes the export."""
    step_specs = tf.nest.flatten(time_step_spec)
    state_specs = tf.nest.flatten(policy_state_spec)
    action_specs = tf.nest.flatten(action_spec)
    inputs = [f"time_step_{i}" for i in range(len(step_specs))] + [
        f"policy_state_{i}" for i in range(len(state_specs))
    ]
    outputs = [f"action_{i}" for i in range(len(action_specs))] + [
        f"next_state_{i}" for i in range(len(state_specs))
    ]
    signature = [
        tf.TensorSpec([None, *spec.shape], spec.dtype, name=input_name)
        for spec, input_name in zip(step_specs + state_specs, inputs)
    ]

    @tf.function(input_signature=signature, autograph=False)
    def action(*flat: tf.Tensor) -> dict[str, tf.Tensor]:
        time_step = tf.nest.pack_sequence_as(
            time_step_spec, list(flat[: len(step_specs)])
        )
        state = tf.nest.pack_sequence_as(
            policy_state_spec, list(flat[len(step_specs) :])
        )
        step = action_fn(time_step, state)
        values = tf.nest.flatten(step.action) + tf.nest.flatten(step.state)
        # Identity keeps an output that is also an input (a fixed state) distinct.
        return {out: tf.identity(v) for out, v in zip(outputs, values)}

    concrete = action.get_concrete_function()
    _check_no_random_ops(concrete, name)
    model = _convert(concrete, trackable, name)
    specs = {
        "format": FORMAT,
        "policy": name,
        "inputs": inputs,
        "outputs": outputs,
        "time_step_spec": spec_json.encode(tensor_spec.to_array_spec(time_step_spec)),
        "action_spec": spec_json.encode(tensor_spec.to_array_spec(action_spec)),
        "policy_state_spec": spec_json.encode(
            tensor_spec.to_array_spec(policy_state_spec)
        ),
    }
    with atomic_dir.atomic_directory(export_dir) as staging:
        with open(os.path.join(staging, MODEL_FILE), "wb") as model_file:
            model_file.write(model)
        with open(os.path.join(staging, SPECS_FILE), "w") as specs_file:
            json.dump(specs, specs_file, indent=1)
    return os.path.abspath(export_dir)


def _check_deterministic(policy: tf_policy.TFPolicy) -> None:
    """Refuses a policy whose action distribution is not a point mass."""
    sample = tensor_spec.sample_spec_nest(policy.time_step_spec, outer_dims=(1,))
    sample = sample._replace(step_type=tf.fill([1], ts.StepType.FIRST))
    try:
        step = policy.distribution(sample, policy.get_initial_state(1))
    except NotImplementedError:
        return  # No distribution to inspect; the graph scan below decides.
    for path, leaf in nest_utils.flatten_with_joined_paths(step.action):
        name = type(leaf).__name__
        if hasattr(leaf, "sample") and "Deterministic" not in name:
            raise ValueError(
                f"export: {type(policy).__name__} samples its action"
                f"{' ' + path if path else ''} from a {name} distribution; a TFLite "
                "model cannot reproduce TensorFlow's sampling. Export "
                "GreedyPolicy(policy) (its mode) or a deterministic actor instead."
            )


def _check_no_random_ops(
    concrete: tf.types.experimental.ConcreteFunction, name: str
) -> None:
    graph_def = concrete.graph.as_graph_def()
    nodes = list(graph_def.node) + [
        node for function in graph_def.library.function for node in function.node_def
    ]
    random = sorted({n.op for n in nodes if _RANDOM_OP.search(n.op)})
    if random:
        raise ValueError(
            f"export: the action of {name} draws random numbers (ops: {', '.join(random)}); "
            "a TFLite model cannot reproduce TensorFlow's sampling. Export "
            "GreedyPolicy(policy) or a deterministic policy instead."
        )


# The converter's absl info and warning lines (errors pass).
_CONVERTER_CHATTER = re.compile(native_stderr.absl_prefix("IW"))


def _not_converter_chatter(line: str) -> bool:
    return _CONVERTER_CHATTER.match(line) is None


def _convert(
    concrete: tf.types.experimental.ConcreteFunction, trackable: tf.Module, name: str
) -> bytes:
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], trackable)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        # The converter logs each pass (info and routine warnings) from C++;
        # errors pass, and a failed conversion shows everything it logged.
        with native_stderr.filtered(keep=_not_converter_chatter):
            return converter.convert()
    except Exception as e:  # ConverterError; its class moves between TF versions.
        text = str(e)
        ops = sorted(set(re.findall(r"'(tf\.[A-Za-z0-9_]+)'", text))) or sorted(
            set(re.findall(r"\b(tf\.[A-Z][A-Za-z0-9_]+)\b", text))
        )
        named = f" (ops: {', '.join(ops)})" if ops else ""
        raise ValueError(
            f"export: {name} cannot be converted to TFLite built-in "
            f"ops{named}. Build the policy from ops TFLite supports, or export "
            "GreedyPolicy(policy) if the ops come from sampling.\n"
            f"Converter said: {text[:2000]}"
        ) from e
