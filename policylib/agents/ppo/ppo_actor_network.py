"""`PPOActorNetwork`: builds PPO's usual continuous actor as a `Sequential`.

Tanh dense layers (orthogonal init), a means layer, and a state-independent
learned std (softplus of a bias starting at softplus^-1(0.35)); the output
is a `MultivariateNormalDiag` whose mean is tanh-squashed into the spec.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Sequence

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.keras_layers import bias_layer
from policylib.networks import nest_map, sequential
from policylib.networks.normal_projection_network import tanh_squash_to_spec
from policylib.typing import types

__all__ = ["PPOActorNetwork", "tanh_and_scale_to_spec"]

tanh_and_scale_to_spec = tanh_squash_to_spec


class PPOActorNetwork:
    """Factory of PPO actor networks.

    Args:
      seed_stream_class: the seed stream the initializers' seeds come from.
    """

    def __init__(
        self,
        seed_stream_class: Callable[
            ..., Callable[[], int | None]
        ] = tfp.util.SeedStream,
    ):
        self.seed_stream_class = seed_stream_class

    def create_sequential_actor_net(
        self,
        fc_layer_units: Sequence[int],
        action_tensor_spec: types.BoundedTensorSpec,
        seed: int | None = None,
    ) -> sequential.Sequential:
        """The actor: `fc_layer_units` tanh layers, then the Normal head.

        Args:
          fc_layer_units: units per hidden layer.
          action_tensor_spec: one bounded float action spec.
          seed: seed of the initializers (None: unseeded).
        """
        seed_stream = self.seed_stream_class(
            seed=seed, salt="tf_agents_sequential_layers"
        )

        def next_seed() -> int | None:
            value = seed_stream()
            return None if value is None else value % sys.maxsize

        def to_distribution(loc_and_scale: dict[str, tf.Tensor]) -> types.Distribution:
            return tfp.distributions.MultivariateNormalDiag(
                loc=tanh_and_scale_to_spec(loc_and_scale["loc"], action_tensor_spec),
                scale_diag=tf.math.softplus(loc_and_scale["scale"]),
                validate_args=True,
            )

        # One initializer (one seed) for all hidden layers, then the means' seed.
        hidden = functools.partial(
            tf.keras.layers.Dense,
            activation=tf.nn.tanh,
            kernel_initializer=tf.keras.initializers.Orthogonal(seed=next_seed()),
        )
        hidden_layers = [hidden(units) for units in fc_layer_units]
        means = tf.keras.layers.Dense(
            action_tensor_spec.shape.num_elements(),
            kernel_initializer=tf.keras.initializers.VarianceScaling(
                scale=0.1, seed=next_seed()
            ),
            name="means_projection_layer",
        )
        std = bias_layer.BiasLayer(
            bias_initializer=tf.constant_initializer(value=np.log(np.exp(0.35) - 1))
        )
        return sequential.Sequential(
            hidden_layers
            + [
                means,
                tf.keras.layers.Lambda(lambda x: {"loc": x, "scale": tf.zeros_like(x)}),
                nest_map.NestMap(
                    {"loc": tf.keras.layers.Lambda(lambda x: x), "scale": std}
                ),
                tf.keras.layers.Lambda(to_distribution),
            ]
        )
