"""In-graph metrics: step and episode counts, average/min/max return and length."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import gin
import numpy as np
import tensorflow as tf
from absl import logging

from policylib.base import arg_checks, nest_utils
from policylib.metrics import py_metric, tf_metric
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "AverageEpisodeLengthMetric",
    "AverageReturnMetric",
    "AverageReturnMultiMetric",
    "ChosenActionHistogram",
    "EnvironmentSteps",
    "MaxReturnMetric",
    "MinReturnMetric",
    "NumberOfEpisodes",
    "TFDeque",
    "log_metrics",
]


class TFDeque(tf.Module):
    """A ring buffer of the last `max_len` values, in a variable.

    `data` is the stored values in buffer order (after wrapping, the newest
    value overwrites the oldest in place). The empty deque's mean is 0, its
    max the dtype's minimum and its min the dtype's maximum.

    Args:
      max_len: capacity.
      dtype: dtype of the values.
      shape: shape of one value.
      name: prefix of the variables' names.
    """

    def __init__(
        self,
        max_len: int,
        dtype: tf.dtypes.DType,
        shape: types.Shape = (),
        name: str = "TFDeque",
    ):
        super().__init__(name=name)
        self._max_len = tf.convert_to_tensor(max_len, dtype=tf.int32)
        self._spec = tf.TensorSpec(shape, dtype, name="Buffer")
        self._buffer = common.create_variable(
            initial_value=0,
            dtype=dtype,
            shape=[max_len, *tf.TensorShape(shape).as_list()],
            name=name + "Buffer",
        )
        self._head = common.create_variable(
            initial_value=0, dtype=tf.int32, shape=(), name=name + "Head"
        )

    @property
    def length(self) -> tf.Tensor:
        return tf.minimum(self._head, self._max_len)

    @property
    def data(self) -> tf.Tensor:
        return self._buffer[: self.length]

    @common.function(autograph=True)
    def add(self, value: types.Tensor) -> None:
        position = tf.math.floormod(self._head, self._max_len)
        self._buffer.scatter_nd_update([[position]], [tf.cast(value, self._spec.dtype)])
        self._head.assign_add(1)

    @common.function(autograph=True)
    def extend(self, values: types.Tensor) -> None:
        for value in values:
            self.add(value)

    @common.function
    def clear(self) -> None:
        self._head.assign(0)

    def _reduce(self, reduce_fn: Callable[..., tf.Tensor], empty: float) -> tf.Tensor:
        return tf.cond(
            tf.equal(self._head, 0),
            lambda: tf.fill(self._spec.shape, tf.constant(empty, self._spec.dtype)),
            lambda: reduce_fn(self.data, axis=0),
        )

    @common.function
    def mean(self) -> tf.Tensor:
        return self._reduce(tf.reduce_mean, 0)

    @common.function
    def max(self) -> tf.Tensor:
        return self._reduce(tf.reduce_max, self._spec.dtype.min)

    @common.function
    def min(self) -> tf.Tensor:
        return self._reduce(tf.reduce_min, self._spec.dtype.max)


class _CounterMetric(tf_metric.TFStepMetric):
    """Sums `_count(trajectory)` into one variable."""

    _variable_name = "count"

    def __init__(
        self,
        name: str | None = None,
        prefix: str = "Metrics",
        dtype: tf.dtypes.DType = tf.int64,
    ):
        """The metric's name defaults to its class name (TF-Agents' default)."""
        super().__init__(name=name or type(self).__name__, prefix=prefix)
        self.dtype = dtype
        setattr(
            self,
            self._variable_name,
            common.create_variable(
                initial_value=0, dtype=dtype, shape=(), name=self._variable_name
            ),
        )

    @property
    def _variable(self) -> tf.Variable:
        return getattr(self, self._variable_name)

    def _count(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        raise NotImplementedError

    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        self._variable.assign_add(
            tf.reduce_sum(tf.cast(self._count(trajectory), self.dtype))
        )
        return trajectory

    def result(self) -> tf.Tensor:
        return tf.identity(self._variable, name=self.name)

    @common.function
    def reset(self) -> None:
        self._variable.assign(0)


@gin.configurable(module="policylib")
class EnvironmentSteps(_CounterMetric):
    """Counts environment steps (trajectories that are not episode boundaries)."""

    _variable_name = "environment_steps"

    def _count(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        return ~trajectory.is_boundary()


@gin.configurable(module="policylib")
class NumberOfEpisodes(_CounterMetric):
    """Counts finished episodes (LAST steps)."""

    _variable_name = "number_episodes"

    def _count(self, trajectory: trajectory_lib.Trajectory) -> tf.Tensor:
        return trajectory.is_last()


class _EpisodeMetric(tf_metric.TFStepMetric):
    """Accumulates a per-environment value over each episode; keeps the last
    `buffer_size` episode totals in a `TFDeque` and reduces them.

    Subclasses set `_default_name`, `_reduction` (a `TFDeque` method: mean,
    max or min) and `_accumulator_name` (TF-Agents' attribute name, so
    checkpoint paths match).

    Args:
      name: metric name (`_default_name` when None).
      prefix: summary prefix.
      dtype: accumulation dtype.
      batch_size: the environments' batch size.
      buffer_size: episodes kept.
    """

    _default_name = "EpisodeMetric"
    _reduction = "mean"
    _accumulator_name = "_accumulator_variable"

    def __init__(
        self,
        name: str | None = None,
        prefix: str = "Metrics",
        dtype: tf.dtypes.DType = tf.float32,
        batch_size: int = 1,
        buffer_size: int = 10,
    ):
        super().__init__(name=name or self._default_name, prefix=prefix)
        self._dtype = dtype
        arg_checks.check_int(buffer_size, "buffer_size", owner=self.name)
        self._buffer = TFDeque(buffer_size, dtype)
        setattr(
            self,
            self._accumulator_name,
            common.create_variable(
                initial_value=0, dtype=dtype, shape=(batch_size,), name="Accumulator"
            ),
        )

    @property
    def _accumulator(self) -> tf.Variable:
        return getattr(self, self._accumulator_name)

    def result(self) -> tf.Tensor:
        return getattr(self._buffer, self._reduction)()

    def _finish(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Adds the totals of the episodes that end here to the buffer."""
        for index in tf.squeeze(tf.where(trajectory.is_last()), axis=-1):
            self._buffer.add(self._accumulator[index])

    @common.function
    def reset(self) -> None:
        self._buffer.clear()
        self._accumulator.assign(tf.zeros_like(self._accumulator))


