"""Running normalization of tensor nests (observations, rewards) for PPO and actor policies.

    normalizer = tensor_normalizer.StreamingTensorNormalizer(observation_spec)
    normalizer.update(batch_of_observations, outer_dims=(0, 1))
    normalized = normalizer.normalize(observations, clip_value=10.0)

`normalize` maps each leaf to `(x - mean) / sqrt(var + epsilon)` with the
running estimates, optionally clipped. Two estimators:

- `StreamingTensorNormalizer`: the exact mean and variance of everything seen
  (Chan et al.'s parallel update, with a Kahan-compensated sum of squares).
- `EMATensorNormalizer`: exponential moving averages, for drifting data.

Integer leaves are estimated in floating point (int32 -> float32,
int64 -> float64) and normalized values are cast back to the spec's dtype.
"""

from __future__ import annotations

import abc

import tensorflow as tf

from policylib.base import nest_utils
from policylib.specs import tensor_spec as tensor_spec_lib
from policylib.typing import types
from policylib.utils import variables

__all__ = [
    "EMATensorNormalizer",
    "StreamingTensorNormalizer",
    "TensorNormalizer",
    "kahan_summation",
    "parallel_variance_calculation",
]

# The count a streaming estimate starts from: the variance of no data is 0, not 0/0.
_EPS = 1e-8

_ESTIMATE_DTYPES = {
    tf.int32: tf.float32,
    tf.int64: tf.float64,
    tf.float32: tf.float32,
    tf.float64: tf.float64,
}


class TensorNormalizer(tf.Module, metaclass=abc.ABCMeta):
    """Normalizes nests of tensors matching `tensor_spec` with running estimates.

    Args:
      tensor_spec: nest of `TensorSpec`s of one (unbatched) value.
      scope: name of the module and of its variables' scope.
    """

    def __init__(
        self, tensor_spec: types.NestedTensorSpec, scope: str = "normalize_tensor"
    ):
        super().__init__(name=scope)
        self._scope = scope
        self._tensor_spec = tensor_spec
        self._flat_variable_spec = [
            tensor_spec_lib.with_dtype(spec, self.map_dtype(spec.dtype))
            for spec in tf.nest.flatten(tensor_spec)
        ]
        self._create_variables()

    def map_dtype(self, dtype: tf.DType) -> tf.DType:
        """The dtype estimates of a `dtype` leaf are kept in."""
        return _ESTIMATE_DTYPES.get(dtype, tf.float32)

    @abc.abstractmethod
    def _create_variables(self) -> None:
        """Creates the estimate variables."""

    @property
    @abc.abstractmethod
    def variables(self) -> tuple[types.NestedVariable, ...]:
        """The estimate variables, each packed like `tensor_spec`."""

    @abc.abstractmethod
    def _update_ops(self, flat_tensors: list, outer_dims: types.Shape) -> list:
        """Ops folding `flat_tensors` into the estimates."""

    @abc.abstractmethod
    def _get_mean_var_estimates(self) -> tuple[list, list]:
        """Flat lists of the current mean and variance estimates."""

    def _check(self, tensor: types.NestedTensor, name: str) -> None:
        nest_utils.assert_matching_dtypes_and_inner_shapes(
            tensor,
            self._tensor_spec,
            caller=self,
            tensors_name=name,
            specs_name="tensor_spec",
        )

    def update(
        self, tensor: types.NestedTensor, outer_dims: types.Shape = (0,)
    ) -> tf.Operation:
        """Folds a batch into the estimates.

        Args:
          tensor: a nest matching `tensor_spec` with outer (batch, time) dims.
          outer_dims: the axes to reduce over (the EMA estimator uses them;
            the streaming one reduces over every outer axis).

        Raises:
          ValueError: `tensor` does not fit `tensor_spec` (dtype or inner shape).
        """
        self._check(tensor, "tensor")
        flat = [tf.cast(t, self.map_dtype(t.dtype)) for t in tf.nest.flatten(tensor)]
        return tf.group(self._update_ops(flat, outer_dims))

    def normalize(
        self,
        tensor: types.NestedTensor,
        clip_value: float = 5.0,
        center_mean: bool = True,
        variance_epsilon: float = 1e-3,
    ) -> types.NestedTensor:
        """`(tensor - mean) / sqrt(var + variance_epsilon)`, clipped to `[-clip_value, clip_value]`.

        Args:
          tensor: a nest matching `tensor_spec` with any outer dims.
          clip_value: clip bound; 0 or less does not clip.
          center_mean: subtract the mean (False: only scale).
          variance_epsilon: added to the variance.

        Raises:
          ValueError: `tensor` does not fit `tensor_spec` (dtype or inner shape).
        """
        self._check(tensor, "tensors")
        flat = [tf.cast(t, self.map_dtype(t.dtype)) for t in tf.nest.flatten(tensor)]
        with tf.name_scope(self._scope + "/normalize"):
            means, variances = self._get_mean_var_estimates()
            normalized = []
            for value, mean, var, spec in zip(
                flat, means, variances, tf.nest.flatten(self._tensor_spec)
            ):
                if not center_mean:
                    mean = tf.zeros_like(mean)
                out = tf.nn.batch_normalization(
                    value,
                    mean,
                    var,
                    offset=None,
                    scale=None,
                    variance_epsilon=variance_epsilon,
                    name="normalized_tensor",
                )
                if clip_value > 0:
                    out = tf.clip_by_value(
                        out, -clip_value, clip_value, name="clipped_normalized_tensor"
                    )
                normalized.append(tf.cast(out, spec.dtype))
        return tf.nest.pack_sequence_as(self._tensor_spec, normalized)

    def _packed(self, flat_variables: list) -> types.NestedVariable:
        return tf.nest.pack_sequence_as(self._tensor_spec, flat_variables)

    def _new_variables(self, name: str, initial_value: float) -> list:
        return [
            variables.create_variable(
                f"{name}_{i}", initial_value, spec.shape, spec.dtype, trainable=False
            )
            for i, spec in enumerate(self._flat_variable_spec)
        ]


