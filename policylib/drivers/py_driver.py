"""`PyDriver`: runs a Python policy in a Python environment, step by step."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from policylib.base import arg_checks
from policylib.drivers import driver
from policylib.environments import py_environment
from policylib.policies import py_policy
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PyDriver"]


class PyDriver(driver.Driver[py_environment.PyEnvironment, py_policy.PyPolicy]):
    """Steps until `max_steps` steps or `max_episodes` episodes (whichever first).

    Steps are counted over the whole batch, excluding the boundary step
    between episodes; episodes are counted at boundaries (or at LAST steps
    when `end_episode_on_boundary` is False). With a batched environment the
    episodes are whichever finish first; for unbiased evaluation with several
    environments use `eval.metric_utils.compute`, which assigns episodes to
    environments up front.

    Args:
      env: the environment.
      policy: a `PyPolicy` (e.g. `PyTFEagerPolicy`) matching the env's specs.
      observers: called with each `Trajectory`.
      transition_observers: called with each `(time_step, policy_step,
        next_time_step)`.
      info_observers: called with `env.get_info()` after each step.
      max_steps: steps to run; None or 0 for no limit.
      max_episodes: episodes to run; None or 0 for no limit.
      end_episode_on_boundary: count an episode at the boundary after its
        LAST step (True) or at the LAST step itself.

    Raises:
      ValueError: neither limit is positive, or the specs do not match.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        policy: py_policy.PyPolicy,
        observers: Sequence[driver.TrajectoryObserver],
        transition_observers: Sequence[driver.TransitionObserver] | None = None,
        info_observers: Sequence[driver.InfoObserver] | None = None,
        max_steps: types.Int | None = None,
        max_episodes: types.Int | None = None,
        end_episode_on_boundary: bool = True,
    ):
        arg_checks.check_kind(
            env,
            py_environment.PyEnvironment,
            "PyDriver: env",
            "A TFEnvironment is run by DynamicStepDriver or TFDriver.",
        )
        arg_checks.check_kind(
            policy,
            py_policy.PyPolicy,
            "PyDriver: policy",
            "Wrap a TFPolicy in py_tf_eager_policy.PyTFEagerPolicy.",
        )
        max_steps, max_episodes = driver.checked_limits(
            "PyDriver", max_steps, max_episodes
        )
        super().__init__(env, policy, observers, transition_observers, info_observers)
        self._max_steps = max_steps
        self._max_episodes = max_episodes
        self._end_episode_on_boundary = end_episode_on_boundary

    def step(
        self, time_step: ts.TimeStep, policy_state: types.NestedArray
    ) -> tuple[trajectory.Trajectory, ts.TimeStep, types.NestedArray]:
        """One step of the policy in the environment, with every observer called.

        Returns:
          `(trajectory, next_time_step, next_policy_state)`.
        """
        action_step = self.policy.action(time_step, policy_state)
        next_time_step = self.env.step(action_step.action)
        # Observers see the state the action was taken in, not the next one.
        taken = policy_step.PolicyStep(
            action_step.action, policy_state, action_step.info
        )
        traj = trajectory.from_transition(time_step, taken, next_time_step)
        self._observe(traj, (time_step, taken, next_time_step))
        for observer in self._info_observers:
            observer(self.env.get_info())
        return traj, next_time_step, action_step.state

    def run(
        self, time_step: ts.TimeStep, policy_state: types.NestedArray = ()
    ) -> tuple[ts.TimeStep, types.NestedArray]:
        """Runs from `time_step` until a limit is reached.

        With an unbatched environment, each episode after the first starts
        from the policy's initial state (the caller's state is for the first).

        Returns:
          The last time step and policy state, to continue from.
        """
        num_steps = 0
        num_episodes = 0
        while num_steps < self._max_steps and num_episodes < self._max_episodes:
            if not self.env.batched and num_episodes > 0 and time_step.is_first():
                policy_state = self.policy.get_initial_state(self.env.batch_size or 1)
            traj, time_step, policy_state = self.step(time_step, policy_state)
            ended = (
                traj.is_boundary() if self._end_episode_on_boundary else traj.is_last()
            )
            num_episodes += int(np.sum(ended))
            num_steps += int(np.sum(~traj.is_boundary()))
        return time_step, policy_state
