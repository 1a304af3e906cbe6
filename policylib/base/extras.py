"""Imports of optional extras, failing with one line that says what to install.

    gymnasium = extras.require("gymnasium", extra="gymnasium", feature="Gym environments")

The core install stays lean (TensorFlow, TFP, NumPy, dm-tree, gin, cloudpickle);
environments, plotting, video, Ray and LiteRT come as extras of policylib.
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = ["MissingExtraError", "missing", "require"]


class MissingExtraError(ImportError):
    """An optional dependency of policylib is not installed."""


def require(module: str, extra: str, feature: str) -> ModuleType:
    """Imports `module`, or raises `MissingExtraError` naming the pip install.

    Args:
      module: the module to import, e.g. `"gymnasium"`.
      extra: policylib's extra that installs it, e.g. `"gymnasium"`.
      feature: what needs it, for the message, e.g. `"Gym environments"`.
    """
    try:
        return importlib.import_module(module)
    except ImportError:
        raise missing(module, extra, feature) from None


def missing(module: str, extra: str, feature: str) -> MissingExtraError:
    """The one-line error for `module` missing (see `require`)."""
    top = module.split(".")[0]
    # Both install forms: from the package index, and in a clone of the repository.
    error = MissingExtraError(
        f"{feature} need {top}, which is not installed: pip install "
        f"'policylib[{extra}]' (from a clone: pip install -e '.[{extra}]')"
    )
    error.name = top
    return error
