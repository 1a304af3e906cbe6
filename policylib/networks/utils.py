"""Helpers shared by networks: batch squashing, output checks, MLP stacks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.keras_layers import permanent_variable_rate_dropout
from policylib.typing import types
from policylib.utils import keras_compat

__all__ = [
    "Activation",
    "BatchSquash",
    "ConvLayerParams",
    "DropoutLayerParams",
    "FcLayerParams",
    "Initializer",
    "apply_layers",
    "check_single_floating_network_output",
    "clone_initializer",
    "default_kernel_initializer",
    "dense_layers",
    "maybe_dropout_layer",
    "mlp_layers",
    "per_layer_params",
]

# A Keras activation: a function of a tensor, or the name of one.
Activation = Callable[[tf.Tensor], tf.Tensor] | str
# A Keras initializer: its name, or a callable `(shape, dtype) -> tensor`
# (Keras initializer objects are such callables).
Initializer = Callable[..., tf.Tensor] | str
# Per conv layer `(filters, kernel_size, strides[, dilation])`.
ConvLayerParams = Sequence[tuple[Any, ...]]
# Units per dense layer.
FcLayerParams = Sequence[int]
# Per dense layer: None, a dropout rate, or dropout layer kwargs.
DropoutLayerParams = Sequence[float | dict[str, Any] | None]


def apply_layers(
    layers: Sequence[tf.keras.layers.Layer], inputs: tf.Tensor, training: bool
) -> tf.Tensor:
    """`inputs` through `layers` in order."""
    for layer in layers:
        inputs = layer(inputs, training=training)
    return inputs


def default_kernel_initializer() -> Initializer:
    """He-style truncated-normal fan-in initializer (the networks' default)."""
    return tf.keras.initializers.VarianceScaling(
        scale=2.0, mode="fan_in", distribution="truncated_normal"
    )


def clone_initializer(initializer: Initializer) -> Initializer:
    """A fresh copy of a Keras initializer object (others are returned as is).

    An unseeded Keras initializer instance gives the same values on every
    call, so each layer needs its own.
    """
    if isinstance(initializer, tf.keras.initializers.Initializer):
        return initializer.__class__.from_config(initializer.get_config())
    return initializer


def check_single_floating_network_output(
    output_spec: types.NestedTensorSpec,
    expected_output_shape: Sequence[int],
    label: str,
) -> None:
    """Raises ValueError unless `output_spec` is one float TensorSpec of that shape."""
    expected = tuple(int(x) for x in expected_output_shape)
    if not (
        isinstance(output_spec, tf.TensorSpec)
        and output_spec.shape == expected
        and output_spec.dtype.is_floating
    ):
        raise ValueError(
            f"Expected {label} to emit a floating point tensor with inner dims {expected}; "
            f"but saw network output spec: {output_spec}"
        )


def check_projection_inputs(
    inputs: tf.Tensor,
    sample_spec: types.TensorSpec,
    mask: tf.Tensor | None,
    network_name: str,
) -> None:
    """The checks of a continuous projection network's `call`.

    Raises:
      ValueError: `inputs` is not of the sample spec's dtype.
      NotImplementedError: a `mask` was given (continuous actions have none).
    """
    if inputs.dtype != sample_spec.dtype:
        raise ValueError(
            f"Inputs to {network_name} must match the sample_spec.dtype: got "
            f"{inputs.dtype}, expected {sample_spec.dtype}."
        )
    if mask is not None:
        raise NotImplementedError(
            f"{network_name} does not implement action masking; got mask={mask}."
        )


class BatchSquash:
    """Merges `batch_dims` outer dims into one (and back), for layers wanting `[B, ...]`.

    Takes `tf.Tensor`s and `tf.SparseTensor`s (the latter reshaped with
    `tf.sparse.reshape`, whose static shape stays unknown inside a graph).
    """

    def __init__(self, batch_dims: int):
        if batch_dims < 0:
            raise ValueError(f"Batch dims must be non-negative, got {batch_dims}.")
        self._batch_dims = batch_dims
        self._original_shape = None

    def flatten(self, tensor: Any) -> Any:
        if self._batch_dims == 1:
            return tensor
        if isinstance(tensor, tf.SparseTensor):
            self._original_shape = tensor.dense_shape
            return tf.sparse.reshape(
                tensor,
                tf.concat([[-1], tensor.dense_shape[self._batch_dims :]], axis=0),
            )
        self._original_shape = tf.shape(tensor)
        inner = tensor.shape[self._batch_dims :]
        if inner.is_fully_defined():
            return tf.reshape(tensor, [-1] + inner.as_list())
        reshaped = tf.reshape(
            tensor, tf.concat([[-1], tf.shape(tensor)[self._batch_dims :]], axis=0)
        )
        outer = tensor.shape[: self._batch_dims]
        if outer.is_fully_defined():
            reshaped = tf.ensure_shape(
                reshaped, [int(np.prod(outer))] + inner.as_list()
            )
        return reshaped

    def unflatten(self, tensor: Any) -> Any:
        if self._batch_dims == 1:
            return tensor
        if self._original_shape is None:
            raise ValueError("BatchSquash.unflatten called before flatten.")
        outer = self._original_shape[: self._batch_dims]
        if isinstance(tensor, tf.SparseTensor):
            return tf.sparse.reshape(
                tensor,
                tf.concat([tf.cast(outer, tf.int64), tensor.dense_shape[1:]], axis=0),
            )
        return tf.reshape(
            tensor,
            tf.concat([tf.cast(outer, tf.int32), tf.shape(tensor)[1:]], axis=0),
        )


def maybe_dropout_layer(
    dropout_params: float | dict[str, Any] | None,
) -> tf.keras.layers.Layer | None:
    """A dropout layer for `rate` or `{'rate': .., 'permanent': ..}`; None for no dropout."""
    if dropout_params is None or dropout_params == 0:
        return None
    if not isinstance(dropout_params, dict):
        dropout_params = {"rate": dropout_params}
    return permanent_variable_rate_dropout.PermanentVariableRateDropout(
        **dropout_params
    )


def per_layer_params(values: Sequence[Any] | None, count: int, what: str) -> list:
    """`values` (one per dense layer) as a list, or Nones; ValueError on a length mismatch."""
    if values is None:
        return [None] * count
    if len(values) != count:
        raise ValueError(
            f"{what} and fully connected layer parameter lists have different lengths "
            f"({len(values)} vs. {count})."
        )
    return list(values)


def dense_layers(
    fc_layer_params: FcLayerParams | None,
    dropout_layer_params: DropoutLayerParams | None = None,
    weight_decay_params: Sequence[float | None] | None = None,
    activation_fn: Activation | None = tf.keras.activations.relu,
    kernel_initializer: Initializer | None = None,
    dtype: tf.DType | None = None,
    name: str | None = None,
) -> list:
    """Dense layers (each with its own initializer copy), optional dropout and L2.

    Args:
      fc_layer_params: units per dense layer.
      dropout_layer_params: per dense layer: None, a rate, or dropout kwargs.
      weight_decay_params: per dense layer: None or an L2 factor.
      name: prefix of the layer names.
    """
    if kernel_initializer is None:
        kernel_initializer = default_kernel_initializer()
    fc_layer_params = fc_layer_params or ()
    dropouts = per_layer_params(dropout_layer_params, len(fc_layer_params), "Dropout")
    decays = per_layer_params(weight_decay_params, len(fc_layer_params), "Weight decay")
    layers: list = []
    for i, (units, dropout, decay) in enumerate(zip(fc_layer_params, dropouts, decays)):
        layers.append(
            tf.keras.layers.Dense(
                keras_compat.units(units),
                activation=activation_fn,
                kernel_initializer=clone_initializer(kernel_initializer),
                kernel_regularizer=None
                if decay is None
                else tf.keras.regularizers.l2(decay),
                dtype=dtype,
                name=f"{name}_dense{i}" if name else None,
            )
        )
        dropout_layer = maybe_dropout_layer(dropout)
        if dropout_layer is not None:
            layers.append(dropout_layer)
    return layers


def mlp_layers(
    conv_layer_params: ConvLayerParams | None = None,
    fc_layer_params: FcLayerParams | None = None,
    dropout_layer_params: DropoutLayerParams | None = None,
    activation_fn: Activation | None = tf.keras.activations.relu,
    kernel_initializer: Initializer | None = None,
    weight_decay_params: Sequence[float | None] | None = None,
    name: str | None = None,
) -> list:
    """Conv2D layers, a Flatten, then `dense_layers`.

    Args:
      conv_layer_params: `(filters, kernel_size, strides)` per conv layer.
      fc_layer_params, dropout_layer_params, weight_decay_params: see `dense_layers`.
      name: prefix of the layer names.
    """
    if kernel_initializer is None:
        kernel_initializer = default_kernel_initializer()
    layers: list = [
        tf.keras.layers.Conv2D(
            filters=keras_compat.units(filters),
            kernel_size=kernel_size,
            strides=strides,
            activation=activation_fn,
            kernel_initializer=clone_initializer(kernel_initializer),
            name=f"{name}_conv2d_{i}" if name else None,
        )
        for i, (filters, kernel_size, strides) in enumerate(conv_layer_params or ())
    ]
    layers.append(tf.keras.layers.Flatten())
    return layers + dense_layers(
        fc_layer_params,
        dropout_layer_params,
        weight_decay_params,
        activation_fn,
        kernel_initializer,
        name=name,
    )
