"""Checks of constructor and call arguments that name the argument on failure.

Public entry points call these before an argument reaches NumPy or
TensorFlow, whose own errors (`'<' not supported between 'str' and 'int'`,
`'object' has no attribute 'batched'`) do not say which argument was wrong.
Each raises TypeError for a value of the wrong kind and ValueError for one
out of range, as TF-Agents' own checks do.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

__all__ = ["check_callables", "check_int", "check_kind", "check_path"]


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int = 1,
    allow_none: bool = False,
    owner: str = "",
) -> int | None:
    """`value` as an int, if it is a whole number of at least `minimum`.

    Args:
      value: the argument.
      name: its name, for the message.
      minimum: the smallest value allowed (1: positive, 0: non-negative).
      allow_none: None passes through (an optional limit).
      owner: the class or function taking it, for the message.

    Raises:
      TypeError: `value` is not an int (a bool, float or string is refused).
      ValueError: `value` is below `minimum`.
    """
    prefix = f"{owner}: " if owner else ""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{prefix}{name} must be an int, got {value!r:.100}.")
    if int(value) < minimum:
        bound = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{prefix}{name} must be {bound}, got {int(value)}.")
    return int(value)


def check_kind(
    value: Any, kinds: type | tuple[type, ...], name: str, hint: str = ""
) -> None:
    """Raises TypeError unless `value` is an instance of `kinds`.

    Args:
      value: the argument.
      kinds: the accepted class or classes.
      name: how the message names the argument, e.g. `"PyDriver: env"`.
      hint: an optional sentence on what to pass instead.
    """
    if isinstance(value, kinds):
        return
    expected = " or ".join(
        k.__name__ for k in (kinds if isinstance(kinds, tuple) else (kinds,))
    )
    message = (
        f"{name} must be a {expected}, got {type(value).__name__}: {value!r:.100}."
    )
    raise TypeError(f"{message} {hint}" if hint else message)


def check_callables(values: Iterable[Any] | None, name: str) -> list:
    """`values` as a list, if every item is callable (None: empty).

    Raises:
      TypeError: `values` is not a sequence, or an item is not callable; the
        message gives the item's index.
    """
    if values is None:
        return []
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a list of callables, got {values!r:.100}.")
    values = list(values)
    for index, value in enumerate(values):
        if not callable(value):
            raise TypeError(
                f"{name}[{index}] is not callable: {type(value).__name__} {value!r:.100}."
            )
    return values


def check_path(value: Any, what: str) -> str:
    """`value` as a str path, if it is a str or `os.PathLike`.

    Raises:
      TypeError: `value` is not a path (e.g. None); the message says `what`.
    """
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(f"{what} must be a str or os.PathLike, got {value!r:.100}.")
    return os.fspath(value)
