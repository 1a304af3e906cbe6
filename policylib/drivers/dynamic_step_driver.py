"""`DynamicStepDriver`: runs a TF policy for a number of steps in a `tf.while_loop`."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import gin
import tensorflow as tf

from policylib.base import arg_checks, nest_utils
from policylib.drivers import driver
from policylib.environments import (
    step_mirror,
    tf_environment,
    tf_py_environment,
    wrappers,
)
from policylib.policies import tf_policy
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common

__all__ = ["DynamicStepDriver", "WhileLoopDriver", "is_bandit_env", "run_loop"]


def is_bandit_env(env: object) -> bool:
    """Whether `env`, under any `TFPyEnvironment` and wrappers, is a bandit environment.

    A bandit environment's every step is LAST (a one-step episode), so the
    drivers give each trajectory a FIRST step type and count every step, as
    TF-Agents does. Bandit environments say so with a class attribute
    `one_step_episodes = True` (the drivers sit below `policylib.bandits`).
    """
    seen: set[int] = set()
    while id(env) not in seen:
        seen.add(id(env))
        if getattr(type(env), "one_step_episodes", False) is True:
            return True
        if isinstance(env, tf_py_environment.TFPyEnvironment):
            env = env.pyenv
        elif isinstance(env, wrappers.PyEnvironmentBaseWrapper):
            env = env.wrapped_env()
    return False


def run_loop(
    drv: WhileLoopDriver,
    time_step: ts.TimeStep,
    policy_state: types.NestedTensor,
    keep_going: Callable[[tf.Tensor], tf.Tensor],
    counts: Callable[[trajectory.Trajectory], tf.Tensor],
    maximum_iterations: types.Int | None,
    observed: Callable[[trajectory.Trajectory, tf.Tensor], trajectory.Trajectory]
    | None = None,
    *,
    loop: step_mirror.DriverLoop,
) -> tuple[ts.TimeStep, types.NestedTensor]:
    """The `tf.while_loop` both dynamic drivers run.

    Each iteration acts, steps the environment, calls the observers (with
    `observed(trajectory, counter)` when given), and adds `counts(trajectory)`
    (per batch entry) to a counter; the loop goes on while `keep_going(counter)`.
    `loop`: the `DriverLoop` the first time step came from, which keeps a
    `TFPyEnvironment`'s current time step for the next run.
    """
    outer = nest_utils.get_outer_shape(time_step, drv.env.time_step_spec())

    def body(counter, time_step, policy_state):
        action_step = drv.policy.action(time_step, policy_state)
        with tf.control_dependencies(tf.nest.flatten(time_step)):
            next_time_step = drv.env.step(action_step.action)
        if drv.bandit_env:  # Each step is a whole episode: it starts FIRST.
            first = tf.fill(tf.shape(time_step.step_type), ts.StepType.FIRST)
            time_step = time_step._replace(
                step_type=tf.cast(first, time_step.step_type.dtype)
            )
        traj = trajectory.from_transition(time_step, action_step, next_time_step)
        shown = traj if observed is None else observed(traj, counter)
        results = drv._observe(shown, (time_step, action_step, next_time_step))
        # Observers run before the next iteration reads their effects.
        deps = [
            x
            for x in tf.nest.flatten(results)
            if isinstance(x, (tf.Tensor, tf.Operation))
        ]
        with tf.control_dependencies(deps):
            next_time_step, next_state = tf.nest.map_structure(
                tf.identity, (next_time_step, action_step.state)
            )
        return counter + counts(traj), next_time_step, next_state

    with loop.stepping():
        _, time_step, policy_state = tf.while_loop(
            cond=lambda counter, *_: keep_going(counter),
            body=body,
            loop_vars=(tf.zeros(outer, tf.int32), time_step, policy_state),
            parallel_iterations=1,
            maximum_iterations=maximum_iterations,
            name="driver_loop",
        )
    time_step = loop.finish(time_step)
    return tf.nest.map_structure(tf.stop_gradient, (time_step, policy_state))


class WhileLoopDriver(driver.Driver[tf_environment.TFEnvironment, tf_policy.TFPolicy]):
    """The dynamic drivers' base: checks the env, policy and count; compiles `_run`."""

    def __init__(
        self,
        env: tf_environment.TFEnvironment,
        policy: tf_policy.TFPolicy,
        observers: Sequence[driver.TrajectoryObserver] | None,
        transition_observers: Sequence[driver.TransitionObserver] | None,
        count_name: str,
        count: int,
    ):
        owner = type(self).__name__
        driver.check_tf_env_and_policy(owner, env, policy)
        arg_checks.check_int(count, count_name, minimum=0, owner=owner)
        super().__init__(env, policy, observers, transition_observers)
        # One-step episodes (see `is_bandit_env`), fixed at construction.
        self.bandit_env = is_bandit_env(env)
        self._run_fn = common.function_in_tf1()(self._run)

    # Each driver's loop, keyword arguments as its `run`.
    _run: Callable[..., tuple[ts.TimeStep, types.NestedTensor]]


@gin.configurable
class DynamicStepDriver(WhileLoopDriver):
    """Runs `num_steps` steps (summed over the batch; boundaries do not count).

    Args:
      env: a `TFEnvironment`.
      policy: a `TFPolicy` matching the environment's specs.
      observers: called with each `Trajectory`.
      transition_observers: called with each `(time_step, policy_step,
        next_time_step)`.
      num_steps: steps per `run`.
    """

    def __init__(
        self,
        env: tf_environment.TFEnvironment,
        policy: tf_policy.TFPolicy,
        observers: Sequence[driver.TrajectoryObserver] | None = None,
        transition_observers: Sequence[driver.TransitionObserver] | None = None,
        num_steps: int = 1,
    ):
        super().__init__(
            env, policy, observers, transition_observers, "num_steps", num_steps
        )
        self._num_steps = num_steps

    def run(
        self,
        time_step: ts.TimeStep | None = None,
        policy_state: types.NestedTensor | None = None,
        maximum_iterations: types.Int | None = None,
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        """Runs `num_steps` steps from `time_step` (the env's current one if None).

        Returns:
          The last time step and policy state.
        """
        return self._run_fn(
            time_step=time_step,
            policy_state=policy_state,
            maximum_iterations=maximum_iterations,
        )

    def _run(
        self,
        time_step: ts.TimeStep | None = None,
        policy_state: types.NestedTensor | None = None,
        maximum_iterations: types.Int | None = None,
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        loop = step_mirror.DriverLoop(self.env)
        if time_step is None:
            time_step = loop.current_time_step()
        if policy_state is None:
            policy_state = self.policy.get_initial_state(self.env.batch_size)
        return run_loop(
            self,
            time_step,
            policy_state,
            keep_going=lambda c: tf.reduce_sum(c) < self._num_steps,
            counts=lambda t: tf.cast(~t.is_boundary(), tf.int32),
            maximum_iterations=maximum_iterations,
            loop=loop,
        )
