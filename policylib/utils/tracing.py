"""How policylib traces: `function`, and the TF1 graph-mode checks.

`function` is `tf.function` with autograph off and `reduce_retracing` on, the
defaults every policylib trace uses. The TF1 helpers let TF-Agents-era code
that disabled eager mode keep working where that is possible.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf

__all__ = [
    "check_tf1_allowed",
    "function",
    "function_in_tf1",
    "has_eager_been_enabled",
    "in_legacy_tf1",
    "resource_variables_enabled",
    "set_default_tf_function_parameters",
]


def function(*args: Any, **kwargs: Any) -> Any:
    """`tf.function` with autograph off and `reduce_retracing` on by default."""
    kwargs.setdefault("autograph", False)
    kwargs.setdefault("reduce_retracing", True)
    return tf.function(*args, **kwargs)


def has_eager_been_enabled() -> bool:
    """True when TF2 behaviour (eager by default) is on."""
    return tf.compat.v1.executing_eagerly_outside_functions()


def in_legacy_tf1() -> bool:
    """True inside a TF1 graph (eager disabled), outside any `tf.function`."""
    return (
        not tf.executing_eagerly()
        and not tf.compat.v1.executing_eagerly_outside_functions()
    )


def function_in_tf1(*args: Any, **kwargs: Any) -> Callable:
    """Wraps a method in `common.function` only in TF1 graph mode.

    In TF2 the method runs as written (eagerly, or traced by the caller's own
    `tf.function`), which keeps eager debugging possible.
    """
    return _traced_when(in_legacy_tf1, args, kwargs)


def check_tf1_allowed() -> None:
    """Raises if TF2 behaviour has been disabled: policylib needs TF2 semantics."""
    if not tf.__internal__.tf2.enabled():
        raise RuntimeError(
            "policylib needs TF2 behaviour; tf.compat.v1.disable_v2_behavior() was called."
        )


def resource_variables_enabled() -> bool:
    return tf.compat.v1.resource_variables_enabled()


def set_default_tf_function_parameters(*args: Any, **kwargs: Any) -> Callable:
    """Decorator: in graph mode, wraps the function in `common.function(*args, **kwargs)`.

    Eagerly the function runs as is, so callers decide about tracing.
    """
    return _traced_when(lambda: not tf.executing_eagerly(), args, kwargs)


def _traced_when(condition: Callable[[], bool], args: tuple, kwargs: dict) -> Callable:
    """A decorator: calls go through `function(fn, *args, **kwargs)` while `condition()`.

    The traced function is made on the first such call and kept; otherwise
    `fn` runs as is.
    """

    def decorator(fn: Callable) -> Callable:
        traced: list[Any] = []

        @functools.wraps(fn)
        def wrapper(*fn_args: Any, **fn_kwargs: Any) -> Any:
            if not condition():
                return fn(*fn_args, **fn_kwargs)
            if not traced:
                traced.append(function(fn, *args, **kwargs))
            return traced[0](*fn_args, **fn_kwargs)

        return wrapper

    return decorator
