"""`Actor`: runs a policy in a Python environment and feeds observers and metrics.

Collection and evaluation jobs differ only in what they observe: a collect
actor writes to a replay buffer, an eval actor only keeps metrics. Both write
their metrics as summaries against the learner's train step.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.drivers import py_driver
from policylib.environments import py_environment, tf_environment
from policylib.metrics import py_metrics
from policylib.train._context import soft_device_placement

__all__ = ["Actor", "collect_metrics", "eval_metrics"]

_log = logging.getLogger(__name__)


def _unique(items: Sequence[Any]) -> list[Any]:
    """`items` without repeats (by identity), first occurrence kept."""
    seen: set[int] = set()
    out = []
    for item in items:
        if id(item) not in seen:
            seen.add(id(item))
            out.append(item)
    return out


@gin.configurable
class Actor:
    """Steps a policy in an environment for a fixed number of steps or episodes per `run`.

    Every step goes to `observers` (trajectories), `transition_observers`
    (`(time_step, policy_step, next_time_step)`), `info_observers` (the
    environment's info) and to the metrics, which are observers too.

    Args:
      env: a `PyEnvironment` (TF environments are not supported).
      policy: a `PyPolicy` matching `env` (wrap a TF policy in `PyTFEagerPolicy`).
      train_step: the learner's scalar int64 train-step variable; summaries are
        written against it.
      steps_per_run: environment steps per `run` call.
      episodes_per_run: episodes per `run` call (at least one of the two).
      observers: callables taking each `Trajectory`.
      transition_observers: callables taking each transition tuple.
      info_observers: callables taking each step's environment info.
      metrics: scalar metrics (observers) whose results are summarized.
      reference_metrics: metrics to plot every metric against as well, e.g.
        `EnvironmentSteps` (also put them in `metrics` to update them).
      image_metrics: metrics whose results are images.
      summary_dir: where summaries go; None or "" writes none.
      summary_interval: train steps between two automatic summary writes.
      end_episode_on_boundary: end a trajectory at an episode boundary (True for
        trajectory observers, False for transition observers).
      name: prefix of this actor's summary tags.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        policy: Any,
        train_step: tf.Variable,
        steps_per_run: int | None = None,
        episodes_per_run: int | None = None,
        observers: Sequence[Any] | None = None,
        transition_observers: Sequence[Any] | None = None,
        info_observers: Sequence[Any] | None = None,
        metrics: Sequence[Any] | None = None,
        reference_metrics: Sequence[Any] | None = None,
        image_metrics: Sequence[Any] | None = None,
        summary_dir: str | None = None,
        summary_interval: int = 1000,
        end_episode_on_boundary: bool = True,
        name: str = "",
    ):
        if isinstance(env, tf_environment.TFEnvironment):
            raise ValueError(
                "Actor: env is a TFEnvironment; the Actor runs PyEnvironments only "
                "(wrap the policy in PyTFEagerPolicy and pass the Python environment)."
            )
        if not isinstance(env, py_environment.PyEnvironment):
            raise ValueError(
                f"Actor: env must be a PyEnvironment, got {type(env).__name__}."
            )
        self._env = env
        self._policy = policy
        self._train_step = train_step
        self._metrics = list(metrics or [])
        self._image_metrics = list(image_metrics or [])
        self._reference_metrics = list(reference_metrics or [])
        self._observers = _unique(
            list(observers or []) + self._metrics + self._image_metrics
        )
        self._transition_observers = list(transition_observers or [])
        self._info_observers = list(info_observers or [])
        self._name = name

        self._write_summaries = bool(summary_dir)
        if self._write_summaries:
            self._summary_writer = tf.summary.create_file_writer(
                summary_dir, flush_millis=10000
            )
        else:
            self._summary_writer = tf.summary.create_noop_writer()
        self._summary_interval = summary_interval
        self._last_summary = -summary_interval

        self._driver = py_driver.PyDriver(
            env,
            policy,
            self._observers,
            transition_observers=self._transition_observers,
            info_observers=self._info_observers,
            max_steps=steps_per_run,
            max_episodes=episodes_per_run,
            end_episode_on_boundary=end_episode_on_boundary,
        )
        self._time_step: Any = None
        self._policy_state: Any = None
        self.reset()

    @property
    def metrics(self) -> list[Any]:
        return self._metrics

    @property
    def image_metrics(self) -> list[Any]:
        return self._image_metrics

    @property
    def summary_writer(self) -> Any:
        return self._summary_writer

    @property
    def train_step(self) -> tf.Variable:
        return self._train_step

    @property
    def policy(self) -> Any:
        return self._policy

    def run(self) -> None:
        """Runs the configured steps/episodes, then writes summaries when an interval is due."""
        self._time_step, self._policy_state = self._driver.run(
            self._time_step, self._policy_state
        )
        step = int(self._train_step.numpy())
        if (
            self._write_summaries
            and self._summary_interval > 0
            and step - self._last_summary >= self._summary_interval
        ):
            self.write_metric_summaries()
            self._last_summary = step

    def run_and_log(self) -> None:
        """`run`, then log the metrics."""
        self.run()
        self.log_metrics()

    def write_metric_summaries(self) -> None:
        """Writes each metric's result at the current train step (and per reference metric)."""
        step = self._train_step
        with (
            self._summary_writer.as_default(),
            soft_device_placement(),
            tf.summary.record_if(True),
        ):
            for metric in self._metrics:
                self._write(
                    tf.summary.scalar,
                    os.path.join("Metrics/", self._name, metric.name),
                    metric.result(),
                    step,
                    metric,
                )
                for reference in self._reference_metrics:
                    self._write(
                        tf.summary.scalar,
                        os.path.join(
                            self._name, f"Metrics/{metric.name}/{reference.name}"
                        ),
                        metric.result(),
                        reference.result(),
                        metric,
                    )
            for metric in self._image_metrics:
                self._write(
                    tf.summary.image,
                    os.path.join("Metrics/", self._name, metric.name),
                    metric.result(),
                    step,
                    metric,
                )

    @staticmethod
    def _write(summary_fn: Any, tag: str, data: Any, step: Any, metric: Any) -> None:
        """Writes one summary; a result that cannot be summarized is logged, not raised."""
        try:
            summary_fn(name=tag, data=data, step=step)
        except ValueError as e:
            _log.error("Actor: no summary %r for metric %s: %s", tag, metric.name, e)

    def log_metrics(self) -> None:
        """Logs every metric's current result."""
        lines = [f"{m.name} = {m.result()}" for m in self._metrics]
        _log.info("%s \n\t\t %s", self._name, "\n\t\t ".join(lines))

    def reset(self) -> None:
        """Resets the environment and the policy state: the next `run` starts fresh."""
        self._time_step = self._env.reset()
        self._policy_state = self._policy.get_initial_state(self._env.batch_size or 1)


def collect_metrics(buffer_size: int) -> list[Any]:
    """Metrics a collect actor usually keeps: episodes, env steps, average return and length.

    Args:
      buffer_size: episodes the averages run over.
    """
    return [
        py_metrics.NumberOfEpisodes(),
        py_metrics.EnvironmentSteps(),
        py_metrics.AverageReturnMetric(buffer_size=buffer_size),
        py_metrics.AverageEpisodeLengthMetric(buffer_size=buffer_size),
    ]


def eval_metrics(buffer_size: int) -> list[Any]:
    """Metrics an eval actor usually keeps: average return and episode length.

    Args:
      buffer_size: episodes the averages run over.
    """
    return [
        py_metrics.AverageReturnMetric(buffer_size=buffer_size),
        py_metrics.AverageEpisodeLengthMetric(buffer_size=buffer_size),
    ]
