"""Errors of `policylib.reverb`, named as Reverb names them."""

from __future__ import annotations

__all__ = [
    "CancelledError",
    "DeadlineExceededError",
    "NotFoundError",
    "UnavailableError",
    "ReverbError",
]


class ReverbError(Exception):
    """Base class of every error `policylib.reverb` raises itself."""


class DeadlineExceededError(ReverbError):
    """A call did not complete within its timeout (e.g. blocked by a rate limiter)."""


class CancelledError(ReverbError):
    """A blocked call was abandoned because its table or server was closed."""


class NotFoundError(ReverbError, ValueError):
    """A table (or server) that is not there; the message names those that are."""


class UnavailableError(ReverbError, ConnectionError):
    """No Reverb server answers at an address (the message names it)."""
