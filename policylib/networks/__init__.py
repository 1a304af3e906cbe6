"""Networks for policies: `Network` base and the standard TF-Agents networks."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "actor_distribution_network",
    "actor_distribution_rnn_network",
    "categorical_projection_network",
    "categorical_q_network",
    "encoding_network",
    "expand_dims_layer",
    "layer_utils",
    "lstm_encoding_network",
    "mask_splitter_network",
    "nest_map",
    "network",
    "normal_projection_network",
    "q_network",
    "q_rnn_network",
    "rnn_utils",
    "sequential",
    "test_utils",
    "utils",
    "value_network",
    "value_rnn_network",
)

__all__ = [
    *_MODULES,
    "Network",
    "DistributionNetwork",
    "NestFlatten",
    "NestMap",
    "Sequential",
]

__getattr__, __dir__ = lazy_exports(
    __name__,
    globals(),
    _MODULES,
    {
        "Network": "network",
        "DistributionNetwork": "network",
        "NestFlatten": "nest_map",
        "NestMap": "nest_map",
        "Sequential": "sequential",
    },
)
