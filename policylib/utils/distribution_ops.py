"""Log-probabilities and entropies of nests of distributions, summed over inner dims."""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from policylib.base import nest_utils
from policylib.typing import types

__all__ = [
    "entropy",
    "log_probability",
]


def log_probability(
    distributions: types.NestedDistribution,
    actions: types.NestedTensor,
    action_spec: types.NestedTensorSpec,
) -> tf.Tensor:
    """Total log-probability of a nest of actions, summed over inner dims and leaves."""
    outer_rank = nest_utils.get_outer_rank(actions, action_spec)
    nest_utils.assert_same_structure(distributions, actions)

    def _log_prob(distribution: types.Distribution, action: tf.Tensor) -> tf.Tensor:
        value = distribution.log_prob(action)
        return tf.reduce_sum(value, axis=list(range(outer_rank, value.shape.rank)))

    return tf.add_n(
        [
            _log_prob(d, a)
            for d, a in zip(tf.nest.flatten(distributions), tf.nest.flatten(actions))
        ]
    )


def entropy(
    distributions: types.NestedDistribution,
    action_spec: types.NestedTensorSpec,
    outer_rank: int | None = None,
) -> Any:
    """Total entropy of a nest of distributions (None if no leaf has one)."""
    if outer_rank is None:
        modes = tf.nest.map_structure(lambda d: d.mode(), distributions)
        outer_rank = nest_utils.get_outer_rank(modes, action_spec)
    entropies = []
    for distribution in tf.nest.flatten(distributions):
        try:
            value = distribution.entropy()
        except NotImplementedError:
            continue
        entropies.append(
            tf.reduce_sum(value, axis=list(range(outer_rank, value.shape.rank)))
        )
    return tf.add_n(entropies) if entropies else None
