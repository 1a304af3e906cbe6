"""policylib's gin configurables register whether or not gin's config is locked.

TF-Agents registers a subpackage's configurables as soon as the subpackage is
imported (its `__init__` imports every module). policylib imports a module
when it is first used, so that `import policylib` stays cheap and
TensorFlow-free; some modules therefore load, and register their
configurables, only after a script's `gin.parse_config_files_and_bindings(...)`
has locked the config. Gin refuses that ("Attempted to add a new configurable
after the config was locked"): TF-Agents' own v2 example scripts, renamed,
failed so the first time `metric_utils.eager_compute` loaded
`dynamic_episode_driver`.

`install()` (called by `policylib/__init__.py`) has each policylib module run
its own code with the lock lifted, and put back after. Nothing is lost by
registering late: the config holds no binding for a configurable that did not
exist when it was parsed (gin refuses such a binding at parse time, unless
told to skip unknown names).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import ModuleType

from policylib.base import import_hooks

__all__ = ["install"]


@contextlib.contextmanager
def _registration_allowed(module: ModuleType) -> Iterator[None]:
    """Lifts gin's config lock, if gin is loaded and locked, while `module` runs."""
    del module  # every policylib module alike
    gin = sys.modules.get("gin")  # not imported here: `import policylib` stays light
    if gin is None or not gin.config_is_locked():
        yield
        return
    with gin.unlock_config():
        yield


def install() -> None:
    """Applies `_registration_allowed` to every policylib module imported from now on."""
    import_hooks.around_imports_under("policylib", _registration_allowed)
