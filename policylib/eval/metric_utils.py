"""Evaluate a policy: run episodes, feed metrics, return their results.

`compute` (Python environments) assigns episodes to the environments of a
batch up front: with N episodes and B environments, environment i runs the
episodes k with k % B == i, and its trajectories after its last assigned
episode are not shown to the metrics. "Stop after the first N episodes to
finish" would over-count short episodes; this does not. With `seed`, episode
k starts from a reset seeded with `seed + k` wherever it runs, so a
deterministic policy gets the same mean return serially and in parallel.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeAlias

import gin
import numpy as np
import numpy.typing as npt
from absl import logging

from policylib.base import arg_checks, lazy_tf
from policylib.drivers import py_driver
from policylib.environments import py_environment
from policylib.metrics import py_metric
from policylib.policies import py_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory as trajectory_lib

if TYPE_CHECKING:
    import tensorflow as tf

    from policylib.environments import tf_environment
    from policylib.metrics import tf_metric
    from policylib.policies import tf_policy
    from policylib.typing import types

# A Python metric (`compute`) or a TF one (`eager_compute`).
Metric: TypeAlias = "py_metric.PyMetric | tf_metric.TFStepMetric"
Results: TypeAlias = "collections.OrderedDict[str, object]"

__all__ = [
    "MetricsGroup",
    "assign_episodes",
    "compute",
    "compute_summaries",
    "eager_compute",
    "log_metrics",
    "run_episodes",
]


class MetricsGroup(lazy_tf.Module):
    """A named list of metrics (checkpointable together once TF is loaded)."""

    def __init__(self, metrics: Sequence[Metric], name: str | None = None):
        super().__init__(name=name)
        self.metrics = metrics

    def results(self) -> Results:
        return _results(self.metrics)


def _results(metrics: Sequence[Metric]) -> Results:
    """Metric name -> result, in the metrics' order."""
    return collections.OrderedDict((m.name, m.result()) for m in metrics)


def log_metrics(metrics: Sequence[Metric], prefix: str = "") -> None:
    """Logs each metric's name and result at INFO level."""
    lines = [f"{m.name} = {m.result()}" for m in metrics]
    logging.info("%s \n\t\t %s", prefix, "\n\t\t ".join(lines))


def assign_episodes(num_episodes: int, num_envs: int) -> list[list[int]]:
    """The episode indices each environment runs: env i gets k with k % num_envs == i."""
    return [list(range(i, num_episodes, num_envs)) for i in range(num_envs)]


def _masked(
    traj: trajectory_lib.Trajectory, active: np.ndarray
) -> trajectory_lib.Trajectory:
    """`traj` with inactive entries made zero-reward boundaries, in NumPy.

    What `dynamic_episode_driver.hide_finished` does to tensors: metrics
    ignore boundaries, so environments past their share stop counting. A
    no-op while all are active.
    """
    if active.all():
        return traj

    def _hide(value: np.ndarray, hidden: npt.ArrayLike) -> np.ndarray:
        value = np.asarray(value)
        mask = np.reshape(active, active.shape + (1,) * (value.ndim - active.ndim))
        return np.where(mask, value, hidden).astype(value.dtype)

    return traj._replace(
        step_type=_hide(traj.step_type, ts.StepType.LAST),
        next_step_type=_hide(traj.next_step_type, ts.StepType.FIRST),
        reward=lazy_tf.nest.map_structure(lambda r: _hide(r, 0), traj.reward),
    )


def _seed(
    environment: py_environment.PyEnvironment, env_index: int | None, seed: int
) -> None:
    if env_index is None:
        environment.seed(seed)
    else:
        seeds: list[int | None] = [None] * (environment.batch_size or 1)
        seeds[env_index] = seed
        environment.seed(seeds)