class EMATensorNormalizer(TensorNormalizer):
    """Exponential moving averages of the mean and variance.

    Args:
      tensor_spec: nest of `TensorSpec`s of one value.
      scope: module name.
      norm_update_rate: weight of each new batch in the averages.
    """

    def __init__(
        self,
        tensor_spec: types.NestedTensorSpec,
        scope: str = "normalize_tensor",
        norm_update_rate: float = 0.001,
    ):
        super().__init__(tensor_spec, scope)
        self._norm_update_rate = norm_update_rate

    def _create_variables(self) -> None:
        self._mean_moving_avg = self._new_variables("mean", 0)
        self._var_moving_avg = self._new_variables("var", 1)

    @property
    def variables(self) -> tuple[types.NestedVariable, types.NestedVariable]:
        """`(means, variances)`, each packed like `tensor_spec`."""
        return self._packed(self._mean_moving_avg), self._packed(self._var_moving_avg)

    def _update_ops(self, flat_tensors: list, outer_dims: types.Shape) -> list:
        rate = self._norm_update_rate
        ops = []
        for value, mean_var, var_var in zip(
            flat_tensors, self._mean_moving_avg, self._var_moving_avg
        ):
            mean = tf.reduce_mean(value, axis=outer_dims)
            # The spread around the running mean, as the averages estimate it.
            var = tf.reduce_mean(
                tf.math.squared_difference(value, mean_var), axis=outer_dims
            )
            with tf.control_dependencies([mean, var]):
                ops.append(mean_var.assign_add(rate * (mean - mean_var)))
                ops.append(var_var.assign_add(rate * (var - var_var)))
        return ops

    def _get_mean_var_estimates(self) -> tuple[list, list]:
        return self._mean_moving_avg, self._var_moving_avg


