"""Lets plain `tf.saved_model.load` read policy saves once policylib is imported.

A policy's SavedModel names the type specs of the distributions it returns
(`tfp.distributions.Deterministic_ACTTypeSpec`,
`tf_agents.distributions.masked.MaskedCategorical_ACTTypeSpec`). TensorFlow
decodes a name only if its class was registered, which takes importing TFP's
distributions and policylib's (seconds), too slow for `import policylib`.
Instead, TensorFlow's registry lookup gets a fallback: a miss on such a name
imports the registering modules once and looks again. The fallback is put in
when TensorFlow's registry module loads (or at once, if it has), so
`import policylib` itself still imports no TensorFlow.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from policylib.base import import_hooks

__all__ = ["install"]

_REGISTRY = "tensorflow.python.framework.type_spec_registry"
# Type-spec names that policy saves of either library hold.
_PREFIXES = ("tfp.", "tf_agents.")
# Importing it registers every distribution a policy save may return.
_REGISTERING_MODULE = "policylib.policies.saved_policy_files"


def install() -> None:
    """Adds the fallback now, or when TensorFlow's registry module is imported."""
    import_hooks.after_import(_REGISTRY, _patch)


def _patch(module: ModuleType) -> None:
    original = getattr(module, "lookup")  # noqa: B009
    if getattr(original, "_policylib_fallback", False):
        return

    def lookup(name: object) -> type:
        try:
            return original(name)
        except ValueError:
            if not (isinstance(name, str) and name.startswith(_PREFIXES)):
                raise
            importlib.import_module(_REGISTERING_MODULE)
            return original(name)

    lookup._policylib_fallback = True  # type: ignore[attr-defined]
    lookup.__doc__ = original.__doc__
    setattr(module, "lookup", lookup)  # noqa: B010 - a module attribute mypy cannot see
