"""Keras layers used by policylib networks (work with Keras 3 and tf-keras)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "bias_layer",
    "dynamic_unroll_layer",
    "inner_reshape",
    "permanent_variable_rate_dropout",
    "rnn_wrapper",
)

__all__ = list(_MODULES)

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
