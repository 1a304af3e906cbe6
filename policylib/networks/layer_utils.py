"""`print_summary`: a table of a network's (or Keras model's) layers and parameters.

What `Network.summary()` prints: one row per layer (name, type, output shape
where Keras knows it, parameter count), nested layers indented when asked,
then the total, trainable and non-trainable parameter counts and bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

__all__ = ["print_summary"]

_UNITS = ("Byte", "KB", "MB", "GB", "TB", "PB")


def _readable_size(size: float) -> str:
    for unit in _UNITS[:-1]:
        if size < 1024:
            return f"{size:.2f} {unit}"
        size /= 1024
    return f"{size:.2f} {_UNITS[-1]}"


def _unique_shaped(weights: Sequence[Any]) -> list:
    unique = {id(w): w for w in weights}.values()
    return [w for w in unique if getattr(w, "shape", None) is not None]


def _count_and_bytes(weights: Sequence[Any]) -> tuple[int, int]:
    count = size = 0
    for weight in _unique_shaped(weights):
        dims = [0 if d is None else d for d in list(weight.shape)]
        elements = int(np.prod(dims))
        count += elements
        size += elements * tf.as_dtype(weight.dtype).size  # Keras 3: a name
    return count, size


def _layer_range(layers: Sequence[Any], layer_range: Any) -> tuple[int, int]:
    """`[start, end)` indices of the layers from the one matching `layer_range[0]`
    to the one matching `layer_range[1]` (regular expressions on names)."""
    if layer_range is None:
        return 0, len(layers)
    if len(layer_range) != 2 or not all(isinstance(p, str) for p in layer_range):
        raise ValueError(
            "layer_range must be a pair of layer-name patterns (strings); got "
            f"layer_range = {layer_range}"
        )
    first = [
        i for i, layer in enumerate(layers) if re.match(layer_range[0], layer.name)
    ]
    last = [i for i, layer in enumerate(layers) if re.match(layer_range[1], layer.name)]
    if not first or not last:
        raise ValueError(
            "Passed layer_names do not match the layer names in the model. "
            f"Received: {layer_range}"
        )
    return min(min(first), min(last)), max(max(first), max(last)) + 1


def _output_shape(layer: Any) -> str:
    try:
        return str(layer.output_shape)
    except (AttributeError, RuntimeError, ValueError):
        return "multiple"


def print_summary(
    model: Any,
    line_length: int | None = None,
    positions: Sequence[float] | None = None,
    print_fn: Callable[[str], Any] | None = None,
    expand_nested: bool = False,
    show_trainable: bool = False,
    layer_range: Any = None,
) -> None:
    """Prints a table of `model.layers` and the parameter totals.

    Args:
      model: a built `Network` or Keras model (anything with `layers`,
        `trainable_weights` and `non_trainable_weights`).
      line_length: width of the table (default 65, 76 with `show_trainable`).
      positions: right edges of the columns, as fractions of the width or
        absolute positions.
      print_fn: called with each line (default `print`).
      expand_nested: also list the layers inside layers that have `layers`.
      show_trainable: add a column saying whether each layer is trainable.
      layer_range: two name patterns: list only the layers between them.

    Raises:
      ValueError: `layer_range` is malformed or matches no layer.
    """
    print_fn = print_fn or print
    headers = ["Layer (type)", "Output Shape", "Param #"]
    line_length = line_length or 65
    fractions = list(positions or (0.45, 0.85, 1.0))
    edges = (
        [int(line_length * p) for p in fractions]
        if fractions[-1] <= 1
        else [int(p) for p in fractions]
    )
    if show_trainable:
        line_length += 11
        edges.append(line_length)
        headers.append("Trainable")

    def row(fields: Sequence[Any], depth: int = 0) -> None:
        line, start = "", 0
        for field, edge in zip(fields, edges):
            text = str(field)[: max(edge - start - 1, 1)]
            cell = ("|" * depth + " " if start == 0 and depth else "") + text
            line += cell.ljust(edge - start)
            start = edge
        print_fn(line.rstrip())

    def layer_rows(layer: Any, depth: int) -> None:
        params: Any = layer.count_params() if layer.built else "0 (unused)"
        fields = [
            f"{layer.name} ({type(layer).__name__})",
            _output_shape(layer),
            params,
        ]
        if show_trainable:
            fields.append("Y" if layer.trainable else "N")
        row(fields, depth)
        if expand_nested and getattr(layer, "layers", None):
            for inner in layer.layers:
                layer_rows(inner, depth + 1)

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    row(headers)
    print_fn("=" * line_length)
    start, end = _layer_range(model.layers, layer_range)
    for layer in model.layers[start:end]:
        layer_rows(layer, 0)
    print_fn("=" * line_length)
    trainable, trainable_bytes = _count_and_bytes(model.trainable_weights)
    frozen, frozen_bytes = _count_and_bytes(model.non_trainable_weights)
    print_fn(
        f"Total params: {trainable + frozen} "
        f"({_readable_size(trainable_bytes + frozen_bytes)})"
    )
    print_fn(f"Trainable params: {trainable} ({_readable_size(trainable_bytes)})")
    print_fn(f"Non-trainable params: {frozen} ({_readable_size(frozen_bytes)})")
    print_fn("_" * line_length)
