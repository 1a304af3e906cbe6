"""Scalarizers: one reward from several objectives (linear, Chebyshev, hypervolume).

TF-Agents' `bandits.multi_objective.multi_objective_scalarizer`. A scalarizer is
called on a `[batch_size, num_objectives]` tensor and returns `[batch_size]`.
Its parameters are given at construction as sequences (one value per objective,
the same for every row) or replaced by `set_parameters` with
`[batch_size, num_objectives]` tensors (one row of parameters per row of
objectives), which is how a multi-objective agent scalarizes with per-example
weights.

Because `set_parameters` changes what a call computes without changing its
inputs, a scalarizer passed to a `tf.function` makes it trace anew each call
(see `__tf_tracing_type__`) rather than reuse a graph holding stale parameters.
"""

from __future__ import annotations

import abc
import copy
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
import tensorflow as tf

ScalarFloat = float | int
Transform = Callable[[tf.Tensor], tf.Tensor]


def _check_against_objectives(objectives: tf.Tensor, params: Mapping[str, Any]) -> None:
    """Each parameter is one value per objective (rank 1) or shaped like `objectives`.

    Raises:
      ValueError: a parameter of another rank whose shape does not fit the
        objectives' (e.g. weights for 4 rows against 3 rows of objectives).
    """
    for name, value in params.items():
        shape = tf.convert_to_tensor(value).shape
        if shape.rank != 1 and not objectives.shape.is_compatible_with(shape):
            raise ValueError(
                f"The shape of multi_objectives: {objectives.shape} does not match "
                f"the shape of scalarization parameter: {name}, which is {shape}"
            )


class ScalarizerTraceType(tf.types.experimental.TraceType):
    """A trace type equal to nothing, itself included: every call retraces."""

    def __init__(self, value: Scalarizer) -> None:
        self._value = value

    def is_subtype_of(self, other: Any) -> bool:
        return False

    def most_specific_common_supertype(self, others: Any) -> None:
        return None

    def placeholder_value(self, placeholder_context: Any = None) -> Scalarizer:
        return self._value

    def to_tensors(self, value: Any) -> list:
        return []

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return False

    def __repr__(self) -> str:
        return "ScalarizerTraceType()"


class Scalarizer(tf.Module, abc.ABC):
    """Base class: checks the objectives, then `_scalarize(_transform(objectives))`.

    Subclasses implement `_scalarize` and `set_parameters`; `_transform` (the
    identity here) maps the objectives first.
    """

    def __init__(self, num_of_objectives: int) -> None:
        """Args: num_of_objectives: how many objectives (columns), at least 2."""
        if not isinstance(num_of_objectives, int) or isinstance(
            num_of_objectives, bool
        ):
            raise ValueError(
                "Scalarizer should be initialized with an integer representing the "
                f"number of objectives, but the type of the input is "
                f"{type(num_of_objectives)}."
            )
        if num_of_objectives < 2:
            raise ValueError(
                "Scalarizer should be used with at least two objectives, but only "
                f"{num_of_objectives} are given."
            )
        super().__init__()
        self._num_of_objectives = num_of_objectives

    def __call__(self, multi_objectives: tf.Tensor) -> tf.Tensor:
        """`[batch_size, num_objectives]` objectives -> `[batch_size]` rewards.

        Raises:
          ValueError: the input is not rank 2, or has another number of columns.
        """
        rank = multi_objectives.shape.rank
        if rank != 2:
            raise ValueError(f"The rank of the input should be 2, but is {rank}")
        columns = tf.compat.dimension_value(multi_objectives.shape[1])
        if columns != self._num_of_objectives:
            raise ValueError(
                f"The number of input objectives should be {self._num_of_objectives}"
                f", but is {columns}."
            )
        return self._scalarize(self._transform(multi_objectives))

    def _validate_scalarization_parameters(self, params: Mapping[str, Any]) -> None:
        """Per-row parameters are `[batch_size, num_objectives]` tensors.

        Raises:
          ValueError: a parameter is not rank 2 or has another number of columns.
        """
        for name, param in params.items():
            shape = tf.convert_to_tensor(param).shape
            if shape.rank != 2:
                raise ValueError(
                    f"Scalarization parameter: {name} should be a rank-2 tensor with "
                    f"shape [batch_size, num_of_objectives], but found to be: {param}"
                )
            columns = tf.compat.dimension_value(shape[-1])
            if columns != self._num_of_objectives:
                raise ValueError(
                    f"The number of objectives in scalarization parameter: {name} "
                    f"should be {self._num_of_objectives}, but found to be {columns}."
                )

    def _transform(self, multi_objectives: tf.Tensor) -> tf.Tensor:
        return multi_objectives

    @abc.abstractmethod
    def _scalarize(self, transformed_multi_objectives: tf.Tensor) -> tf.Tensor:
        """The scalarization itself, on transformed objectives."""

    @abc.abstractmethod
    def set_parameters(self, *args: Any, **kwargs: Any) -> None:
        """Replaces the parameters with per-row `[batch_size, num_objectives]` ones."""

    def __tf_tracing_type__(self, context: Any) -> ScalarizerTraceType:
        return ScalarizerTraceType(self)


