"""Errors policylib raises that have no TF-Agents counterpart."""

from __future__ import annotations

__all__ = ["NotAPolicyError", "UnknownEnvironmentError", "UnsafeSavedModelError"]


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
