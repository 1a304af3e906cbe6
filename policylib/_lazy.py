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
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for a package.

    Args:
      package: the package's `__name__`.
      namespace: the package's `globals()`, where loaded names are cached.
      modules: submodule names to load as attributes.
      attributes: attribute name -> submodule that defines it.
    """
    modules = tuple(modules)
    attributes = dict(attributes or {})

    def __getattr__(name: str) -> Any:
        if name not in modules and name not in attributes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
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
        return sorted(set(namespace) | set(modules) | set(attributes))

    return __getattr__, __dir__
