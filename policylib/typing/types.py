"""Type aliases for policylib signatures, under TF-Agents' names.

They document intent (a nest of tensors, a spec nest, a seed) rather than
enforce it: nests are recursive and TensorFlow's types are not all static.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, Union

import numpy as np

from policylib.specs import array_spec as _array_spec

ArraySpec = _array_spec.ArraySpec
BoundedArraySpec = _array_spec.BoundedArraySpec
Array = np.ndarray

Tnest = TypeVar("Tnest")
Trecursive = TypeVar("Trecursive")
Nested = Union[Tnest, Iterable[Any], Mapping[str, Any]]

NestedTensor = Nested
NestedVariable = Nested
NestedArray = Nested
NestedDistribution = Nested
NestedPlaceHolder = Nested
NestedTensorSpec = Nested
NestedBoundedTensorSpec = Nested
NestedArraySpec = Nested
NestedLayer = Nested
NestedNetwork = Nested
NestedSpec = Nested
NestedTensorOrArray = Nested
NestedSpecTensorOrArray = Nested

ShapeSequence = Sequence[int | None]
Splitter = Union[Callable[[NestedTensor], tuple[NestedTensor, NestedTensor]], None]

# The classes these name live in higher layers (trajectories, networks,
# environments), TensorFlow Probability or Keras: type checkers see the
# classes; at run time the names stay loose, so importing this module imports
# none of them (no upward import, no TensorFlow).
if TYPE_CHECKING:
    from tensorflow_probability.python.distributions import Distribution
    from tf_keras.optimizers import Optimizer

    from policylib.environments.py_environment import PyEnvironment as PyEnv
    from policylib.networks.network import Network
    from policylib.trajectories.policy_step import PolicyStep
    from policylib.trajectories.time_step import TimeStep
    from policylib.trajectories.trajectory import Trajectory

else:
    TimeStep = PolicyStep = Trajectory = Any
    Network = Distribution = PyEnv = Optimizer = Any

GymEnv = Any
GymEnvWrapper = Callable[..., Any]
PyEnvWrapper = Callable[..., Any]
Observer = Callable[[Trajectory], None]
LookupLayer = Any


def _tf_aliases() -> dict[str, Any]:
    """The aliases that name TensorFlow types (made when first used)."""
    import tensorflow as tf

    tensor = Union[tf.Tensor, tf.SparseTensor, tf.RaggedTensor]
    tensor_spec = Union[tf.TensorSpec, tf.RaggedTensorSpec, tf.SparseTensorSpec]
    tensor_or_array = Union[tensor, np.ndarray]
    spec = Union[tensor_spec, ArraySpec]
    boolean = Union[bool, np.bool_, tf.Tensor, np.ndarray]
    number = Union[float, np.floating, tf.Tensor, np.ndarray]
    return {
        "TensorSpec": tensor_spec,
        "BoundedTensorSpec": tf.TensorSpec,
        "Tensor": tensor,
        "TensorOrArray": tensor_or_array,
        "Spec": spec,
        "SpecTensorOrArray": Union[spec, tensor, np.ndarray],
        "Int": Union[int, np.integer, tf.Tensor, np.ndarray],
        "Bool": boolean,
        "Float": number,
        "FloatOrReturningFloat": Union[number, Callable[[], number]],
        "Shape": Union[tensor_or_array, Sequence[int | None], tf.TensorShape],
        "Seed": Union[int, Sequence[int], tf.Tensor, np.ndarray, None],
        "ComparatorFn": Callable[[number, number], boolean],
        "LossFn": Callable[..., tensor],
    }


if TYPE_CHECKING:
    import tensorflow as tf
    from tensorflow.python.framework.tensor_spec import (
        BoundedTensorSpec as BoundedTensorSpec,
    )

    TensorSpec = Union[tf.TensorSpec, tf.RaggedTensorSpec, tf.SparseTensorSpec]
    Tensor = Union[tf.Tensor, tf.SparseTensor, tf.RaggedTensor]
    TensorOrArray = Union[Tensor, Array]
    Spec = Union[TensorSpec, ArraySpec]
    SpecTensorOrArray = Union[Spec, Tensor, Array]
    Int = Union[int, np.integer, tf.Tensor, np.ndarray]
    Bool = Union[bool, np.bool_, tf.Tensor, np.ndarray]
    Float = Union[float, np.floating, tf.Tensor, np.ndarray]
    FloatOrReturningFloat = Union[Float, Callable[[], Float]]
    Shape = Union[TensorOrArray, Sequence[int | None], tf.TensorShape]
    Seed = Union[int, Sequence[int], tf.Tensor, np.ndarray, None]
    ComparatorFn = Callable[[Float, Float], Bool]
    LossFn = Callable[..., Tensor]
else:

    def __getattr__(name: str) -> Any:
        """TensorFlow's aliases, built on first access so NumPy code needs no TF."""
        aliases = _tf_aliases()
        if name not in aliases:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        globals().update(aliases)
        return aliases[name]
