"""`TFPyMetric`: a Python metric used as a TF metric (through `tf.py_function`)."""

from __future__ import annotations

import threading

import tensorflow as tf

from policylib.metrics import py_metric, tf_metric
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types
from policylib.utils import common

__all__ = ["TFPyMetric"]


_CONCURRENT = "Detected concurrent execution of TFPyMetric ops."


class TFPyMetric(tf_metric.TFStepMetric):
    """Runs a `PyMetric` from TensorFlow ops (eager, `tf.function` or TF1 graphs).

    Args:
      py_metric: the Python metric.
      name: the metric name; the Python metric's when None.
      dtype: dtype of `result()`.
    """

    def __init__(
        self,
        py_metric: py_metric.PyMetric,
        name: str | None = None,
        dtype: tf.dtypes.DType = tf.float32,
    ):
        super().__init__(name=name or py_metric.name, prefix=py_metric.prefix)
        self._py_metric = py_metric
        self._dtype = dtype
        self._lock = threading.Lock()

    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        def update(*flat: tf.Tensor) -> None:
            with common.exclusive(self._lock, _CONCURRENT):
                values = [x.numpy() for x in flat]
                self._py_metric(tf.nest.pack_sequence_as(trajectory, values))

        op = tf.py_function(
            update, tf.nest.flatten(trajectory), [], name="metric_call_py_func"
        )
        with tf.control_dependencies(
            [op] if isinstance(op, tf.Operation) else op or []
        ):
            return tf.nest.map_structure(tf.identity, trajectory)

    def result(self) -> tf.Tensor:
        def result() -> types.NestedArray:
            with common.exclusive(self._lock, _CONCURRENT):
                return self._py_metric.result()

        value = tf.py_function(result, [], self._dtype, name="metric_result_py_func")
        if not tf.executing_eagerly():
            value.set_shape(())
        return value

    def reset(self) -> tf.Operation | None:
        def reset() -> None:
            with common.exclusive(self._lock, _CONCURRENT):
                self._py_metric.reset()

        return tf.py_function(reset, [], [], name="metric_reset_py_func")
