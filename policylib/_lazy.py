"""Lazy package exports: submodules and classes imported on first attribute access.

Keeps `import policylib` (and `import policylib.policies`) cheap: nothing is
imported until it is used, and a used name is cached in the package namespace.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def lazy_exports(
    package: str,
    namespace: dict[str, Any],
    modules: Iterable[str],
    attributes: Mapping[str, str] | None = None,
    star_modules: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for a package.

    Args:
      package: the package's `__name__`.
      namespace: the package's `globals()`, where loaded names are cached.
      modules: submodule names to load as attributes.
      attributes: attribute name -> submodule that defines it.
      star_modules: submodules whose `__all__` names are exported too; they
        are imported when a name is not found otherwise.
    """
    modules = tuple(modules)
    attributes = dict(attributes or {})
    star_modules = tuple(star_modules)

    def from_star_modules(name: str) -> Any:
        for star in star_modules if not name.startswith("_") else ():
            module = importlib.import_module(f"{package}.{star}")
            if name in getattr(module, "__all__", ()):
                namespace[name] = getattr(module, name)
                return namespace[name]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __getattr__(name: str) -> Any:
        if name not in modules and name not in attributes:
            return from_star_modules(name)
        target = f"{package}.{attributes.get(name, name)}"
        try:
            module = importlib.import_module(target)
        except ModuleNotFoundError as e:
            if e.name != target:
                raise
            raise AttributeError(
                f"{package}.{name} is not available in this version of policylib "
                f"({target} does not exist yet)."
            ) from e
        value = getattr(module, name) if name in attributes else module
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        starred = {
            name
            for star in star_modules
            for name in getattr(
                importlib.import_module(f"{package}.{star}"), "__all__", ()
            )
        }
        return sorted(set(namespace) | set(modules) | set(attributes) | starred)

    return __getattr__, __dir__


def lazy_package(
    namespace: dict[str, Any],
    modules: str,
    attributes: str = "",
    star_modules: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's lazy `__getattr__` and `__dir__` (`lazy_exports`); sets its `__all__`.

    A package's `__init__` is then one call, its names written as text:

        __getattr__, __dir__ = lazy_package(
            globals(),
            modules="array_spec tensor_spec",
            attributes='''
                array_spec: ArraySpec BoundedArraySpec
                tensor_spec: TensorSpec from_spec
            ''',
        )

    Args:
      namespace: the package's `globals()`.
      modules: its submodules, loaded as attributes, separated by white space.
      attributes: lines `submodule: Name Name ...`, names that a submodule
        defines and the package exports.
      star_modules: submodules whose `__all__` names are exported too.

    Returns:
      `(__getattr__, __dir__)`; `__all__` lists the modules, then the names.
    """
    module_names = tuple(modules.split())
    exported: dict[str, str] = {}
    for line in attributes.strip().splitlines():
        module, _, names = line.partition(":")
        exported.update(dict.fromkeys(names.split(), module.strip()))
    namespace["__all__"] = [*module_names, *exported]
    return lazy_exports(
        namespace["__name__"], namespace, module_names, exported, star_modules
    )
