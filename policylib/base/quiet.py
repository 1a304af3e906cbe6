"""Keeps TensorFlow's routine notices out of a policy save or load.

Every policy SavedModel makes TensorFlow print notices that say nothing a
user can act on:

- absl ``WARNING: `0/step_type` is not a valid tf.function parameter name.
  Sanitizing to `arg_0_step_type`.`` The signature inputs are keyed by nest
  path (TF-Agents' format, which readers rely on); TensorFlow renames only the
  Python parameters behind them and keeps the keys.
- ``UserWarning: Encoding a StructuredValue with type
  tfp.distributions.Categorical_ACTTypeSpec; loading this StructuredValue will
  require that this type be imported and registered.`` Every reader of a
  policy save imports TensorFlow Probability (and policylib registers its own
  distributions), so this always holds.
- ``INFO:tensorflow:Assets written to: <dir>/assets`` (where TensorFlow logs
  at INFO level, as in notebooks).

`saved_model_io` (a decorator) drops exactly these while the calling thread
saves or loads, so a training loop that saves every
N steps prints nothing unless something is wrong. Every other message passes.

The filters are a change to TensorFlow's logging and warnings, so
`policylib._tf_patches` installs them (`install`) at `import policylib`;
with `POLICYLIB_NO_TF_PATCHES=1` nothing is filtered.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

__all__ = ["install", "saved_model_io"]

# Logger name -> a substring of the routine message it logs.
_ROUTINE = {
    "absl": "is not a valid tf.function parameter name. Sanitizing to",
    "tensorflow": "Assets written to",
}
# TFP auto-composite distributions (and policylib's, registered under
# TF-Agents' names) all have type-spec names ending in `_ACTTypeSpec`.
_ENCODING = r"Encoding a StructuredValue with type [\w.]+_ACTTypeSpec;"
_ENCODING_MODULE = r"tensorflow\.python\.saved_model\.nested_structure_coder"

_state = threading.local()
_installed = threading.Lock()
_filters: list[logging.Filter] = []

F = TypeVar("F", bound=Callable[..., Any])


class _DropRoutineNotice(logging.Filter):
    """Drops one logger's routine notice while this thread saves or loads."""

    def __init__(self, substring: str):
        super().__init__()
        self._substring = substring

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(_state, "depth", 0):
            return True
        return self._substring not in str(record.msg)


def install() -> None:
    """Adds the logging filters, and the warning filter on each save (idempotent).

    The logging filters stay on their loggers and act only while a thread
    saves or loads.
    """
    with _installed:
        if not _filters:
            for name, substring in _ROUTINE.items():
                _filters.append(_DropRoutineNotice(substring))
                logging.getLogger(name).addFilter(_filters[-1])


def _ignore_encoding_warning() -> None:
    # Added (again) on each save: a `warnings.catch_warnings` block, as test
    # runners use, throws away filters added inside it. Narrow by message
    # and module, so no other warning is touched.
    if _filters:
        warnings.filterwarnings(
            "ignore", message=_ENCODING, category=UserWarning, module=_ENCODING_MODULE
        )


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    _ignore_encoding_warning()
    _state.depth = getattr(_state, "depth", 0) + 1
    try:
        yield
    finally:
        _state.depth -= 1


def saved_model_io(fn: F) -> F:
    """Decorates a function that saves or loads a policy SavedModel (see module doc)."""

    @functools.wraps(fn)
    def quiet(*args: Any, **kwargs: Any) -> Any:
        with _quiet():
            return fn(*args, **kwargs)

    return quiet  # type: ignore[return-value]
