"""`TFDriver`: runs a TF policy in a TF environment inside one `tf.function`."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from policylib.drivers import driver
from policylib.environments import step_mirror, tf_environment
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common

__all__ = ["TFDriver"]


class TFDriver(driver.Driver[tf_environment.TFEnvironment, tf_policy.TFPolicy]):
    """Steps until `max_steps` steps or `max_episodes` episodes, whichever first.

    Counting is as in `PyDriver` (over the whole batch; boundaries are not
    steps). `run` is compiled with autograph unless `disable_tf_function`.

    Args:
      env: a `TFEnvironment`.
      policy: a `TFPolicy` matching the environment's specs.
      observers: called with each `Trajectory`.
      transition_observers: called with each `(time_step, policy_step,
        next_time_step)`.
      max_steps: steps to run; None or 0 for no limit.
      max_episodes: episodes to run; None or 0 for no limit.
      disable_tf_function: run eagerly (for debugging).

    Raises:
      ValueError: neither limit is positive, or the specs do not match.
    """

    def __init__(
        self,
        env: tf_environment.TFEnvironment,
        policy: tf_policy.TFPolicy,
        observers: Sequence[driver.TrajectoryObserver],
        transition_observers: Sequence[driver.TransitionObserver] | None = None,
        max_steps: types.Int | None = None,
        max_episodes: types.Int | None = None,
        disable_tf_function: bool = False,
    ):
        common.check_tf1_allowed()
        driver.check_tf_env_and_policy("TFDriver", env, policy)
        max_steps, max_episodes = driver.checked_limits(
            "TFDriver", max_steps, max_episodes
        )
        super().__init__(env, policy, observers, transition_observers)
        self._max_steps = max_steps
        self._max_episodes = max_episodes
        if not disable_tf_function:
            # Traced per instance, as TF-Agents does.
            self.run = common.function(self.run, autograph=True)  # type: ignore[method-assign]

    def run(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor = ()
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        """Runs from `time_step`; returns the last time step and policy state."""
        num_steps = tf.constant(0.0)
        num_episodes = tf.constant(0.0)
        # Keeps a TFPyEnvironment's mirrored time step stale while stepping it
        # (see step_mirror; the time step here is the caller's).
        loop = step_mirror.DriverLoop(self.env)
        with loop.stepping():
            while num_steps < self._max_steps and num_episodes < self._max_episodes:
                action_step = self.policy.action(time_step, policy_state)
                next_time_step = self.env.step(action_step.action)
                traj = trajectory.from_transition(
                    time_step, action_step, next_time_step
                )
                self._observe(traj, (time_step, action_step, next_time_step))
                boundary = tf.cast(traj.is_boundary(), tf.float32)
                num_episodes += tf.reduce_sum(boundary)
                num_steps += tf.reduce_sum(1.0 - boundary)
                time_step = next_time_step
                policy_state = action_step.state
        return loop.finish(time_step), policy_state
