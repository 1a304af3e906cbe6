"""TFP distributions and helpers used by policies (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "gumbel_softmax",
    "masked",
    "reparameterized_sampling",
    "shifted_categorical",
    "tanh_bijector_stable",
    "utils",
)

__all__ = list(_MODULES)


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES)
