"""`PolicyStep`: what a policy returns, and helpers for its `info` field.

`PolicyStep(action, state, info)` holds the action (or a distribution over
actions), the next policy state and side information such as the action's log
probability. Type name and field order match TF-Agents for SavedModel interop.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any, NamedTuple

from policylib.typing import types

__all__ = [
    "ActionType",
    "CommonFields",
    "PolicyInfo",
    "PolicyStep",
    "get_log_probability",
    "set_log_probability",
]

ActionType = Any  # an array, a tensor or a distribution


class PolicyStep(NamedTuple):
    """`(action, state, info)` returned by `action()` and `distribution()`."""

    action: Any = ()
    state: Any = ()
    info: types.Nested = ()

    def replace(self, **kwargs: Any) -> PolicyStep:
        """A copy with the given fields replaced."""
        return self._replace(**kwargs)


class CommonFields:
    """Well-known keys of `PolicyStep.info`."""

    LOG_PROBABILITY = "log_probability"


class PolicyInfo(NamedTuple):
    """The info of policies that emit log-probabilities (`CommonFields`)."""

    log_probability: Any


def set_log_probability(info: Any, log_probability: types.NestedTensorOrArray) -> Any:
    """Stores `log_probability` in `info`.

    Empty info becomes a `PolicyInfo`; a dict is updated in place and returned;
    a namedtuple with that field is copied with it replaced; anything else is
    returned unchanged.
    """
    if info is None or (type(info) is tuple and not info):
        return PolicyInfo(log_probability=log_probability)
    if isinstance(info, MutableMapping):
        info[CommonFields.LOG_PROBABILITY] = log_probability
        return info
    if hasattr(info, "_fields") and CommonFields.LOG_PROBABILITY in info._fields:
        return info._replace(**{CommonFields.LOG_PROBABILITY: log_probability})
    return info


def get_log_probability(
    info: types.Nested, default_log_probability: types.NestedTensorOrArray = None
) -> Any:
    """The log probability stored in `info`, or the default when it has none.

    Only dicts and namedtuples can hold one; for anything else the result is
    None, as in TF-Agents.
    """
    if isinstance(info, Mapping):
        return info.get(CommonFields.LOG_PROBABILITY, default_log_probability)
    if hasattr(info, "_fields"):
        return getattr(info, CommonFields.LOG_PROBABILITY, default_log_probability)
    return None
