"""A saved policy's record as text: specs, signatures, train step, metadata, unsafe ops.

What `policylib inspect` prints. A SavedModel written by `PolicySaver` is
read without running any of its functions; a LiteRT export without
TensorFlow or the interpreter.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policylib.export import policy_source

if TYPE_CHECKING:
    from policylib.specs import array_spec
    from policylib.typing import types

__all__ = ["describe"]


def _format_specs(spec: types.NestedArraySpec, indent: str = "  ") -> list[str]:
    from policylib.base import nest_utils

    leaves = nest_utils.flatten_with_joined_paths(spec)
    if not leaves:
        return [f"{indent}(none)"]
    return [f"{indent}{path or '<root>'}: {_spec_text(leaf)}" for path, leaf in leaves]


def _spec_text(spec: array_spec.ArraySpec) -> str:
    import numpy as np

    from policylib.specs import array_spec

    text = f"shape={tuple(spec.shape)} dtype={np.dtype(spec.dtype).name}"
    if isinstance(spec, array_spec.BoundedArraySpec):
        lo, hi = np.asarray(spec.minimum), np.asarray(spec.maximum)
        bounds = (
            (lo.item(), hi.item())
            if lo.size == 1 and hi.size == 1
            else (lo.tolist(), hi.tolist())
        )
        text += f" bounds=[{bounds[0]}, {bounds[1]}]"
    return text


def _tensor_text(spec: object) -> str:
    import tensorflow as tf

    if isinstance(spec, tf.TensorSpec):
        dims = (
            ""
            if spec.shape.rank is None
            else ", ".join(
                str(d) if d is not None else "?" for d in spec.shape.as_list()
            )
        )
        return f"{spec.dtype.name}[{dims}]"
    return type(spec).__name__


def _signature_lines(loaded: Any) -> list[str]:  # a loaded SavedModel
    import tensorflow as tf

    lines = []
    for name in sorted(loaded.signatures):
        function = loaded.signatures[name]
        _, kwargs = function.structured_input_signature
        # The signature's keys (`0/step_type`) are the specs' names; TensorFlow
        # renames only the Python parameters behind them.
        named = sorted((getattr(v, "name", None) or k, v) for k, v in kwargs.items())
        inputs = ", ".join(f"{k}: {_tensor_text(v)}" for k, v in named)
        outputs = tf.nest.map_structure(_tensor_text, function.structured_outputs)
        if isinstance(outputs, dict):
            out = ", ".join(f"{k}: {v}" for k, v in sorted(outputs.items())) or "()"
        else:
            out = str(outputs)
        lines.append(f"  {name}({inputs}) -> {out}")
    return lines or ["  (none)"]


def describe(path: str) -> list[str]:
    """The lines describing the saved policy (SavedModel or LiteRT export) at `path`.

    Raises:
      NotAPolicyError: `path` holds neither a SavedModel policy nor a LiteRT export.
    """
    # Unsafe ops are listed, not refused: nothing of the model runs here.
    source = policy_source.PolicySource.of(path, allow_unsafe_ops=True)
    assert source.path is not None
    if source.kind is policy_source.PolicyKind.LITERT_EXPORT:
        return _litert_lines(source.path)
    return _saved_model_lines(source.path)


def _spec_lines(specs: Mapping[str, types.NestedArraySpec]) -> list[str]:
    lines = []
    for title, key in (
        ("Time step spec", "time_step_spec"),
        ("Action spec", "action_spec"),
        ("Policy state spec", "policy_state_spec"),
        ("Info spec", "info_spec"),
    ):
        if key in specs:
            lines.append(f"{title}:")
            lines.extend(_format_specs(specs[key]))
    return lines


def _saved_model_lines(path: str) -> list[str]:
    from policylib.policies import saved_graph_ops, saved_policy_files

    specs = saved_policy_files.read_specs(path)
    loaded = saved_policy_files.load_saved_model(path)  # runs none of its functions
    unsafe = saved_graph_ops.unsafe_ops(path)
    train_step: int | str = "(not saved)"
    if hasattr(loaded, "get_train_step"):
        train_step = int(loaded.get_train_step().numpy())
    metadata: dict[str, object] = {}
    if hasattr(loaded, "get_metadata"):
        metadata = {k: v.numpy().tolist() for k, v in loaded.get_metadata().items()}
    lines = [f"Saved policy: {path}", f"Train step: {train_step}"]
    lines.append(
        "Metadata: " + (json.dumps(metadata, default=str) if metadata else "(none)")
    )
    lines.extend(_spec_lines(specs))
    lines.append("Signatures:")
    lines.extend(_signature_lines(loaded))
    lines.append(
        "Unsafe ops: "
        + ("; ".join(f"{op} in {', '.join(w)}" for op, w in unsafe.items()) or "(none)")
    )
    return lines


def _litert_lines(path: str) -> list[str]:
    """A LiteRT export's record, read without TensorFlow or the interpreter."""
    from policylib.export import litert_files

    specs = litert_files.load_specs(path)
    train_step = specs.get("train_step")
    metadata = specs.get("metadata") or {}
    lines = [
        f"LiteRT export: {path} ({litert_files.MODEL_FILE}, format {specs['format']})",
        f"Policy: {specs.get('policy') or '(unnamed)'}",
        f"Train step: {'(not saved)' if train_step is None else train_step}",
        "Metadata: " + (json.dumps(metadata, default=str) if metadata else "(none)"),
    ]
    lines.extend(_spec_lines(specs))
    lines.append("Signature:")
    lines.append(
        f"  action({', '.join(specs.get('inputs', []))}) -> "
        f"{', '.join(specs.get('outputs', []))}"
    )
    return lines
