"""Optional XLA compilation: compile a function only when graphs are built and XLA works.

Eager calls run the function as it is (XLA would only add compile time there);
inside a `tf.function` the call is wrapped in `tf.function(jit_compile=True)`,
provided XLA can compile for the device in scope. Whether it can is probed
once per device and remembered.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import tensorflow as tf

__all__ = [
    "compile_in_graph_mode",
    "compile_method_in_graph_mode",
    "is_xla_available",
]

_F = TypeVar("_F", bound=Callable[..., Any])

# Device string -> whether XLA compiled and ran a trivial program there.
_XLA_AVAILABLE: dict[str, bool] = {}


def _device_in_scope() -> str:
    """The device a new op would get here (as requested, or as placed eagerly)."""
    with tf.name_scope("is_xla_available"):
        return tf.constant(0.0).device


def _xla_runs_on(device: str) -> bool:
    """Compiles and runs a tiny program with XLA on `device`, in a private graph.

    A private graph and session work whether the caller is eager, inside a
    `tf.function` or in a TF1 graph. Soft placement is off, so a device that
    XLA cannot target fails instead of silently running elsewhere.
    """
    try:
        with tf.init_scope():
            graph = tf.Graph()
            with graph.as_default(), tf.device(device):
                probe = tf.function(
                    lambda: tf.constant(1.0) + 1.0, jit_compile=True, autograph=False
                )
                result = probe()
            config = tf.compat.v1.ConfigProto(allow_soft_placement=False)
            with tf.compat.v1.Session(graph=graph, config=config) as session:
                session.run(result)
    except (ValueError, tf.errors.OpError):
        return False
    return True


def is_xla_available() -> bool:
    """Whether XLA can compile for the device in the current device scope."""
    device = _device_in_scope()
    if device not in _XLA_AVAILABLE:
        _XLA_AVAILABLE[device] = _xla_runs_on(device)
    return _XLA_AVAILABLE[device]


def _as_tensors(value: Any, what: str, fn: Callable[..., Any]) -> Any:
    """Converts every leaf of `value` to a tensor, naming `what` on failure."""
    try:
        return tf.nest.map_structure(tf.convert_to_tensor, value)
    except (TypeError, ValueError) as err:
        name = getattr(fn, "__qualname__", repr(fn))
        raise type(err)(
            f"{name} is XLA-compiled, so {what} must be (nests of) values "
            f"convertible to tensors (None is not); got {value!r}: {err}"
        ) from err


def _call_maybe_compiled(
    fn: Callable[..., Any], bound: tuple[Any, ...], args: tuple, kwargs: dict
) -> Any:
    """Calls `fn(*bound, *args, **kwargs)`, XLA-compiled when building a graph.

    `bound` (a method's `self`) is passed through untouched; `args` and
    `kwargs` become tensors either way, so both paths see the same inputs.
    """
    args = _as_tensors(args, "its positional arguments", fn)
    kwargs = _as_tensors(kwargs, "its keyword arguments", fn)
    if tf.executing_eagerly() or not is_xla_available():
        return fn(*bound, *args, **kwargs)

    @tf.function(jit_compile=True)
    def compiled(*inner_args: Any, **inner_kwargs: Any) -> Any:
        return fn(*bound, *inner_args, **inner_kwargs)

    return compiled(*args, **kwargs)


def compile_in_graph_mode(fn: _F) -> _F:
    """Decorates `fn` to run XLA-compiled when called while a graph is built.

    Eagerly, or where XLA is unavailable for the device in scope, `fn` runs
    as it is. Its arguments (positional and keyword, possibly nested) are
    converted to tensors first, so `None` is not accepted.

        @tf.function
        @compile_in_graph_mode
        def step(x, y):
            return {"sum": x + y, "product": x * y}

    Args:
      fn: a callable taking (nests of) tensors.

    Returns:
      A callable with the signature of `fn`.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return _call_maybe_compiled(fn, (), args, kwargs)

    return cast(_F, wrapper)


def compile_method_in_graph_mode(method: _F) -> _F:
    """`compile_in_graph_mode` for methods: `self` is passed on, not converted.

    Args:
      method: a method taking (nests of) tensors after `self`.

    Returns:
      A method with the signature of `method`.
    """

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _call_maybe_compiled(method, (self,), args, kwargs)

    return cast(_F, wrapper)