class LinearScalarizer(Scalarizer):
    """A weighted sum of the (optionally transformed) objectives."""

    def __init__(
        self,
        weights: Sequence[ScalarFloat],
        multi_objective_transform: Transform | None = None,
    ) -> None:
        """Args:
        weights: one weight per objective.
        multi_objective_transform: maps the objectives before weighting; must
          keep their shape (checked at call time).
        """
        self._weights = copy.deepcopy(weights)
        self._transformer = multi_objective_transform
        super().__init__(len(self._weights))

    def _transform(self, multi_objectives: tf.Tensor) -> tf.Tensor:
        if self._transformer is None:
            return multi_objectives
        return self._transformer(multi_objectives)

    def _scalarize(self, transformed_multi_objectives: tf.Tensor) -> tf.Tensor:
        _check_against_objectives(
            transformed_multi_objectives, {"weights": self._weights}
        )
        return tf.reduce_sum(transformed_multi_objectives * self._weights, axis=1)

    def set_parameters(self, weights: tf.Tensor) -> None:
        """Args: weights: `[batch_size, num_objectives]`, one row per call row."""
        self._validate_scalarization_parameters({"weights": weights})
        self._weights = weights


class ChebyshevScalarizer(Scalarizer):
    """`min_i weights_i * (objective_i - reference_point_i)`.

    The reference point should be dominated by every Pareto-optimal objective
    vector, so that the scalarized value rewards moving away from it in the
    weakest weighted direction.
    """

    def __init__(
        self,
        weights: Sequence[ScalarFloat],
        reference_point: Sequence[ScalarFloat],
    ) -> None:
        """Raises: ValueError: `weights` and `reference_point` differ in length."""
        if len(weights) != len(reference_point):
            raise ValueError(
                f"weights has {len(weights)} elements but reference_point has "
                f"{len(reference_point)}."
            )
        self._weights = copy.deepcopy(weights)
        self._reference_point = reference_point
        super().__init__(len(self._weights))

    def _scalarize(self, transformed_multi_objectives: tf.Tensor) -> tf.Tensor:
        _check_against_objectives(
            transformed_multi_objectives,
            {"weights": self._weights, "reference_point": self._reference_point},
        )
        shifted = transformed_multi_objectives - self._reference_point
        return tf.reduce_min(shifted * self._weights, axis=-1)

    def set_parameters(self, weights: tf.Tensor, reference_point: tf.Tensor) -> None:
        """Args: weights, reference_point: `[batch_size, num_objectives]` each."""
        self._validate_scalarization_parameters(
            {"weights": weights, "reference_point": reference_point}
        )
        self._weights = weights
        self._reference_point = reference_point


