"""Errors policylib raises that have no TF-Agents counterpart."""

from __future__ import annotations

__all__ = [
    "NotAPolicyError",
    "UnknownEnvironmentError",
    "UnsafeSavedModelError",
    "WorkerDiedWarning",
    "WorkerError",
]


class NotAPolicyError(ValueError):
    """A path that should hold a saved policy does not hold one.

    The message names the path and what is wrong with it (missing, not a
    SavedModel, a SavedModel without the policy's specs, unreadable).
    """


class UnknownEnvironmentError(ValueError):
    """An environment id that the environment suite does not know."""


class UnsafeSavedModelError(ValueError):
    """A saved policy whose graph reaches outside itself (files, Python callbacks).

    The message names the path, the ops and the functions that hold them, and
    how to load it anyway (`allow_unsafe_ops=`), for a model you trust.
    """


class WorkerError(RuntimeError):
    """A worker process or Ray actor failed, so results would be incomplete.

    Raised when a worker's own code raised (the message names the worker and
    ends with its traceback), or when a worker died and the new worker that
    re-ran its episodes died too. Never a silent partial result.
    """


class WorkerDiedWarning(RuntimeWarning):
    """A worker died and its episodes were re-run on a new one (results complete)."""
