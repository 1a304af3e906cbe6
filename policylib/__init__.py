"""policylib: TF-Agents-compatible policies for TensorFlow 2.

Importing ``policylib`` is cheap: subpackages (``specs``, ``trajectories``,
``policies`` ...) are imported on first attribute access, so importing one
policy never drags in unrelated modules.
"""

from __future__ import annotations

import importlib
from typing import Any

from policylib.version import __version__

_SUBPACKAGES = (
    "bandits",
    "distributions",
    "networks",
    "policies",
    "specs",
    "trajectories",
    "typing",
    "utils",
)

__all__ = ["__version__", *_SUBPACKAGES]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_SUBPACKAGES))
