"""`EncodingNetwork`: preprocessing, combining, conv and dense layers in one network.

    observation nest -> per-leaf preprocessing layers -> combiner
      -> Conv1D/Conv2D stack -> Flatten -> Dense stack -> encoding

The building block of QNetwork, ValueNetwork and ActorDistributionNetwork.
"""

from __future__ import annotations

import logging
from typing import Any

import gin
import tensorflow as tf

from policylib.base import nest_utils
from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.utils import keras_compat

__all__ = ["CONV_TYPE_1D", "CONV_TYPE_2D", "EncodingNetwork"]

CONV_TYPE_2D = "2d"
CONV_TYPE_1D = "1d"


def _copy_layer(layer: Any) -> Any:
    """A fresh copy of a Keras layer, so a network never shares the caller's layer."""
    if not isinstance(layer, tf.keras.layers.Layer):
        raise TypeError(f"Expected a Keras layer, got {layer!r}.")
    dense_features_v1 = getattr(
        getattr(getattr(tf.compat.v1, "keras", None), "layers", None),
        "DenseFeatures",
        None,
    )
    if dense_features_v1 is not None and type(layer) is dense_features_v1:
        raise ValueError(
            "DenseFeatures V1 is not supported. Use tf.compat.v2.keras.layers.DenseFeatures "
            "instead."
        )
    if layer.built:
        logging.warning(
            "Copying the already built layer %r: the copy starts with new weights.",
            layer.name,
        )
    return keras_compat.copy_layer_from_config(layer)


def _conv_layers(
    conv_layer_params: Any,
    conv_type: str,
    activation_fn: Any,
    kernel_initializer: Any,
    dtype: Any,
) -> list:
    no_dilation: tuple[int, ...]
    if conv_type == CONV_TYPE_2D:
        conv_class, no_dilation = tf.keras.layers.Conv2D, (1, 1)
    elif conv_type == CONV_TYPE_1D:
        conv_class, no_dilation = tf.keras.layers.Conv1D, (1,)
    else:
        raise ValueError(f"unsupported conv type of {conv_type!r}. Use '1d' or '2d'.")
    layers = []
    for config in conv_layer_params:
        if len(config) == 4:
            filters, kernel_size, strides, dilation_rate = config
        elif len(config) == 3:
            (filters, kernel_size, strides), dilation_rate = config, no_dilation
        else:
            raise ValueError(
                "only 3 or 4 elements permitted in conv_layer_params tuples: "
                f"(filters, kernel_size, strides[, dilation_rate]), got {config}."
            )
        layers.append(
            conv_class(
                filters=keras_compat.units(filters),
                kernel_size=kernel_size,
                strides=strides,
                dilation_rate=dilation_rate,
                activation=activation_fn,
                kernel_initializer=network_utils.clone_initializer(kernel_initializer),
                dtype=dtype,
            )
        )
    return layers


@gin.configurable
class EncodingNetwork(network.Network):
    """Encodes an observation nest into one feature vector per batch entry.

    Args:
      input_tensor_spec: nest of observation specs.
      preprocessing_layers: a nest of Keras layers (a shallow match of the
        spec) applied to each input; copied, not shared.
      preprocessing_combiner: a Keras layer combining the preprocessed nest
        (required when there is more than one input), e.g. `Concatenate`.
      conv_layer_params: `(filters, kernel_size, strides[, dilation_rate])` per
        conv layer.
      fc_layer_params: units per dense layer.
      dropout_layer_params: per dense layer: None, a rate, or dropout kwargs.
      activation_fn: activation of conv and dense layers.
      weight_decay_params: per dense layer: None or an L2 factor.
      kernel_initializer: default: truncated-normal fan-in variance scaling.
      batch_squash: fold extra outer dims (e.g. time) into the batch.
      dtype: dtype of the layers.
      name: network name.
      conv_type: '2d' or '1d'.
    """

    def __init__(
        self,
        input_tensor_spec: Any,
        preprocessing_layers: Any = None,
        preprocessing_combiner: Any = None,
        conv_layer_params: Any = None,
        fc_layer_params: Any = None,
        dropout_layer_params: Any = None,
        activation_fn: Any = tf.keras.activations.relu,
        weight_decay_params: Any = None,
        kernel_initializer: Any = None,
        batch_squash: bool = True,
        dtype: Any = tf.float32,
        name: str = "EncodingNetwork",
        conv_type: str = CONV_TYPE_2D,
    ):
        flat_preprocessing_layers = None
        if preprocessing_layers is not None:
            flat_preprocessing_layers = [
                _copy_layer(layer) for layer in tf.nest.flatten(preprocessing_layers)
            ]
            input_nest = (
                input_tensor_spec
                if tf.nest.is_nested(input_tensor_spec)
                else [input_tensor_spec]
            )
            nest_utils.assert_shallow_structure(preprocessing_layers, input_nest)
        if (
            len(tf.nest.flatten(input_tensor_spec)) > 1
            and preprocessing_combiner is None
        ):
            raise ValueError(
                "preprocessing_combiner layer is required when more than 1 "
                "input_tensor_spec is provided."
            )
        if preprocessing_combiner is not None:
            preprocessing_combiner = _copy_layer(preprocessing_combiner)
        kernel_initializer = (
            kernel_initializer or network_utils.default_kernel_initializer()
        )

        layers = _conv_layers(
            conv_layer_params or (), conv_type, activation_fn, kernel_initializer, dtype
        )
        layers.append(tf.keras.layers.Flatten(name="flatten"))
        layers += network_utils.dense_layers(
            fc_layer_params,
            dropout_layer_params,
            weight_decay_params,
            activation_fn,
            kernel_initializer,
            dtype=dtype,
        )

        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._preprocessing_nest = tf.nest.map_structure(
            lambda _: None, preprocessing_layers
        )
        self._flat_preprocessing_layers = flat_preprocessing_layers
        self._preprocessing_combiner = preprocessing_combiner
        self._combiner_input_key = keras_compat.input_only_sequential_key(
            preprocessing_combiner
        )
        self._postprocessing_layers = layers
        self._batch_squash = batch_squash
        self.built = True  # Variables are created lazily; an empty list is valid.

    def call(
        self,
        observation: Any,
        step_type: Any = None,
        network_state: Any = (),
        training: bool = False,
    ) -> tuple[Any, Any]:
        del step_type
        if self._batch_squash:
            outer_rank = nest_utils.get_outer_rank(observation, self.input_tensor_spec)
            squash = network_utils.BatchSquash(outer_rank)
            observation = tf.nest.map_structure(squash.flatten, observation)
        if self._flat_preprocessing_layers is None:
            processed = observation
        else:
            flat_inputs = nest_utils.flatten_up_to(
                self._preprocessing_nest, observation
            )
            processed = [
                layer(obs, training=training)
                for obs, layer in zip(flat_inputs, self._flat_preprocessing_layers)
            ]
            if len(processed) == 1 and self._preprocessing_combiner is None:
                processed = processed[0]
        states = processed
        if self._combiner_input_key is not None:
            states = (
                states[self._combiner_input_key] if isinstance(states, dict) else states
            )
        elif self._preprocessing_combiner is not None:
            states = self._preprocessing_combiner(states)
        for layer in self._postprocessing_layers:
            states = layer(states, training=training)
        if self._batch_squash:
            states = tf.nest.map_structure(squash.unflatten, states)
        return states, network_state
