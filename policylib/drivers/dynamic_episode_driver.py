"""`DynamicEpisodeDriver`: runs a TF policy for a number of episodes in a `tf.while_loop`."""

from __future__ import annotations

from collections.abc import Sequence

import gin
import tensorflow as tf

from policylib.base import nest_utils
from policylib.drivers import driver
from policylib.drivers.dynamic_step_driver import WhileLoopDriver, run_loop
from policylib.environments import step_mirror, tf_environment
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types

__all__ = ["DynamicEpisodeDriver"]


@gin.configurable
class DynamicEpisodeDriver(WhileLoopDriver):
    """Runs until `num_episodes` episodes end (summed over the batch).

    Args:
      env, policy, observers, transition_observers: as in `DynamicStepDriver`
        (a `TFEnvironment`, a `TFPolicy` matching its specs, callables given
        each `Trajectory`, callables given each `(time_step, policy_step,
        next_time_step)`).
      num_episodes: episodes per `run`.
    """

    def __init__(
        self,
        env: tf_environment.TFEnvironment,
        policy: tf_policy.TFPolicy,
        observers: Sequence[driver.TrajectoryObserver] | None = None,
        transition_observers: Sequence[driver.TransitionObserver] | None = None,
        num_episodes: int = 1,
    ):
        super().__init__(
            env, policy, observers, transition_observers, "num_episodes", num_episodes
        )
        self._num_episodes = num_episodes

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
        time_step: ts.TimeStep | None = None,
        policy_state: types.NestedTensor | None = None,
        num_episodes: types.Int | None = None,
        maximum_iterations: types.Int | None = None,
        episodes_per_env: Sequence[int] | None = None,
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        loop = step_mirror.DriverLoop(self.env)
        if time_step is None:
            time_step = loop.reset()
        if policy_state is None:
            policy_state = self.policy.get_initial_state(self.env.batch_size)
        if self.bandit_env:  # Every trajectory is a whole episode.
            counts = lambda t: tf.ones_like(t.step_type, tf.int32)  # noqa: E731
        else:
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
                loop=loop,
            )
        num_episodes = num_episodes or self._num_episodes
        return run_loop(
            self,
            time_step,
            policy_state,
            keep_going=lambda c: tf.reduce_sum(c) < num_episodes,
            counts=counts,
            maximum_iterations=maximum_iterations,
            loop=loop,
        )


def hide_finished(
    traj: trajectory.Trajectory, active: tf.Tensor
) -> trajectory.Trajectory:
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
