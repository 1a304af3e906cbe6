"""`PyMetric`: the base of Python-side (NumPy) metrics, and their TF1 summaries."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from absl import logging

from policylib.base import lazy_tf
from policylib.base.lazy_tf import tf
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types

if TYPE_CHECKING:
    from policylib.metrics import tf_metric

__all__ = ["PyMetric", "PyStepMetric", "run_summaries"]


def run_summaries(
    metrics: Sequence[PyMetric], session: tf.compat.v1.Session | None = None
) -> None:
    """Writes the TF1 summaries of `metrics` (after each one's `tf_summaries`).

    Raises:
      AttributeError: no session was given and there is no default one.
      RuntimeError: a metric's `tf_summaries` was not called.
    """
    session = session or tf.compat.v1.get_default_session()
    if session is None:
        raise AttributeError(
            "No TensorFlow session-like object was provided, and none could be "
            "retrieved using 'tf.get_default_session()'."
        )
    for metric in metrics:
        if metric.summary_op is None:
            raise RuntimeError(
                f"metric.tf_summaries() must be called on py_metric {metric.name} "
                "before attempting to run summaries."
            )
    session.run(
        [m.summary_op for m in metrics],
        feed_dict={m.summary_placeholder: m.result() for m in metrics},
    )


def _join(prefix: str, name: str) -> str:
    from policylib.utils import common

    return common.join_scope(prefix, name)


class PyMetric(lazy_tf.Module, metaclass=abc.ABCMeta):
    """A metric computed in Python; call it to update it.

    A `tf.Module` once TensorFlow is loaded, so `tf.train.Checkpoint` saves
    its state whether TensorFlow or the metric was imported first
    (`lazy_tf.Module`).

    Args:
      name: the metric's name (its summary tag is `prefix/name`).
      prefix: the summary tag prefix.
    """

    def __init__(self, name: str, prefix: str = "Metrics"):
        super().__init__(name)
        self._prefix = prefix
        self._summary_placeholder = None
        self._summary_op = None

    @property
    def prefix(self) -> str:
        return self._prefix

    @abc.abstractmethod
    def reset(self) -> None:
        """Clears the metric."""

    @abc.abstractmethod
    def result(self) -> types.NestedArray:
        """The metric's value."""

    def __call__(self, *args: Any) -> None:
        self.call(*args)

    def log(self) -> None:
        """Logs `prefix/name = result` at INFO level."""
        logging.info("%s = %s", _join(self.prefix, self.name), self.result())

    @staticmethod
    def aggregate(metrics: Sequence[PyMetric]) -> np.floating:
        """Combines metrics of the same kind (from several environments): their mean."""
        return np.mean(np.asarray([metric.result() for metric in metrics]))

    @property
    def summary_placeholder(self) -> tf.Tensor:
        """A TF1 placeholder shaped like `result()`, fed by `run_summaries`."""
        if self._summary_placeholder is None:
            result = np.asarray(self.result())
            self._summary_placeholder = tf.compat.v1.placeholder(
                tf.as_dtype(result.dtype), shape=result.shape, name=f"{self.name}_ph"
            )
        return self._summary_placeholder

    @property
    def summary_op(self) -> tf.Operation | None:
        return self._summary_op

    def tf_summaries(
        self,
        train_step: types.Int | None = None,
        step_metrics: Sequence[PyMetric | tf_metric.TFStepMetric] = (),
    ) -> tf.Operation:
        """Builds (once) the TF1 summary op of this metric (graph mode only).

        Raises:
          RuntimeError: called twice.
          ValueError: a step metric is neither a PyMetric nor a TFStepMetric.
        """
        if self._summary_op is not None:
            raise RuntimeError("metric.tf_summaries() can only be called once.")
        from policylib.metrics import tf_metric
        from policylib.utils import summaries

        value = self.summary_placeholder
        ops = [
            summaries.scalar(
                name=_join(self.prefix, self.name),
                data=value,
                step=train_step,
            )
        ]
        for step_metric in step_metrics:
            if step_metric.name == self.name:
                continue
            if isinstance(step_metric, PyMetric):
                step = step_metric.summary_placeholder
            elif isinstance(step_metric, tf_metric.TFStepMetric):
                step = step_metric.result()
            else:
                raise ValueError(
                    f"step_metric is not PyMetric or TFStepMetric: {step_metric}"
                )
            tag = tf_metric._step_tag(self.prefix, step_metric.name, self.name)
            ops.append(summaries.scalar(name=tag, data=value, step=step))
        self._summary_op = tf.group(*[op for op in ops if op is not None])
        return self._summary_op


class PyStepMetric(PyMetric):
    """A metric updated with one `Trajectory` (batched or not) per call."""

    @abc.abstractmethod
    def call(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Updates the metric with `trajectory`."""
