"""`DynamicEpisodeDriver`: runs a TF policy for a number of episodes in a `tf.while_loop`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gin
import tensorflow as tf

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
        super().__init__(env, policy, observers, transition_observers)
        self._num_episodes = num_episodes
        self._run_fn = common.function_in_tf1()(self._run)

    def run(
        self,
        time_step: ts.TimeStep | None = None,
        policy_state: types.NestedTensor | None = None,
        num_episodes: types.Int | None = None,
        maximum_iterations: types.Int | None = None,
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        """Runs episodes from `time_step` (a fresh reset if None).

        Returns:
          The last time step and policy state.
        """
        return self._run_fn(
            time_step=time_step,
            policy_state=policy_state,
            num_episodes=num_episodes,
            maximum_iterations=maximum_iterations,
        )

    def _run(
        self,
        time_step=None,
        policy_state=None,
        num_episodes=None,
        maximum_iterations=None,
    ):
        if time_step is None:
            time_step = self.env.reset()
        if policy_state is None:
            policy_state = self.policy.get_initial_state(self.env.batch_size)
        num_episodes = num_episodes or self._num_episodes
        return run_loop(
            self,
            time_step,
            policy_state,
            keep_going=lambda c: tf.reduce_sum(c) < num_episodes,
            counts=lambda t: tf.cast(t.is_boundary(), tf.int32),
            maximum_iterations=maximum_iterations,
        )
