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
from tensorflow.python.eager import context as _context
from tensorflow.python.eager.polymorphic_function import (
    eager_function_run as _eager_function_run,
)
from tensorflow.python.eager.polymorphic_function import (
    function_context as _function_context,
)
from tensorflow.python.eager.polymorphic_function import (
    function_type_utils as _function_type_utils,
)
from tensorflow.python.eager.polymorphic_function import (
    polymorphic_function as _polymorphic,
)
from tensorflow.python.framework.ops import EagerTensor as _EagerTensor
from tensorflow.python.util import nest as _nest

__all__ = [
    "check_tf1_allowed",
    "function",
    "function_in_tf1",
    "has_eager_been_enabled",
    "in_legacy_tf1",
    "remembered_call",
    "resource_variables_enabled",
    "set_default_tf_function_parameters",
]


def function(*args: Any, **kwargs: Any) -> Any:
    """`tf.function` with autograph off and `reduce_retracing` on by default.

    The result is a `tf.function` whose repeated eager calls with tensors of
    the same dtypes and shapes skip TensorFlow's per-call argument
    canonicalisation (`remembered_call`).
    """
    kwargs.setdefault("autograph", False)
    kwargs.setdefault("reduce_retracing", True)
    traced = tf.function(*args, **kwargs)
    if isinstance(traced, _polymorphic.Function):
        return _fast_calls(traced)
    return lambda fn: _fast_calls(traced(fn))  # used as `@function(...)`


class _FastCallFunction(_polymorphic.Function):
    """A `tf.function` whose repeated eager calls skip re-dispatch (`remembered_call`).

    What `common.function` returns; policylib's patch inventory gives every
    plain `tf.function` the same path (`policylib._tf_fast_paths`), unless the
    user opted out of the inventory, where this class still serves policylib's
    own functions.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return remembered_call(self, args, kwargs, _polymorphic.Function.__call__)


def remembered_call(
    fn: _polymorphic.Function,
    args: tuple,
    kwargs: dict,
    dispatch: Callable[..., Any],
) -> Any:
    """Calls `fn(*args, **kwargs)`, reusing the concrete function an earlier call ran.

    Why: every call of a `tf.function` rebuilds the trace type of each argument
    and looks the concrete function up again; on TF 2.21 that costs ~150-300 us
    a call (trace types, hashing, `inspect` binding), more than a whole
    CartPole step. A collect driver called once per env step or
    `train(experience)` once per gradient step pays it every time. Here an
    eager call whose arguments are tensors (or None) of the dtypes, shapes and
    structure of an earlier call, in the same function context, calls that
    call's concrete function directly, as TF itself does once it has found it
    (`function_type.bind`, `unpack_inputs`, `_call_flat`). Anything else (Python
    values, variables, calls inside a graph, `run_functions_eagerly`, another
    device or strategy context) goes through `dispatch(fn, *args, **kwargs)`,
    `tf.function`'s own path, which also does every tracing, so tracing counts
    and retracing are TensorFlow's.
    """
    if not _context.executing_eagerly() or _eager_function_run.functions_run_eagerly():
        return dispatch(fn, *args, **kwargs)
    key, tensors = _call_key(args, kwargs)
    if key is None:
        return dispatch(fn, *args, **kwargs)
    known = fn.__dict__.setdefault("_policylib_calls", {})
    context = _function_context.make_function_context()
    entry = known.get(key)
    if entry is not None and entry[0] == context:
        _, structure, concrete, direct = entry
        if _same_structure((args, kwargs), structure):
            inputs = tensors if direct else _bound(fn, concrete, args, kwargs)
            return concrete._call_flat(  # noqa: SLF001
                inputs, captured_inputs=concrete.captured_inputs
            )
    result = dispatch(fn, *args, **kwargs)
    if len(known) < _MAX_REMEMBERED_CALLS:
        structure = _nest.map_structure(lambda _: None, (args, kwargs))
        concrete = fn.get_concrete_function(*args, **kwargs)
        # Whether the concrete function's inputs are simply the call's tensors
        # in flattening order (no tensor defaults, keywords in parameter order):
        # then later alike calls skip binding.
        bound = _bound(fn, concrete, args, kwargs)
        direct = len(bound) == len(tensors) and all(
            a is b for a, b in zip(bound, tensors)
        )
        known[key] = (context, structure, concrete, direct)
    return result


def _bound(fn: _polymorphic.Function, concrete: Any, args: tuple, kwargs: dict) -> list:
    """The concrete function's flat inputs for the call, as TF finds them.

    As TF's `tracing_compilation.call_function` once it has the concrete
    function: defaults filled in, bound to its signature, flattened.
    """
    full = _function_type_utils.bind_function_inputs(
        args,
        kwargs,
        fn._function_type,
        fn._default_values,  # noqa: SLF001
    )
    signature = concrete.function_type
    return list(signature.unpack_inputs(signature.bind(*full.args, **full.kwargs)))


_MAX_REMEMBERED_CALLS = 16


def _fast_calls(traced: _polymorphic.Function) -> _polymorphic.Function:
    """`traced`, made a `_FastCallFunction` (it adds no state of its own).

    Not needed where every plain `tf.function` already calls this way (the
    patch inventory's `tf_function_remembered_calls`).
    """
    if getattr(_polymorphic.Function.__call__, "_policylib_remembered", False):
        return traced
    traced.__class__ = _FastCallFunction
    return traced


def _call_key(args: tuple, kwargs: dict) -> tuple[tuple | None, list]:
    """Dtypes and shapes of the call's leaves, and its tensors in flattening order.

    The key is None unless every leaf is an eager tensor or None.
    """
    key: list = [len(args), tuple(kwargs)]
    tensors = []
    for leaf in _nest.flatten((args, kwargs)):
        if leaf is None:
            key.append(None)
        elif type(leaf) is _EagerTensor:
            key.append((leaf._datatype_enum(), leaf._shape_tuple()))  # noqa: SLF001
            tensors.append(leaf)
        else:
            return None, tensors
    return tuple(key), tensors


def _same_structure(value: Any, structure: Any) -> bool:
    try:
        _nest.assert_same_structure(value, structure, check_types=True)
    except (TypeError, ValueError):
        return False
    return True


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
