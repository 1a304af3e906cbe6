"""Class contracts: base classes whose public methods are a fixed template."""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = [
    "assert_members_are_not_overridden",
    "safe_has_state",
]


def _public_members(cls: type) -> Iterable[str]:
    return (name for name in dir(cls) if not name.startswith("_"))


def assert_members_are_not_overridden(
    base_cls: type,
    instance: Any,
    allowlist: Sequence[str] = (),
    denylist: Sequence[str] = (),
) -> None:
    """Raises ValueError if `instance`'s class redefines public members of `base_cls`.

    Base classes use this to keep their public methods a fixed template that
    subclasses customize only through `_private` hooks.

    Args:
      base_cls: the class whose public members are protected.
      instance: the object being constructed.
      allowlist: public members subclasses may override.
      denylist: if given, only these members are protected.

    Raises:
      ValueError: a member is overridden, or both lists are given (one says
        what is free, the other what is protected: together they contradict).
    """
    if allowlist and denylist:
        raise ValueError(
            "assert_members_are_not_overridden takes an allowlist or a denylist, not "
            f"both; got allowlist={tuple(allowlist)}, denylist={tuple(denylist)}."
        )
    if denylist:
        protected = list(denylist)
    else:
        protected = [m for m in _public_members(base_cls) if m not in allowlist]
    instance_type = type(instance)
    overridden = [
        name
        for name in protected
        if inspect.getattr_static(instance_type, name, None)
        is not inspect.getattr_static(base_cls, name, None)
    ]
    if overridden:
        raise ValueError(
            f"{instance_type.__name__} overrides public members of {base_cls.__name__}, which "
            f"subclasses must not redefine: {', '.join(sorted(overridden))}. Override the "
            "corresponding _private hooks instead."
        )


def safe_has_state(state: Any) -> bool:
    """True unless `state` is None or an empty tuple/list (policy without state)."""
    return not (state is None or (isinstance(state, (tuple, list)) and len(state) == 0))
