"""`TFStepMetric`: the base of in-graph metrics (state in variables)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf

from policylib.typing import types
from policylib.utils import common, summaries

__all__ = ["TFHistogramStepMetric", "TFMultiMetricStepMetric", "TFStepMetric"]


def _step_tag(prefix: str, step_metric_name: str, *names: str) -> str:
    """'<prefix>_vs_<step metric>/<names...>', e.g. 'Metrics_vs_EnvironmentSteps/AverageReturn'."""
    head = f"{prefix}_" if prefix else ""
    return "/".join([f"{head}vs_{step_metric_name}", *names])


class TFStepMetric(tf.Module):
    """A metric updated by calling it with a trajectory; subclasses define `call`.

    Args:
      name: the metric's name (its summary tag is `prefix/name`).
      prefix: the summary tag prefix.
    """

    def __init__(self, name: str, prefix: str = "Metrics"):
        super().__init__(name)
        common.check_tf1_allowed()
        self._prefix = prefix

    @property
    def prefix(self) -> str:
        return self._prefix

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """Updates the metric; returns its input (so it can chain)."""
        raise NotImplementedError("Metrics must define a call() member function")

    def reset(self) -> tf.Operation | None:
        """Clears the metric."""
        raise NotImplementedError("Metrics must define a reset() member function")

    def result(self) -> types.NestedTensor:
        """The metric's value."""
        raise NotImplementedError("Metrics must define a result() member function")

    def init_variables(self) -> tf.Operation | None:
        """In TF1 graphs, the op that initializes the metric's variables."""
        if not tf.executing_eagerly():
            return tf.compat.v1.group([v.initializer for v in self.variables])
        return None

    @common.function
    def _update_state(self, *args: Any, **kwargs: Any) -> Any:
        return self.call(*args, **kwargs)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._update_state(*args, **kwargs)

    def _summary(self, name: str, data: types.NestedTensor, step: types.Int) -> object:
        return summaries.scalar(name=name, data=data, step=step)

    def _named_results(self) -> list[tuple[tuple[str, ...], types.NestedTensor]]:
        """The results to summarize, each with the tag names that follow the metric's."""
        return [((), self.result())]

    def tf_summaries(
        self,
        train_step: types.Int | None = None,
        step_metrics: Sequence[TFStepMetric] = (),
    ) -> list[object]:
        """Writes each result against `train_step` and against each step metric."""
        named_results = self._named_results()
        tag = common.join_scope(self._prefix, self.name)
        summaries = []
        if train_step is not None:
            for names, result in named_results:
                tags = common.join_scope(tag, "/".join(names))
                summaries.append(self._summary(tags, result, train_step))
        for names, result in named_results:
            for step_metric in step_metrics:
                if step_metric.name == self.name:
                    continue
                step = tf.cast(step_metric.result(), tf.int64)
                step_tag = _step_tag(self._prefix, step_metric.name, self.name, *names)
                summaries.append(self._summary(step_tag, result, step))
        return summaries


class TFHistogramStepMetric(TFStepMetric):
    """A metric whose result is summarized as a histogram."""

    def _summary(self, name: str, data: types.NestedTensor, step: types.Int) -> object:
        return summaries.histogram(name=name, data=data, step=step)


class TFMultiMetricStepMetric(TFStepMetric):
    """A metric with several results (a nest), each summarized under its own name.

    Args:
      name: the metric's name.
      prefix: the summary tag prefix.
      metric_names: names of the results, in flattened order.
    """

    def __init__(
        self, name: str, prefix: str = "Metrics", metric_names: Sequence[str] = ()
    ):
        super().__init__(name, prefix)
        self._metric_names = tuple(metric_names)

    @property
    def metric_names(self) -> tuple[str, ...]:
        return self._metric_names

    def _result_names(self, count: int) -> list[str]:
        default = self._metric_names[0] if len(self._metric_names) == 1 else "Metric"
        names = []
        for i in range(count):
            if count == len(self._metric_names) and self._metric_names[i] is not None:
                names.append(self._metric_names[i])
            else:
                names.append(f"{default}{i}")
        return names

    def _named_results(self) -> list[tuple[tuple[str, ...], types.NestedTensor]]:
        results = tf.nest.flatten(self.result())
        if len(results) == 1 and results[0].shape.rank:
            # One vector result (e.g. the average return of a vector reward):
            # each entry is its own scalar summary, as in TF-Agents.
            results = tf.unstack(results[0])
        names = self._result_names(len(results))
        return [((name,), result) for name, result in zip(names, results)]