class StreamingTensorNormalizer(TensorNormalizer):
    """The exact running mean and variance of all data seen."""

    def _create_variables(self) -> None:
        self._count = self._new_variables("count", _EPS)
        self._avg = self._new_variables("avg", 0)
        self._m2 = self._new_variables("m2", 0)
        self._m2_carry = self._new_variables("m2_carry", 0)

    @property
    def variables(
        self,
    ) -> tuple[
        types.NestedVariable,
        types.NestedVariable,
        types.NestedVariable,
        types.NestedVariable,
    ]:
        """`(counts, averages, sums of squared deviations, their Kahan carries)`."""
        return (
            self._packed(self._count),
            self._packed(self._avg),
            self._packed(self._m2),
            self._packed(self._m2_carry),
        )

    def _update_ops(self, flat_tensors: list, outer_dims: types.Shape) -> list:
        del outer_dims  # every outer axis is reduced
        tensors = tf.nest.pack_sequence_as(self._tensor_spec, flat_tensors)
        outer_shape = nest_utils.get_outer_shape(tensors, self._tensor_spec)
        outer_rank = tf.compat.dimension_value(outer_shape.shape[0])
        axes: list[int] | tf.Tensor = (
            list(range(outer_rank))
            if outer_rank is not None
            else tf.range(tf.size(outer_shape))
        )
        batch_count = tf.reduce_prod(outer_shape)
        ops: list = []
        for i, value in enumerate(flat_tensors):
            n_a = tf.cast(batch_count, self._count[i].dtype)
            avg_a = tf.reduce_mean(value, axes)
            m2_a = tf.reduce_sum(tf.math.squared_difference(value, avg_a), axes)
            new = parallel_variance_calculation(
                n_a,
                avg_a,
                m2_a,
                self._count[i],
                self._avg[i],
                self._m2[i],
                self._m2_carry[i],
            )
            with tf.control_dependencies(list(new)):
                targets = (self._count[i], self._avg[i], self._m2[i], self._m2_carry[i])
                ops.extend(var.assign(val) for var, val in zip(targets, new))
        return ops

    def _get_mean_var_estimates(self) -> tuple[list, list]:
        return self._avg, [m2 / n for m2, n in zip(self._m2, self._count)]

    def reset(self) -> list:
        """Forgets everything seen: the estimates start over."""
        ops = []
        for i in range(len(self._count)):
            ops.append(self._count[i].assign(_EPS * tf.ones_like(self._count[i])))
            for var in (self._avg[i], self._m2[i], self._m2_carry[i]):
                ops.append(var.assign(tf.zeros_like(var)))
        return ops


def parallel_variance_calculation(
    n_a: types.Tensor,
    avg_a: types.Tensor,
    m2_a: types.Tensor,
    n_b: types.Tensor,
    avg_b: types.Tensor,
    m2_b: types.Tensor,
    m2_b_c: types.Tensor,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
    """Merges two groups' `(count, mean, sum of squared deviations)`.

    Chan, Golub and LeVeque's pairwise update; group b's sum carries a Kahan
    compensation term `m2_b_c`. Returns `(n_ab, avg_ab, m2_ab, m2_ab_carry)`.
    """
    n_ab = n_a + n_b
    delta = avg_b - avg_a
    weighted_delta = delta * n_b / n_ab
    avg_ab = avg_a + weighted_delta
    m2_ab, m2_ab_carry = kahan_summation(
        m2_b, m2_b_c, m2_a + delta * n_a * weighted_delta
    )
    return n_ab, avg_ab, m2_ab, m2_ab_carry


def kahan_summation(
    accumulator: types.Tensor, carry: types.Tensor, value: types.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """`accumulator + value` with the rounding error kept in `carry` (Kahan, 1965)."""
    compensated = value - carry
    total = accumulator + compensated
    return total, (total - accumulator) - compensated
