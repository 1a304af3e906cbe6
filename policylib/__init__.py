"""policylib: TF-Agents-compatible policies for TensorFlow 2.

Importing ``policylib`` is cheap: subpackages (``specs``, ``trajectories``,
``policies`` ...) are imported on first attribute access, so importing one
policy never drags in unrelated modules.
"""

from __future__ import annotations

from policylib import _load_hook, _tf_startup
from policylib._lazy import lazy_exports
from policylib.version import __version__

_SUBPACKAGES = (
    "agents",
    "bandits",
    "data",
    "distributions",
    "drivers",
    "environments",
    "errors",
    "eval",
    "export",
    "keras_layers",
    "metrics",
    "networks",
    "policies",
    "specs",
    "system",
    "trajectories",
    "typing",
    "utils",
)

__all__ = ["__version__", *_SUBPACKAGES]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _SUBPACKAGES)

# Plain `tf.saved_model.load` of any policy save works after `import policylib`.
_load_hook.install()
# TensorFlow's native start-up lines stay off stderr (POLICYLIB_TF_STARTUP_LOGS=1 shows them).
_tf_startup.install()
