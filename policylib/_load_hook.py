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
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["install"]

_REGISTRY = "tensorflow.python.framework.type_spec_registry"
# Type-spec names that policy saves of either library hold.
_PREFIXES = ("tfp.", "tf_agents.")
# Importing it registers every distribution a policy save may return.
_REGISTERING_MODULE = "policylib.policies.saved_policy_files"


def install() -> None:
    """Adds the fallback now, or when TensorFlow's registry module is imported."""
    module = sys.modules.get(_REGISTRY)
    if module is not None:
        _patch(module)
    elif not any(isinstance(f, _RegistryFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _RegistryFinder())


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


class _PatchingLoader(importlib.abc.Loader):
    """Runs the real loader, then adds the fallback to the module."""

    def __init__(self, loader: importlib.abc.Loader):
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        _patch(module)


class _RegistryFinder(importlib.abc.MetaPathFinder):
    """Finds TensorFlow's registry module with the other finders, wrapping its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != _REGISTRY:
            return None
        sys.meta_path.remove(self)  # one use; the other finders find the real module
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _PatchingLoader(spec.loader)
        return spec