def run_episodes(
    metrics: Sequence[py_metric.PyMetric],
    environment: py_environment.PyEnvironment,
    policy: py_policy.PyPolicy,
    episode_ids: Sequence[int],
    seed: int | None = None,
) -> None:
    """Runs the episodes `episode_ids` (checked arguments), feeding `metrics`.

    Environment i of a batch runs `episode_ids[i::batch_size]`; with `seed`,
    episode k starts from a reset seeded with `seed + k`. Worker processes
    and Ray actors run their share of an evaluation through this.

    A batch that resets its environments itself and takes seeds only at a
    full reset (EnvPool, Gymnasium's vector environments: `seeds_each_episode`
    False) seeds environment i's first episode with `seed + episode_ids[i]`;
    its later episodes continue that environment's random stream, so the
    results are repeatable for the same `seed` and batch size.
    """
    episode_ids = list(episode_ids)
    batched = environment.batched
    num_envs = (environment.batch_size or 1) if batched else 1
    episodes = [list(episode_ids[i::num_envs]) for i in range(num_envs)]
    quota = np.array([len(e) for e in episodes])
    finished = np.zeros(num_envs, np.int64)

    def observe(traj: trajectory_lib.Trajectory) -> None:
        active = finished < quota
        if batched:
            traj = _masked(traj, active)
        for metric in metrics:
            metric(traj)

    driver = py_driver.PyDriver(
        environment, policy, observers=[observe], max_episodes=len(episode_ids)
    )
    seeds_each_episode = environment.seeds_each_episode
    if seed is not None:
        if batched:
            environment.seed([seed + e[0] if e else None for e in episodes])
        else:
            environment.seed(seed + episodes[0][0])
    time_step = environment.reset()
    initial_state = policy.get_initial_state(environment.batch_size)
    policy_state = initial_state
    while np.any(finished < quota):
        if not batched and time_step.is_first():
            policy_state = initial_state
        was_active = finished < quota
        traj, time_step, policy_state = driver.step(time_step, policy_state)
        ended = np.reshape(traj.is_last(), (num_envs,)) & was_active
        for i in np.flatnonzero(ended):
            finished[i] += 1
            if seed is not None and seeds_each_episode and finished[i] < quota[i]:
                _seed(
                    environment,
                    int(i) if batched else None,
                    seed + episodes[i][finished[i]],
                )


@gin.configurable
def compute(
    metrics: Sequence[py_metric.PyMetric],
    environment: py_environment.PyEnvironment,
    policy: py_policy.PyPolicy,
    num_episodes: int = 1,
    seed: int | None = None,
) -> Results:
    """Runs `num_episodes` episodes of `policy` in a Python environment.

    Args:
      metrics: Python metrics (observers of trajectories); reset first.
      environment: a `PyEnvironment`, batched (e.g. `ParallelPyEnvironment`)
        or not.
      policy: a `PyPolicy` matching the environment's specs.
      num_episodes: episodes in total, assigned to environments up front.
      seed: if given, episode k is reset with seed `seed + k` (the
        environment must support `seed`; batched ones take one per env).

    Returns:
      An OrderedDict of metric name -> result.

    Raises:
      ValueError: the policy's specs do not match the environment's, or
        `num_episodes` is not positive.
    """
    arg_checks.check_int(num_episodes, "num_episodes", owner="compute")
    _check_metrics(metrics, _tf_step_metric(), "compute", "eager_compute")
    arg_checks.check_kind(
        environment,
        py_environment.PyEnvironment,
        "compute: environment",
        "For a TFEnvironment use eager_compute.",
    )
    arg_checks.check_kind(
        policy,
        py_policy.PyPolicy,
        "compute: policy",
        "Wrap a TFPolicy in py_tf_eager_policy.PyTFEagerPolicy, or use eager_compute.",
    )
    for metric in metrics:
        metric.reset()
    run_episodes(metrics, environment, policy, range(num_episodes), seed)
    return _results(metrics)


