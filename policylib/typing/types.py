"""Type aliases for policylib signatures, under TF-Agents' names.

They document intent (a nest of tensors, a spec nest, a seed) rather than
enforce it: nests are recursive and TensorFlow's types are not all static.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, Union

import numpy as np
import tensorflow as tf

from policylib.specs import array_spec as _array_spec

ArraySpec = _array_spec.ArraySpec
BoundedArraySpec = _array_spec.BoundedArraySpec
TensorSpec = Union[tf.TensorSpec, tf.RaggedTensorSpec, tf.SparseTensorSpec]
BoundedTensorSpec = tf.TensorSpec
Network = (
    Any  # policylib.networks.network.Network (kept loose to avoid an import cycle)
)

Tensor = Union[tf.Tensor, tf.SparseTensor, tf.RaggedTensor]
Array = np.ndarray
TensorOrArray = Union[Tensor, Array]
Distribution = Any  # tfp.distributions.Distribution, imported lazily elsewhere
Spec = Union[TensorSpec, ArraySpec]
SpecTensorOrArray = Union[Spec, Tensor, Array]

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

Int = Union[int, np.integer, tf.Tensor, np.ndarray]
Bool = Union[bool, np.bool_, tf.Tensor, np.ndarray]
Float = Union[float, np.floating, tf.Tensor, np.ndarray]
FloatOrReturningFloat = Union[Float, Callable[[], Float]]

Shape = Union[TensorOrArray, Sequence[int | None], tf.TensorShape]
ShapeSequence = Sequence[int | None]

Splitter = Union[Callable[[NestedTensor], tuple[NestedTensor, NestedTensor]], None]
Seed = Union[int, Sequence[int], tf.Tensor, np.ndarray, None]

TimeStep = Any  # policylib.trajectories.time_step.TimeStep
PolicyStep = Any  # policylib.trajectories.policy_step.PolicyStep
Trajectory = Any  # policylib.trajectories.trajectory.Trajectory

GymEnv = Any
GymEnvWrapper = Callable[..., Any]
PyEnv = Any
PyEnvWrapper = Callable[..., Any]
Observer = Callable[[Trajectory], None]
ComparatorFn = Callable[[Float, Float], Bool]
LossFn = Callable[..., Tensor]
Optimizer = Any
LookupLayer = Any