class _ReturnMetric(_EpisodeMetric):
    """Episode returns (rewards summed over the episode and over reward dims)."""

    _accumulator_name = "_return_accumulator"

    @common.function(autograph=True)
    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        acc = self._accumulator
        acc.assign(tf.where(trajectory.is_first(), tf.zeros_like(acc), acc))
        reward = tf.cast(trajectory.reward, self._dtype)
        acc.assign_add(tf.reduce_sum(reward, axis=list(range(1, reward.shape.rank))))
        self._finish(trajectory)
        return trajectory


@gin.configurable(module="policylib")
class AverageReturnMetric(_ReturnMetric):
    """The mean return of the last `buffer_size` episodes."""

    _default_name = "AverageReturn"


@gin.configurable(module="policylib")
class MaxReturnMetric(_ReturnMetric):
    """The largest return of the last `buffer_size` episodes."""

    _default_name = "MaxReturn"
    _reduction = "max"


@gin.configurable(module="policylib")
class MinReturnMetric(_ReturnMetric):
    """The smallest return of the last `buffer_size` episodes."""

    _default_name = "MinReturn"
    _reduction = "min"


@gin.configurable(module="policylib")
class AverageEpisodeLengthMetric(_EpisodeMetric):
    """The mean length (non-boundary steps) of the last `buffer_size` episodes."""

    _default_name = "AverageEpisodeLength"
    _accumulator_name = "_length_accumulator"

    @common.function(autograph=True)
    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        acc = self._accumulator
        acc.assign_add(tf.cast(~trajectory.is_boundary(), self._dtype))
        self._finish(trajectory)
        acc.assign(tf.where(trajectory.is_last(), tf.zeros_like(acc), acc))
        return trajectory


