"""`DynamicEpisodeDriver`: runs a TF policy for a number of episodes in a `tf.while_loop`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.base import arg_checks, nest_utils
from policylib.drivers import driver
from policylib.drivers.dynamic_step_driver import run_loop
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["DynamicEpisodeDriver"]


@gin.configurable
class DynamicEpisodeDriver(driver.Driver):
    """Runs until `num_episodes` episodes end (summed over the batch).

    Args:
      env: a `TFEnvironment`.
      policy: a `TFPolicy` matching the environment's specs.
      observers: called with each `Trajectory`.
      transition_observers: called with each `(time_step, policy_step,
        next_time_step)`.
      num_episodes: episodes per `run`.
    """

    def __init__(
        self,
        env: Any,
        policy: Any,
        observers: Sequence[Callable[[Any], Any]] | None = None,
        transition_observers: Sequence[Callable[[Any], Any]] | None = None,
        num_episodes: int = 1,
    ):
        driver.check_tf_env_and_policy("DynamicEpisodeDriver", env, policy)
        arg_checks.check_int(
            num_episodes, "num_episodes", minimum=0, owner="DynamicEpisodeDriver"
        )
        super().__init__(env, policy, observers, transition_observers)
        self._num_episodes = num_episodes
        self._run_fn = common.function_in_tf1()(self._run)

    def run(
        self,
        time_step: ts.TimeStep | None = None,
        policy_state: types.NestedTensor | None = None,
        num_episodes: types.Int | None = None,
        maximum_iterations: types.Int | None = None,
        episodes_per_env: Sequence[int] | None = None,
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        """Runs episodes from `time_step` (a fresh reset if None).

        Args:
          time_step: where to start; `env.reset()` when None.
          policy_state: the policy state; its initial state when None.
          num_episodes: episodes over the whole batch, counted as they end
            (`num_episodes` of the constructor when None).
          maximum_iterations: the most loop iterations.
          episodes_per_env: instead of `num_episodes`, how many episodes each
            batch entry runs; once an entry has run its share, observers see
            its steps as zero-reward boundaries (which metrics ignore).

        Returns:
          The last time step and policy state.
        """
        return self._run_fn(
            time_step=time_step,
            policy_state=policy_state,
            num_episodes=num_episodes,
            maximum_iterations=maximum_iterations,
            episodes_per_env=episodes_per_env,
        )

    def _run(
        self,
        time_step=None,
        policy_state=None,
        num_episodes=None,
        maximum_iterations=None,
        episodes_per_env=None,
    ):
        if time_step is None:
            time_step = self.env.reset()
        if policy_state is None:
            policy_state = self.policy.get_initial_state(self.env.batch_size)
        counts = lambda t: tf.cast(t.is_boundary(), tf.int32)  # noqa: E731
        if episodes_per_env is not None:
            quota = tf.constant(episodes_per_env, tf.int32)
            return run_loop(
                self,
                time_step,
                policy_state,
                keep_going=lambda c: tf.reduce_any(c < quota),
                counts=counts,
                maximum_iterations=maximum_iterations,
                observed=lambda traj, c: hide_finished(traj, c < quota),
            )
        num_episodes = num_episodes or self._num_episodes
        return run_loop(
            self,
            time_step,
            policy_state,
            keep_going=lambda c: tf.reduce_sum(c) < num_episodes,
            counts=counts,
            maximum_iterations=maximum_iterations,
        )


def hide_finished(traj: Any, active: Any) -> Any:
    """`traj` with the entries where `active` is False made zero-reward boundaries.

    Metrics ignore boundaries (not a step, not an episode end), so batch
    entries that have run their share of episodes stop counting.
    """
    hidden = (
        tf.fill(tf.shape(traj.step_type), ts.StepType.LAST),
        tf.fill(tf.shape(traj.next_step_type), ts.StepType.FIRST),
        tf.nest.map_structure(tf.zeros_like, traj.reward),
    )
    step_type, next_step_type, reward = nest_utils.where(
        active, (traj.step_type, traj.next_step_type, traj.reward), hidden
    )
    return traj._replace(
        step_type=step_type, next_step_type=next_step_type, reward=reward
    )
