"""policylib: TF-Agents-compatible policies for TensorFlow 2.

Importing ``policylib`` is cheap: subpackages (``specs``, ``trajectories``,
``policies`` ...) are imported on first attribute access, so importing one
policy never drags in unrelated modules.
"""

from __future__ import annotations

from policylib import _gin_registration, _tf_patches
from policylib._lazy import lazy_exports
from policylib.version import __version__

_SUBPACKAGES = (
    "agents",
    "bandits",
    "base",
    "benchmark",
    "data",
    "distributed",
    "distributions",
    "drivers",
    "environments",
    "errors",
    "eval",
    "experimental",
    "export",
    "keras_layers",
    "metrics",
    "networks",
    "offline",
    "policies",
    "replay_buffers",
    "reverb",
    "specs",
    "system",
    "train",
    "trajectories",
    "typing",
    "utils",
    "version",
)

__all__ = ["__version__", *_SUBPACKAGES]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _SUBPACKAGES)

# Every TensorFlow/Keras patch is listed and installed there
# (POLICYLIB_NO_TF_PATCHES=1 installs none).
_tf_patches.install()

# policylib's modules load on first use, possibly after a script's gin config
# was parsed and locked; they register their configurables all the same.
_gin_registration.install()
