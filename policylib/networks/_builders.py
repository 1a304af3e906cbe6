"""Construction and call scaffolding shared by the standard networks.

The network modules keep TF-Agents' class names, constructor signatures and
attribute names (checkpoints address variables through the attributes); what
they share lives here once:

- `encoding_network_from` / `lstm_encoding_network_from`: the encoder built
  from the encoder arguments of a constructor (its `locals()`);
- `EncoderThenHead`: a `call` that runs the encoder, then the network's head;
- `q_value_layer` / `value_layer`: the dense heads of Q and value networks;
- `ProjectionNetwork`: the `call` of the projection networks (fold the outer
  dims, compute the distribution parameters, unfold, build the distribution).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import encoding_network, lstm_encoding_network, network
from policylib.networks import utils as network_utils
from policylib.typing import types

__all__ = [
    "ENCODER_ARGUMENTS",
    "LSTM_ENCODER_ARGUMENTS",
    "EncoderThenHead",
    "ProjectionNetwork",
    "arguments_among",
    "encoding_network_from",
    "lstm_encoding_network_from",
    "q_value_layer",
    "value_layer",
]

# Arguments that the feed-forward networks pass on to their `EncodingNetwork`.
ENCODER_ARGUMENTS = (
    "preprocessing_layers",
    "preprocessing_combiner",
    "conv_layer_params",
    "fc_layer_params",
    "dropout_layer_params",
    "activation_fn",
    "kernel_initializer",
    "batch_squash",
    "dtype",
)

# Arguments that the recurrent networks pass on to their `LSTMEncodingNetwork`.
LSTM_ENCODER_ARGUMENTS = (
    "input_tensor_spec",
    "preprocessing_layers",
    "preprocessing_combiner",
    "conv_layer_params",
    "input_fc_layer_params",
    "lstm_size",
    "output_fc_layer_params",
    "activation_fn",
    "rnn_construction_fn",
    "rnn_construction_kwargs",
    "dtype",
    "name",
)


def arguments_among(
    arguments: Mapping[str, Any], names: Iterable[str]
) -> dict[str, Any]:
    """The entries of `arguments` (a constructor's `locals()`) named in `names`.

    Names the constructor does not have are left out, so the encoder keeps its
    own defaults for them.
    """
    return {name: arguments[name] for name in names if name in arguments}


def encoding_network_from(
    input_tensor_spec: types.NestedTensorSpec,
    arguments: Mapping[str, Any],
    **overrides: Any,
) -> encoding_network.EncodingNetwork:
    """An `EncodingNetwork` from the encoder arguments in a constructor's `locals()`."""
    kwargs = arguments_among(arguments, ENCODER_ARGUMENTS)
    kwargs.update(overrides)
    return encoding_network.EncodingNetwork(input_tensor_spec, **kwargs)


def lstm_encoding_network_from(
    arguments: Mapping[str, Any],
) -> lstm_encoding_network.LSTMEncodingNetwork:
    """An `LSTMEncodingNetwork` from the arguments in a constructor's `locals()`."""
    return lstm_encoding_network.LSTMEncodingNetwork(
        **arguments_among(arguments, LSTM_ENCODER_ARGUMENTS)
    )


def q_value_layer(
    num_actions: int,
    activation_fn: network_utils.Activation | None = None,
    dtype: tf.DType = tf.float32,
    name: str | None = None,
) -> tf.keras.layers.Layer:
    """The Q-value head: one unit per action, small uniform kernel, bias -0.2."""
    return tf.keras.layers.Dense(
        num_actions,
        activation=activation_fn,
        kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
        bias_initializer=tf.constant_initializer(-0.2),
        dtype=dtype,
        name=name,
    )


def value_layer() -> tf.keras.layers.Layer:
    """The value head: one linear unit with a small uniform kernel."""
    return tf.keras.layers.Dense(
        1,
        activation=None,
        kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
    )


class EncoderThenHead:
    """Mixin of a `Network` whose `call` runs an encoder, then `_head`.

    The encoder is the attribute named `_encoder_attribute` (TF-Agents'
    attribute names differ by network, and they name checkpoint entries).
    """

    _encoder_attribute = "_encoder"

    def call(
        self,
        observation: types.NestedTensor,
        step_type: types.Tensor | None = None,
        network_state: types.NestedTensor = (),
        training: bool = False,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        encoder = getattr(self, self._encoder_attribute)
        encoding, network_state = encoder(
            observation,
            step_type=step_type,
            network_state=network_state,
            training=training,
        )
        return self._head(encoding, observation, training), network_state

    def _head(
        self, encoding: tf.Tensor, observation: types.NestedTensor, training: bool
    ) -> types.NestedTensor:
        """The outputs for `encoding` (of `observation`)."""
        raise NotImplementedError


class ProjectionNetwork(network.DistributionNetwork):
    """Base of the projection networks: features -> one distribution per batch entry.

    `call(inputs, outer_rank, training=False, mask=None)` folds the outer dims
    of `inputs` into one, lets `_parameters` compute the distribution's
    parameters on `[B, features]`, unfolds them and builds `output_spec`'s
    distribution. Subclasses set `_sample_spec`.
    """

    _sample_spec: types.TensorSpec

    def call(
        self,
        inputs: tf.Tensor,
        outer_rank: int,
        training: bool = False,
        mask: tf.Tensor | None = None,
    ) -> tuple[tfp.distributions.Distribution, tuple]:
        self._check_inputs(inputs, mask)
        squash = network_utils.BatchSquash(outer_rank)
        parameters = {
            name: squash.unflatten(value)
            for name, value in self._parameters(
                squash.flatten(inputs), training
            ).items()
        }
        parameters = self._masked(parameters, mask)
        return self.output_spec.build_distribution(**parameters), ()

    def _check_inputs(self, inputs: tf.Tensor, mask: tf.Tensor | None) -> None:
        """Continuous projections: inputs of the spec's dtype, and no mask."""
        network_utils.check_projection_inputs(
            inputs, self._sample_spec, mask, type(self).__name__
        )

    def _parameters(self, inputs: tf.Tensor, training: bool) -> dict[str, tf.Tensor]:
        """The distribution's parameters for `[B, features]` inputs."""
        raise NotImplementedError

    def _masked(
        self, parameters: dict[str, tf.Tensor], mask: tf.Tensor | None
    ) -> dict[str, tf.Tensor]:
        """`parameters` with `mask` applied (no masking by default)."""
        del mask
        return parameters
