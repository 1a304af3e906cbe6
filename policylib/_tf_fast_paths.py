"""Faster paths through four per-call hot spots of TensorFlow's Python code.

Each replaces TensorFlow code that gives the same answer every call but
recomputes it at a cost that shows in an RL loop, where the calls come once per
environment step or per sampled batch (measured on TF 2.21, Python 3.11, one
CPU; `benchmarks/vs_sb3.py`):

- `protocol_checks`: `isinstance(x, P)` against TensorFlow's runtime-checkable
  `typing.Protocol`s (`CustomNestProtocol`, `TensorProtocol`, ...)
  walks every class in P's MRO to collect its members on every call before
  Python 3.12, ~25 µs each. `tf.nest` asks it per node, a `tf.function` call
  per argument: ~90 µs of each `next()` on a replay-buffer dataset, ~50 µs of
  each call of a user's `tf.function(policy.action)`. Here each such protocol
  gets a metaclass that collects the members once and answers the same.
- `numpy_version_checks`: `numpy_compat.np_asarray` parses `np.__version__`
  (`np.lib.NumpyVersion`) on every call, ~5.5 µs; `tf.numpy_function` calls it
  for each output, so a `TFPyEnvironment` step (four outputs) paid ~22 µs.
  Here the version is read once.
- `dataset_element_packing`: `next()` on a `tf.data` iterator rebuilds the
  element from its flat tensors through the generic nest code and
  `TensorSpec.set_shape` per leaf, ~150 µs for a TF-Agents `(Trajectory,
  BufferInfo)` element. Here an iterator whose element is a nest of plain
  tensor specs in tuples, namedtuples and dicts gets a packer built once from
  its element spec; any other element takes TensorFlow's path.

- `tf_function_calls`: each eager call of a `tf.function` rebuilds its
  arguments' trace types and hashes the whole function type to find the
  concrete function, ~150-300 us; here a plain `tf.function` called again with
  tensors like an earlier call's reuses that call's concrete function
  (`policylib.utils.tracing.remembered_call`).

Each applies as its TensorFlow module is imported
(`policylib.base.import_hooks`), so importing policylib imports no TensorFlow.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from policylib.base import import_hooks

__all__ = [
    "dataset_element_packing",
    "numpy_version_checks",
    "protocol_checks",
    "tf_function_calls",
]

# Module -> the runtime-checkable `typing.Protocol`s TensorFlow defines there
# (`trace.SupportsTracingProtocol` is typing_extensions', which caches already).
_PROTOCOLS = {
    "tensorflow.python.util.custom_nest_protocol": ("CustomNestProtocol",),
    "tensorflow.python.types.core": ("TensorProtocol",),
    "tensorflow.python.framework.composite_tensor_gradient": (
        "CompositeTensorGradientProtocol",
    ),
    "tensorflow.python.framework.tensor_util": ("IsTensorLike",),
}


# ----------------------------------------------------------------- protocols


def _protocol_meta() -> type | None:
    """A `typing._ProtocolMeta` whose instance check reads members collected once.

    None where the running Python already collects them once (3.12+) or lacks
    the helpers this mirrors.
    """
    if sys.version_info >= (3, 12):
        return None
    get_attrs: Any = getattr(typing, "_get_protocol_attrs", None)
    callable_only: Any = getattr(typing, "_is_callable_members_only", None)
    if get_attrs is None or callable_only is None:
        return None
    base: Any = type(typing.Protocol)
    # Protocol class -> (members, whether all are methods, which are methods).
    members: dict[type, tuple[tuple[str, ...], bool, tuple[bool, ...]]] = {}

    class _OnceProtocolMeta(base):
        """Answers `isinstance` as `typing._ProtocolMeta` of Python 3.10/3.11 does."""

        def __instancecheck__(cls, instance: object) -> bool:
            known = members.get(cls)
            if known is None:
                names = tuple(get_attrs(cls))
                known = (
                    names,
                    callable_only(cls),
                    tuple(callable(getattr(cls, n, None)) for n in names),
                )
                members[cls] = known
            names, only_methods, is_method = known
            if only_methods and issubclass(type(instance), cls):
                return True
            for name, method in zip(names, is_method):
                if not hasattr(instance, name):
                    break
                if method and getattr(instance, name) is None:
                    break  # a method set to None opts out
            else:
                return True
            # ABCMeta's check: registered virtual subclasses, cached per type.
            return base.__mro__[1].__instancecheck__(cls, instance)

    return _OnceProtocolMeta


def protocol_checks() -> None:
    """Gives TensorFlow's runtime protocols a once-collected instance check."""
    meta = _protocol_meta()
    if meta is None:
        return

    def mend(module: ModuleType) -> None:
        for name in _PROTOCOLS[module.__name__]:
            protocol = getattr(module, name, None)
            if isinstance(protocol, type) and type(protocol) is type(typing.Protocol):
                protocol.__class__ = meta  # type: ignore[method-assign]

    for module_name in _PROTOCOLS:
        import_hooks.after_import(module_name, mend)


# ------------------------------------------------------------- numpy version


def numpy_version_checks() -> None:
    """Reads the NumPy version once for `numpy_compat.np_asarray`."""
    import_hooks.after_import("tensorflow.python.util.numpy_compat", _mend_np_asarray)


