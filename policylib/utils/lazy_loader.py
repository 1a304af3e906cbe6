"""A module stand-in that imports the real module on first attribute access.

`reverb = LazyLoader('reverb', globals(), 'reverb')` at module level defers a
heavy (or optional) import until the name is first used; then the real module
replaces the stand-in in the caller's globals, so later look-ups are direct.
"""

from __future__ import annotations

import importlib
import logging
import types
from typing import Any

__all__ = ["LazyLoader"]

_log = logging.getLogger(__name__)


class LazyLoader(types.ModuleType):
    """Stands in for module `name`, bound as `local_name` in `parent_module_globals`.

    Args:
      local_name: the name the importing module uses for it.
      parent_module_globals: that module's `globals()`, updated on load.
      name: the module's import path, e.g. 'reverb'.
      warning: logged once, when the module is first loaded.
    """

    def __init__(
        self,
        local_name: str,
        parent_module_globals: dict[str, Any],
        name: str,
        warning: str | None = None,
    ) -> None:
        super().__init__(name)
        self._local_name = local_name
        self._parent_module_globals = parent_module_globals
        self._warning = warning

    def _load(self) -> types.ModuleType:
        """Imports the module, rebinds the parent's name, and mirrors its attributes."""
        module = importlib.import_module(self.__name__)
        self._parent_module_globals[self._local_name] = module
        if self._warning:
            _log.warning(self._warning)
            self._warning = None
        # A kept reference to this stand-in then finds attributes without `__getattr__`.
        self.__dict__.update(module.__dict__)
        return module

    def __getattr__(self, item: str) -> Any:
        return getattr(self._load(), item)

    def __dir__(self) -> list[str]:
        return dir(self._load())