class HyperVolumeScalarizer(Scalarizer):
    """`min_{i: direction_i > 0} max(slope_i * objective_i + offset_i, 0) / direction_i`.

    The hypervolume scalarization (Golovin & Zhang, arXiv:2006.04655): with
    directions drawn uniformly from the positive unit sphere, its expectation
    measures the hypervolume the objectives dominate. Slopes and offsets should
    make every objective non-negative; coordinates of the normalized direction
    below `ALMOST_ZERO` are left out of the minimum.
    """

    DIRECTION_KEY = "direction"
    SLOPE_KEY = "slope"
    OFFSET_KEY = "offset"
    ALMOST_ZERO = 1e-16

    class PARAMS(NamedTuple):
        """An objective's affine map to non-negative values."""

        slope: ScalarFloat
        offset: ScalarFloat

    def __init__(
        self,
        direction: Sequence[ScalarFloat],
        transform_params: Sequence[HyperVolumeScalarizer.PARAMS],
        multi_objective_transform: Callable[
            [tf.Tensor, Sequence[ScalarFloat], Sequence[ScalarFloat]], tf.Tensor
        ]
        | None = None,
    ) -> None:
        """Args:
        direction: non-negative, not all (nearly) zero; normalized to unit length.
        transform_params: one `PARAMS(slope, offset)` per objective.
        multi_objective_transform: `(objectives, slopes, offsets) -> objectives`;
          by default `objectives * slopes + offsets`.

        Raises:
          ValueError: a negative coordinate, a nearly-zero direction, or
            `transform_params` of another length than `direction`.
        """
        if any(x < 0 for x in direction):
            coordinates = ", ".join(map(str, direction))
            raise ValueError(
                "direction should be in the positive orthant, but has negative "
                f"coordinates: [{coordinates}]."
            )
        length = float(np.sqrt(sum(x * x for x in direction)))
        if length < self.ALMOST_ZERO:
            raise ValueError(
                "direction found to be a nearly-zero vector, but should not be."
            )
        self._direction: Any = [x / length for x in direction]
        if len(transform_params) != len(self._direction):
            raise ValueError(
                f"direction has {len(direction)} elements but transform_params has "
                f"{len(transform_params)}."
            )
        self._slopes: Any = tuple(p.slope for p in transform_params)
        self._offsets: Any = tuple(p.offset for p in transform_params)
        self._transformer = multi_objective_transform or self._default_hv_transform
        super().__init__(len(self._direction))

    @staticmethod
    def _default_hv_transform(
        multi_objectives: tf.Tensor,
        slopes: Sequence[ScalarFloat],
        offsets: Sequence[ScalarFloat],
    ) -> tf.Tensor:
        return multi_objectives * slopes + offsets

    def _transform(self, multi_objectives: tf.Tensor) -> tf.Tensor:
        _check_against_objectives(
            multi_objectives,
            {
                self.DIRECTION_KEY: self._direction,
                self.SLOPE_KEY: self._slopes,
                self.OFFSET_KEY: self._offsets,
            },
        )
        return self._transformer(multi_objectives, self._slopes, self._offsets)

    def _scalarize(self, transformed_multi_objectives: tf.Tensor) -> tf.Tensor:
        values = tf.maximum(transformed_multi_objectives, 0)
        direction = tf.cast(self._direction, values.dtype)
        counted = tf.broadcast_to(
            tf.abs(direction) >= self.ALMOST_ZERO, tf.shape(values)
        )
        # Left-out coordinates take the dtype's largest value, so never the minimum.
        ratios = tf.where(counted, values / direction, values.dtype.max)
        return tf.reduce_min(ratios, axis=1)

    def set_parameters(
        self, direction: tf.Tensor, transform_params: Mapping[str, tf.Tensor]
    ) -> None:
        """Per-row parameters, `[batch_size, num_objectives]` each.

        Args:
          direction: used as given (not normalized again).
          transform_params: `{SLOPE_KEY: ..., OFFSET_KEY: ...}`, either or both;
            the one left out keeps its value.

        Raises:
          ValueError: a badly shaped tensor, or a key other than slope/offset.
        """
        self._validate_scalarization_parameters({self.DIRECTION_KEY: direction})
        self._direction = direction
        for key, param in transform_params.items():
            if key not in (self.SLOPE_KEY, self.OFFSET_KEY):
                raise ValueError(
                    f"All transform_params keys should be {self.SLOPE_KEY} or "
                    f"{self.OFFSET_KEY}, but one key is not: {key}"
                )
            self._validate_scalarization_parameters({key: param})
            if key == self.SLOPE_KEY:
                self._slopes = param
            else:
                self._offsets = param