def _mend_np_asarray(module: ModuleType) -> None:
    import numpy as np

    original = getattr(module, "np_asarray", None)
    if original is None or getattr(original, "_policylib_once", False):
        return
    if np.lib.NumpyVersion(np.__version__) < "2.0.0.dev0":
        return  # NumPy 1's branch makes no copy argument; keep TensorFlow's

    def np_asarray(
        values: Any, dtype: Any = None, order: Any = None, copy: bool | None = None
    ) -> np.ndarray:
        # TensorFlow's NumPy 2 branch, the version test made once.
        if dtype is not None and np.issubdtype(dtype, np.number):
            array = np.asarray(values, order=order, copy=copy)
            return array.astype(dtype, copy=copy)  # type: ignore[arg-type]
        return np.asarray(values, dtype=dtype, order=order, copy=copy)

    np_asarray.__doc__ = original.__doc__
    np_asarray.__wrapped__ = original  # type: ignore[attr-defined]
    np_asarray._policylib_once = True  # type: ignore[attr-defined]
    module.np_asarray = np_asarray  # type: ignore[attr-defined]


# ---------------------------------------------------------- dataset elements

Packer = Callable[[Sequence[Any]], Any]


def dataset_element_packing() -> None:
    """Builds each eager `tf.data` iterator's element packer once."""
    import_hooks.after_import(
        "tensorflow.python.data.ops.iterator_ops", _mend_owned_iterator
    )


def element_packer(element_spec: Any) -> Packer | None:
    """A function from an iterator's flat tensors to its element, or None.

    Only for nests of plain `tf.TensorSpec`s (bounded ones too) in tuples,
    namedtuples and dicts, which `tf.data` rebuilds by position (dicts in
    sorted-key order) and whose leaves need no decoding; anything else (lists,
    composite or custom specs, attrs classes) gets None and TensorFlow's path.
    """
    import tensorflow as tf

    decode = tf.TensorSpec._from_compatible_tensor_list
    index = 0

    def build(node: Any) -> Packer | None:
        nonlocal index
        if isinstance(node, tf.TypeSpec):
            if type(node)._from_compatible_tensor_list is not decode:
                return None
            position = index
            index += 1
            return lambda flat: flat[position]
        kind = type(node)
        if kind is tuple or (isinstance(node, tuple) and hasattr(node, "_fields")):
            children = [build(child) for child in node]
            if any(c is None for c in children):
                return None
            parts: list[Packer] = children  # type: ignore[assignment]
            if kind is tuple:
                return lambda flat: tuple([p(flat) for p in parts])
            return lambda flat: kind(*[p(flat) for p in parts])
        if kind is dict:
            try:
                keys = sorted(node)  # tf.data's flattening order
            except TypeError:
                return None
            by_key = {key: build(node[key]) for key in keys}
            if any(c is None for c in by_key.values()):
                return None
            order = list(node)  # the rebuilt dict keeps the spec's key order
            return lambda flat: {key: by_key[key](flat) for key in order}  # type: ignore[misc]
        return None

    packer = build(element_spec)
    if packer is None or index != len(tf.nest.flatten(element_spec)):
        return None
    return packer


def _mend_owned_iterator(module: ModuleType) -> None:
    from tensorflow.python.eager import context
    from tensorflow.python.ops import gen_dataset_ops

    owned = module.OwnedIterator
    original = owned._next_internal
    if getattr(original, "_policylib_packer", False):
        return
    unset = object()

    def _next_internal(self: Any) -> Any:
        packer = self.__dict__.get("_policylib_packer", unset)
        if packer is unset:
            packer = element_packer(self._element_spec)
            self.__dict__["_policylib_packer"] = packer
        if packer is None or not context.executing_eagerly():
            return original(self)
        # TensorFlow's eager branch; the op checks the shapes against the spec's.
        with context.execution_mode(context.SYNC):
            flat = gen_dataset_ops.iterator_get_next(
                self._iterator_resource,
                output_types=self._flat_output_types,
                output_shapes=self._flat_output_shapes,
            )
            return packer(flat)

    _next_internal.__doc__ = original.__doc__
    _next_internal.__wrapped__ = original  # type: ignore[attr-defined]
    _next_internal._policylib_packer = True  # type: ignore[attr-defined]
    owned._next_internal = _next_internal


# ------------------------------------------------------------ tf.function calls


def tf_function_calls() -> None:
    """Makes plain `tf.function` objects reuse an earlier eager call's concrete function."""
    # Once TensorFlow is wholly imported: the call path lives in policylib.utils,
    # which imports TensorFlow.
    import_hooks.after_import("tensorflow", _mend_function_call)


def _mend_function_call(_: ModuleType) -> None:
    from tensorflow.python.eager.polymorphic_function import polymorphic_function

    from policylib.utils import tracing

    function = polymorphic_function.Function
    original = function.__call__
    if getattr(original, "_policylib_remembered", False):
        return

    def __call__(self: Any, *args: Any, **kwargs: Any) -> Any:
        if type(self) is not function:
            # Subclasses (a SavedModel's restored functions, ...) keep their path.
            return original(self, *args, **kwargs)
        return tracing.remembered_call(self, args, kwargs, original)

    __call__.__doc__ = original.__doc__
    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    __call__._policylib_remembered = True  # type: ignore[attr-defined]
    function.__call__ = __call__
