"""TensorFlow on demand, for the modules a TensorFlow-free process runs.

The NumPy side of policylib (array specs, time steps, py policies and
environments, py drivers and metrics, `LiteRTPolicy`) imports and runs
without TensorFlow; TensorFlow is imported only where a tensor is made.

    from policylib.base.lazy_tf import nest, tf

    nest.flatten(time_step)      # tf.nest if TensorFlow is loaded, else dm-tree
    tf.zeros([3])                # imports TensorFlow on first use
    is_tensor(x)                 # False without importing TensorFlow

A value can only be a tensor once TensorFlow is imported, so `nest` follows
`tf.nest` exactly whenever tensors may be about and uses dm-tree (the same
flattening order for lists, tuples, namedtuples, dicts and attrs classes)
otherwise.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import tree

from policylib.base import import_hooks

__all__ = [
    "Module",
    "PythonState",
    "is_loaded",
    "is_tensor",
    "make_trackable",
    "nest",
    "tf",
]


def is_loaded() -> bool:
    """Whether TensorFlow has been imported in this process."""
    return "tensorflow" in sys.modules


# Never tensors; answered without `tf.is_tensor`, whose protocol check costs
# microseconds on every NumPy value of every environment step.
_PLAIN = (np.ndarray, np.generic, int, float, str, bytes, tuple, list, dict, type(None))


def is_tensor(value: Any) -> bool:
    """`tf.is_tensor(value)`, without importing TensorFlow to answer False."""
    if isinstance(value, _PLAIN):
        return False
    module = sys.modules.get("tensorflow")
    return module is not None and module.is_tensor(value)


class _LazyModule(types.ModuleType):
    """A module that imports `name` on first attribute access."""

    def __init__(self, name: str):
        super().__init__(name)
        self._module: types.ModuleType | None = None

    # Names that introspection (inspect, doctest, pickling) probes on any
    # object; answering them must not import TensorFlow.
    _PROBED = frozenset(
        {
            "__wrapped__",
            "__path__",
            "__file__",
            "__all__",
            "__getstate__",
            "__reduce_ex__",
        }
    )

    def __getattr__(self, attr: str) -> Any:
        if attr in self._PROBED:
            raise AttributeError(attr)
        if self._module is None:
            self._module = importlib.import_module(self.__name__)
        return getattr(self._module, attr)


tf: Any = _LazyModule("tensorflow")


def _tf_nest() -> Any:
    module = sys.modules.get("tensorflow")
    return None if module is None else module.nest


def _tf_path_nest() -> Any:
    """TensorFlow's own path-aware nest module (the public `tf.nest` has no
    path variants), or None without TensorFlow."""
    if "tensorflow" not in sys.modules:
        return None
    from tensorflow.python.util import nest as tf_path_nest

    return tf_path_nest


def _joined(path: tuple) -> str:
    return "/".join(str(p) for p in path)


class _Nest:
    """`tf.nest`'s functions, served by dm-tree while TensorFlow is not loaded."""

    @staticmethod
    def flatten(structure: Any, expand_composites: bool = False) -> list:
        tf_nest = _tf_nest()
        if tf_nest is not None:
            return tf_nest.flatten(structure, expand_composites=expand_composites)
        return tree.flatten(structure)

    @staticmethod
    def map_structure(func: Callable, *structure: Any, **kwargs: Any) -> Any:
        tf_nest = _tf_nest()
        if tf_nest is not None:
            return tf_nest.map_structure(func, *structure, **kwargs)
        kwargs.pop("expand_composites", None)
        if len(structure) == 1 and not kwargs:
            return _map_one(func, structure[0])
        return tree.map_structure(func, *structure, **kwargs)

    @staticmethod
    def pack_sequence_as(
        structure: Any, flat_sequence: Any, expand_composites: bool = False
    ) -> Any:
        tf_nest = _tf_nest()
        if tf_nest is not None:
            return tf_nest.pack_sequence_as(
                structure, flat_sequence, expand_composites=expand_composites
            )
        return tree.unflatten_as(structure, list(flat_sequence))

    @staticmethod
    def assert_same_structure(
        nest1: Any,
        nest2: Any,
        check_types: bool = True,
        expand_composites: bool = False,
    ) -> None:
        tf_nest = _tf_nest()
        if tf_nest is not None:
            tf_nest.assert_same_structure(
                nest1,
                nest2,
                check_types=check_types,
                expand_composites=expand_composites,
            )
        else:
            tree.assert_same_structure(nest1, nest2, check_types=check_types)

    @staticmethod
    def assert_shallow_structure(
        shallow: Any,
        deep: Any,
        check_types: bool = True,
        expand_composites: bool = False,
    ) -> None:
        tf_nest = _tf_path_nest()
        if tf_nest is not None:
            tf_nest.assert_shallow_structure(
                shallow,
                deep,
                check_types=check_types,
                expand_composites=expand_composites,
            )
        else:
            tree.assert_shallow_structure(shallow, deep, check_types=check_types)

    @staticmethod
    def map_structure_up_to(shallow: Any, func: Callable, *structures: Any) -> Any:
        tf_nest = _tf_path_nest()
        if tf_nest is not None:
            return tf_nest.map_structure_up_to(shallow, func, *structures)
        return tree.map_structure_up_to(shallow, func, *structures)

    @staticmethod
    def flatten_up_to(shallow: Any, deep: Any) -> list:
        tf_nest = _tf_path_nest()
        if tf_nest is not None:
            return tf_nest.flatten_up_to(shallow, deep)
        return tree.flatten_up_to(shallow, deep)

    @staticmethod
    def flatten_with_joined_string_paths(
        structure: Any, expand_composites: bool = False
    ) -> list:
        tf_nest = _tf_path_nest()
        if tf_nest is not None:
            return tf_nest.flatten_with_joined_string_paths(
                structure, expand_composites=expand_composites
            )
        return [(_joined(p), leaf) for p, leaf in tree.flatten_with_path(structure)]

    @staticmethod
    def map_structure_with_paths(func: Callable, *structure: Any, **kwargs: Any) -> Any:
        tf_nest = _tf_path_nest()
        if tf_nest is not None:
            return tf_nest.map_structure_with_paths(func, *structure, **kwargs)
        kwargs.pop("expand_composites", None)
        return tree.map_structure_with_path(
            lambda path, *leaves: func(_joined(path), *leaves), *structure, **kwargs
        )

    @staticmethod
    def is_nested(structure: Any) -> bool:
        tf_nest = _tf_nest()
        if tf_nest is not None:
            return tf_nest.is_nested(structure)
        return tree.is_nested(structure)


