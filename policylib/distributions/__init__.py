"""TFP distributions and helpers used by policies (loaded on first access)."""

from __future__ import annotations

import importlib
from typing import Any

_MODULES = (
    "gumbel_softmax",
    "masked",
    "reparameterized_sampling",
    "shifted_categorical",
    "tanh_bijector_stable",
    "utils",
)

__all__ = list(_MODULES)


def __getattr__(name: str) -> Any:
    if name in _MODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