@gin.configurable(module="policylib")
class ChosenActionHistogram(tf_metric.TFHistogramStepMetric):
    """The last `buffer_size` actions taken, summarized as a histogram."""

    def __init__(self, name="ChosenActionHistogram", dtype=tf.int32, buffer_size=100):
        super().__init__(name=name)
        self._buffer = TFDeque(buffer_size, dtype)
        self._dtype = dtype

    @common.function
    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        self._buffer.extend(trajectory.action)
        return trajectory

    @common.function
    def result(self) -> tf.Tensor:
        return self._buffer.data

    @common.function
    def reset(self) -> None:
        self._buffer.clear()


@gin.configurable(module="policylib")
class AverageReturnMultiMetric(tf_metric.TFMultiMetricStepMetric):
    """Mean returns of the last `buffer_size` episodes for each reward in a nest.

    Args:
      reward_spec: the nest of reward specs; each reward keeps its own shape.
      name: metric name.
      prefix: summary prefix.
      dtype: kept for TF-Agents signatures (each reward keeps its spec dtype).
      batch_size: the environments' batch size.
      buffer_size: episodes averaged.
    """

    def __init__(
        self,
        reward_spec: types.NestedTensorSpec,
        name: str = "AverageReturnMultiMetric",
        prefix: str = "Metrics",
        dtype: tf.dtypes.DType = tf.float32,
        batch_size: int = 1,
        buffer_size: int = 10,
    ):
        self._batch_size = batch_size
        self._dtype = dtype
        self._reward_spec = reward_spec
        self._buffer = tf.nest.map_structure(
            lambda r: TFDeque(buffer_size, r.dtype, r.shape), reward_spec
        )
        self._return_accumulator = tf.nest.map_structure(
            lambda r: common.create_variable(
                initial_value=0,
                shape=(batch_size, *r.shape),
                dtype=r.dtype,
                name="Accumulator/" + (r.name or "reward"),
            ),
            reward_spec,
        )
        names = [r.name for r in tf.nest.flatten(reward_spec)]
        super().__init__(name=name, prefix=prefix, metric_names=names)

    @common.function(autograph=True)
    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        nest_utils.assert_same_structure(trajectory.reward, self._reward_spec)
        for buffer, acc, reward in zip(
            tf.nest.flatten(self._buffer),
            tf.nest.flatten(self._return_accumulator),
            tf.nest.flatten(trajectory.reward),
        ):
            first = trajectory.is_first()
            if reward.shape.rank > 1:
                first = tf.broadcast_to(tf.reshape(first, [-1, 1]), tf.shape(acc))
            acc.assign(tf.where(first, tf.zeros_like(acc), acc))
            acc.assign_add(reward)
            for index in tf.squeeze(tf.where(trajectory.is_last()), axis=-1):
                buffer.add(acc[index])
        return trajectory

    def result(self) -> types.NestedTensor:
        return tf.nest.map_structure(lambda b: b.mean(), self._buffer)

    @common.function
    def reset(self) -> None:
        for buffer in tf.nest.flatten(self._buffer):
            buffer.clear()
        for acc in tf.nest.flatten(self._return_accumulator):
            acc.assign(tf.zeros_like(acc))


def log_metrics(
    metrics: Iterable[tf_metric.TFStepMetric | py_metric.PyMetric], prefix: str = ""
) -> None:
    """Logs each metric's name and result at INFO level."""
    lines = [f"{m.name} = {np.asarray(m.result())}" for m in metrics]
    logging.info("%s \n\t\t %s", prefix, "\n\t\t ".join(lines))