@gin.configurable
def compute_summaries(
    metrics: Sequence[py_metric.PyMetric],
    environment: py_environment.PyEnvironment,
    policy: py_policy.PyPolicy,
    num_episodes: int = 1,
    global_step: types.Int | None = None,
    tf_summaries: bool = True,
    log: bool = False,
    callback: Callable[[Results, types.Int | None], object] | None = None,
) -> Results:
    """`compute`, then TF1 summaries, logging and a callback(results, global_step)."""
    results = compute(metrics, environment, policy, num_episodes)
    if tf_summaries:
        py_metric.run_summaries(metrics)
    if log:
        log_metrics(metrics, prefix=f"Step = {global_step}")
    if callback is not None:
        callback(results, global_step)
    return results


def _tf_step_metric() -> type | None:
    """`TFStepMetric`, if TensorFlow is loaded (no TF metric exists otherwise)."""
    if not lazy_tf.is_loaded():
        return None
    from policylib.metrics import tf_metric

    return tf_metric.TFStepMetric


def _check_metrics(
    metrics: object, other_kind: type | None, owner: str, other_fn: str
) -> None:
    """Raises TypeError naming the metric that `owner` cannot run.

    A metric must have `reset` and `result` and be callable on a trajectory;
    one of `other_kind` (TF metrics for `compute`, Python ones for
    `eager_compute`) is refused with a pointer to `other_fn`.
    """
    if isinstance(metrics, (str, bytes)) or not isinstance(metrics, Sequence):
        raise TypeError(
            f"{owner}: metrics must be a list of metrics, got {metrics!r:.100}."
        )
    for index, metric in enumerate(metrics):
        if other_kind is not None and isinstance(metric, other_kind):
            raise TypeError(
                f"{owner}: metrics[{index}] ({type(metric).__name__}) is a "
                f"{'TF' if owner == 'compute' else 'Python'} metric; use {other_fn} for it."
            )
        if not (
            callable(metric) and hasattr(metric, "reset") and hasattr(metric, "result")
        ):
            raise TypeError(
                f"{owner}: metrics[{index}] is not a metric (callable, with reset and "
                f"result): {type(metric).__name__} {metric!r:.100}."
            )


@gin.configurable
def eager_compute(
    metrics: Sequence[tf_metric.TFStepMetric],
    environment: tf_environment.TFEnvironment,
    policy: tf_policy.TFPolicy,
    num_episodes: int = 1,
    train_step: types.Int | None = None,
    summary_writer: tf.summary.SummaryWriter | None = None,
    summary_prefix: str = "",
    use_function: bool = True,
) -> Results:
    """Runs `num_episodes` episodes of a TF policy in a TF environment.

    Uses `DynamicEpisodeDriver`; with a batch of environments, episodes are
    assigned to them up front as in `compute` (no per-episode seeding). Writes
    scalar summaries when `train_step` and `summary_writer` are given.

    Returns:
      An OrderedDict of metric name -> result.
    """
    from policylib.drivers import driver as driver_lib
    from policylib.drivers import dynamic_episode_driver
    from policylib.utils import common, summaries

    arg_checks.check_int(num_episodes, "num_episodes", minimum=0, owner="eager_compute")
    _check_metrics(metrics, py_metric.PyMetric, "eager_compute", "compute")
    driver_lib.check_tf_env_and_policy("eager_compute", environment, policy)
    for metric in metrics:
        metric.reset()
    time_step = environment.reset()
    policy_state = policy.get_initial_state(environment.batch_size)
    driver = dynamic_episode_driver.DynamicEpisodeDriver(
        environment, policy, observers=metrics, num_episodes=num_episodes
    )
    run = common.function(driver.run) if use_function else driver.run
    shares = assign_episodes(num_episodes, environment.batch_size or 1)
    run(time_step, policy_state, episodes_per_env=[len(s) for s in shares])
    results = _results(metrics)
    if train_step is not None and summary_writer:
        with summary_writer.as_default():
            for m in metrics:
                tag = common.join_scope(summary_prefix, m.name)
                summaries.scalar(name=tag, data=m.result(), step=train_step)
    return results
