"""`TFPyMetric`: a Python metric used as a TF metric (through `tf.py_function`)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import tensorflow as tf

from policylib.metrics import py_metric, tf_metric
from policylib.trajectories import trajectory as trajectory_lib

__all__ = ["TFPyMetric"]


@contextlib.contextmanager
def _exclusive(lock: threading.Lock) -> Iterator[None]:
    if not lock.acquire(blocking=False):
        raise RuntimeError("Detected concurrent execution of TFPyMetric ops.")
    try:
        yield
    finally:
        lock.release()


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
        dtype: Any = tf.float32,
    ):
        super().__init__(name=name or py_metric.name, prefix=py_metric.prefix)
        self._py_metric = py_metric
        self._dtype = dtype
        self._lock = threading.Lock()

    def call(self, trajectory: trajectory_lib.Trajectory) -> trajectory_lib.Trajectory:
        def update(*flat: tf.Tensor) -> None:
            with _exclusive(self._lock):
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
        def result() -> Any:
            with _exclusive(self._lock):
                return self._py_metric.result()

        value = tf.py_function(result, [], self._dtype, name="metric_result_py_func")
        if not tf.executing_eagerly():
            value.set_shape(())
        return value

    def reset(self) -> Any:
        def reset() -> None:
            with _exclusive(self._lock):
                self._py_metric.reset()

        return tf.py_function(reset, [], [], name="metric_reset_py_func")