def _map_one(func: Callable, structure: Any) -> Any:
    """`tree.map_structure(func, structure)`, with tuples, lists and dicts walked here.

    dm-tree rebuilds every container in Python through its generic path; a
    time step or trajectory (namedtuples of arrays) is mapped several times
    per environment step, so the plain containers are rebuilt directly.
    """
    kind = type(structure)
    if kind is tuple or kind is list:
        return kind(_map_one(func, x) for x in structure)
    if kind is dict:
        return {k: _map_one(func, v) for k, v in structure.items()}
    if isinstance(structure, tuple) and hasattr(kind, "_fields"):
        return kind(*[_map_one(func, x) for x in structure])
    if not tree.is_nested(structure):
        return func(structure)
    return tree.map_structure(func, structure)


nest = _Nest()


_T = TypeVar("_T")


class _Named:
    """What `Module` is until TensorFlow is loaded: a name, as `tf.Module` has."""

    def __init__(self, name: str | None = None):
        self._name = name

    @property
    def name(self) -> str | None:
        return self._name


class _Stateful:
    """What `PythonState` is until TensorFlow is loaded."""


if TYPE_CHECKING:
    # What they are for the type checker: TensorFlow's classes.
    Module: Any
    PythonState: Any
else:

    class Module(_Named):
        """A `tf.Module` once TensorFlow is loaded, whatever was imported first.

        The base of NumPy-side classes that checkpoints hold (py metrics, NumPy
        replay storage). Until TensorFlow is imported it is a plain named
        object, so a TensorFlow-free process never loads TensorFlow for it.
        Its base becomes `tf.Module` (`make_trackable`) when an instance is
        made after TensorFlow was imported, or when that import finishes after
        an instance was made (a one-shot import hook, put in by that
        instance). Then every subclass, defined before or after, is tracked by
        `tf.train.Checkpoint`, and objects made before are adopted (named and
        tracked as if made now): checkpoints do not depend on import order.
        """

        def __new__(cls: type[_T], *args: object, **kwargs: object) -> _T:
            return _made(cls)

    class PythonState(_Stateful):
        """A `tf.train.experimental.PythonState` once TensorFlow is loaded (as `Module`)."""

        def __new__(cls: type[_T], *args: object, **kwargs: object) -> _T:
            return _made(cls)


# Instances made while TensorFlow was not loaded, adopted by `make_trackable`.
_made_before_tf: weakref.WeakSet[object] = weakref.WeakSet()
_trackable: list[bool] = []


def _made(cls: type[_T]) -> _T:
    """A new `cls` instance; makes the bases trackable first if TensorFlow is loaded."""
    instance = object.__new__(cls)
    if not _trackable and not make_trackable():
        _made_before_tf.add(instance)
        # Adopted as soon as TensorFlow is imported, so that
        # `tf.train.Checkpoint` accepts it.
        import_hooks.after_import("tensorflow", _on_tensorflow_import)
    return instance


def _on_tensorflow_import(_: types.ModuleType) -> None:
    make_trackable()


def _tf_ready() -> bool:
    """Whether TensorFlow is imported and done initializing."""
    module = sys.modules.get("tensorflow")
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


def make_trackable() -> bool:
    """Rebases `Module` on `tf.Module` and `PythonState` on TF's, once TF is loaded.

    Runs when an instance is made and when TensorFlow finishes importing
    after one was; idempotent. Returns whether the bases are TensorFlow's now
    (False while TensorFlow is not loaded).
    """
    if _trackable:
        return True
    if not _tf_ready():
        return False
    Module.__bases__ = (tf.Module,)
    PythonState.__bases__ = (tf.train.experimental.PythonState,)
    _trackable.append(True)
    for instance in list(_made_before_tf):
        if isinstance(instance, tf.Module):
            _adopt(instance)
    _made_before_tf.clear()
    return True


def _adopt(module: object) -> None:
    """Gives a `Module` made before TensorFlow loaded what `tf.Module` would have.

    `tf.Module.__init__` names it; each attribute is assigned again, so
    TensorFlow tracks what it holds (a `PythonState`, a list of metrics).
    """
    name = vars(module).pop("_name", None)
    try:
        tf.Module.__init__(module, name)
    except ValueError:  # not a valid module name: keep it as it was
        tf.Module.__init__(module)
        vars(module)["_name"] = name
    for key, value in list(vars(module).items()):
        if key.startswith("_self_") or key in ("_name", "_name_scope"):
            continue
        object.__delattr__(module, key)
        setattr(module, key, value)
