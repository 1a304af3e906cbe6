"""Tensors against bounded specs: means and half-widths, scaling, clipping."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from policylib.typing import types

__all__ = [
    "clip_to_spec",
    "scale_to_spec",
    "spec_means_and_magnitudes",
]


def spec_means_and_magnitudes(
    action_spec: types.NestedTensorSpec,
) -> tuple[types.NestedArray, types.NestedArray]:
    """Per-leaf `(mean, half-width)` of a bounded spec nest, as float32 arrays."""

    def _mean(spec: types.TensorSpec) -> np.ndarray:
        return ((np.asarray(spec.maximum) + np.asarray(spec.minimum)) / 2.0).astype(
            np.float32
        )

    def _magnitude(spec: types.TensorSpec) -> np.ndarray:
        return ((np.asarray(spec.maximum) - np.asarray(spec.minimum)) / 2.0).astype(
            np.float32
        )

    return (
        tf.nest.map_structure(_mean, action_spec),
        tf.nest.map_structure(_magnitude, action_spec),
    )


def scale_to_spec(tensor: tf.Tensor, spec: types.TensorSpec) -> tf.Tensor:
    """Maps values in [-1, 1] linearly onto the spec's [minimum, maximum].

    The result has shape `[batch] + spec.shape`: outer dims are folded into
    one batch dim (an unbatched value gets a batch dim of 1).
    """
    tensor = tf.reshape(tensor, [-1] + spec.shape.as_list())
    means, magnitudes = spec_means_and_magnitudes(spec)
    return means + magnitudes * tensor


def clip_to_spec(value: types.Tensor, spec: types.TensorSpec) -> tf.Tensor:
    """Clips a tensor to a bounded spec's [minimum, maximum]."""
    return tf.clip_by_value(
        value,
        tf.cast(spec.minimum, value.dtype),
        tf.cast(spec.maximum, value.dtype),
    )
