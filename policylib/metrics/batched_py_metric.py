"""`BatchedPyMetric`: one Python metric per environment of a batch, aggregated."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from policylib.base import nest_utils
from policylib.metrics import py_metric
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types

__all__ = ["BatchedPyMetric"]


class BatchedPyMetric(py_metric.PyStepMetric):
    """Splits batched trajectories among per-environment metrics.

    `result()` is `metric_class.aggregate` over the per-environment metrics
    (their mean for the standard metrics).

    Args:
      metric_class: the `PyStepMetric` class to instantiate per environment.
      metric_args: keyword arguments for `metric_class`.
      name: the metric name; `metric_class`'s default name when None.
      batch_size: number of environments; taken from the first call if None.
      dtype: dtype of the result before any call.
      prefix: the summary prefix.
    """

    def __init__(
        self,
        metric_class: type[py_metric.PyStepMetric],
        metric_args: dict[str, Any] | None = None,
        name: str | None = None,
        batch_size: int | None = None,
        dtype: npt.DTypeLike = np.float32,
        prefix: str = "Metrics",
    ):
        self._metric_class = metric_class
        self._metric_args = dict(metric_args or {})
        if not name:
            name = metric_class(**self._metric_args).name
        super().__init__(name, prefix=prefix)
        self._metrics: list[py_metric.PyStepMetric] = []
        self._dtype = dtype
        if batch_size is not None:
            self.build(batch_size)

    def build(self, batch_size: int) -> None:
        """Creates `batch_size` per-environment metrics."""
        self._metrics = [
            self._metric_class(**self._metric_args) for _ in range(batch_size)
        ]
        for metric in self._metrics:
            metric.reset()

    def call(self, batched_trajectory: trajectory_lib.Trajectory) -> None:
        """Updates each environment's metric with its slice of the batch.

        Raises:
          ValueError: the batch size differs from the one built.
        """
        trajectories = nest_utils.unstack_nested_arrays(batched_trajectory)
        if not self._metrics:
            self.build(len(trajectories))
        if len(trajectories) != len(self._metrics):
            raise ValueError(
                f"Batch size {len(trajectories)} does not match previously set batch "
                f"size {len(self._metrics)}. Make sure your batch size is set correctly "
                "in BatchedPyMetric initialization and that the batch size remains "
                "constant."
            )
        for metric, trajectory in zip(self._metrics, trajectories):
            metric(trajectory)

    def reset(self) -> None:
        for metric in self._metrics:
            metric.reset()

    def result(self) -> types.NestedArray:
        if not self._metrics:
            return np.array(0.0, dtype=self._dtype)
        return self._metric_class.aggregate(self._metrics)

    @staticmethod
    def aggregate(metrics: Sequence[py_metric.PyMetric]) -> np.floating:
        raise NotImplementedError("aggregate() is not implemented for BatchedPyMetric.")
