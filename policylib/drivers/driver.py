"""`Driver`: the base of drivers, and the env <-> policy spec check they share."""

from __future__ import annotations

import abc
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import numpy as np

from policylib.base import arg_checks, lazy_tf, nest_utils
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types

if TYPE_CHECKING:
    from policylib.environments import py_environment, tf_environment
    from policylib.policies import py_policy, tf_policy

__all__ = [
    "Driver",
    "assert_env_matches_policy",
    "check_tf_env_and_policy",
    "checked_limits",
]

# What observers are called with; what they return is only passed on (as
# control dependencies in graph drivers).
Transition = tuple[ts.TimeStep, policy_step.PolicyStep, ts.TimeStep]
TrajectoryObserver = Callable[[trajectory.Trajectory], object]
TransitionObserver = Callable[[Transition], object]
InfoObserver = Callable[[types.NestedArray], object]

EnvT = TypeVar(
    "EnvT", bound="py_environment.PyEnvironment | tf_environment.TFEnvironment"
)
PolicyT = TypeVar("PolicyT", bound="py_policy.PyPolicy | tf_policy.TFPolicy")


def _shape_and_dtype(spec: types.Spec) -> tuple[tuple[int | None, ...], np.dtype]:
    if lazy_tf.is_loaded():
        shape = tuple(nest_utils.spec_shape(spec).as_list())
    else:  # Only array specs exist without TensorFlow.
        shape = tuple(spec.shape)
    return shape, np.dtype(getattr(spec.dtype, "as_numpy_dtype", spec.dtype))


def _mismatches(env_spec: types.NestedSpec, policy_spec: types.NestedSpec) -> list[str]:
    """Where two spec nests differ in structure, shape or dtype (names and bounds ignored)."""
    env_leaves = dict(nest_utils.flatten_with_joined_paths(env_spec))
    policy_leaves = dict(nest_utils.flatten_with_joined_paths(policy_spec))
    problems = []
    for path in sorted(set(env_leaves) | set(policy_leaves)):
        where = path or "<root>"
        if path not in policy_leaves:
            problems.append(f"'{where}' is in the environment's spec only")
        elif path not in env_leaves:
            problems.append(f"'{where}' is in the policy's spec only")
        else:
            e, p = (
                _shape_and_dtype(env_leaves[path]),
                _shape_and_dtype(policy_leaves[path]),
            )
            if e != p:
                problems.append(
                    f"'{where}': environment has shape {e[0]} {e[1]}, policy "
                    f"expects shape {p[0]} {p[1]}"
                )
    return problems


def assert_env_matches_policy(
    env: py_environment.PyEnvironment | tf_environment.TFEnvironment,
    policy: py_policy.PyPolicy | tf_policy.TFPolicy,
) -> None:
    """Checks, before any step, that `policy` can act in `env`.

    Compares the time step specs and the action specs leaf by leaf (shape and
    dtype; names and bounds may differ). A policy built without a time step
    spec (TF-Agents' `RandomPyPolicy(time_step_spec=None, ...)` has one with no
    leaves) reads nothing of the time step, so only its action spec is checked.

    Raises:
      ValueError: they differ; the message names each differing leaf and
        shows both specs.
    """
    for what, env_spec, policy_spec in (
        ("time_step_spec", env.time_step_spec(), policy.time_step_spec),
        ("action_spec", env.action_spec(), policy.action_spec),
    ):
        if what == "time_step_spec" and not nest_utils.flatten_with_joined_paths(
            policy_spec
        ):
            continue
        problems = _mismatches(env_spec, policy_spec)
        if problems:
            raise ValueError(
                f"The environment's {what} does not match the policy's "
                f"({'; '.join(problems)}).\nEnvironment {what}: {env_spec}\n"
                f"Policy {what}: {policy_spec}"
            )


class Driver(Generic[EnvT, PolicyT], metaclass=abc.ABCMeta):
    """Runs `policy` in `env` and calls observers with what happens.

    Args:
      env: the environment.
      policy: the policy; its specs must match the environment's.
      observers: called with each `Trajectory`.
      transition_observers: called with each `(time_step, policy_step,
        next_time_step)`.
      info_observers: called with the environment's info after each step.

    Raises:
      ValueError: the policy's specs do not match the environment's.
    """

    def __init__(
        self,
        env: EnvT,
        policy: PolicyT,
        observers: Sequence[TrajectoryObserver] | None = None,
        transition_observers: Sequence[TransitionObserver] | None = None,
        info_observers: Sequence[InfoObserver] | None = None,
    ):
        assert_env_matches_policy(env, policy)
        self._env = env
        self._policy = policy
        owner = type(self).__name__
        self._observers = arg_checks.check_callables(observers, f"{owner}: observers")
        self._transition_observers = arg_checks.check_callables(
            transition_observers, f"{owner}: transition_observers"
        )
        self._info_observers = arg_checks.check_callables(
            info_observers, f"{owner}: info_observers"
        )

    @property
    def env(self) -> EnvT:
        return self._env

    @property
    def policy(self) -> PolicyT:
        return self._policy

    @property
    def observers(self) -> list[TrajectoryObserver]:
        return self._observers

    @property
    def transition_observers(self) -> list[TransitionObserver]:
        return self._transition_observers

    @property
    def info_observers(self) -> list[InfoObserver]:
        return self._info_observers

    def _observe(
        self, traj: trajectory.Trajectory, transition: Transition
    ) -> list[object]:
        """Calls the transition observers, then the trajectory observers.

        Returns:
          What they returned (in-graph drivers make the next step depend on it).
        """
        results = [observer(transition) for observer in self._transition_observers]
        return results + [observer(traj) for observer in self._observers]

    @abc.abstractmethod
    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the policy; returns the final time step and policy state."""


def check_tf_env_and_policy(owner: str, env: object, policy: object) -> None:
    """Raises TypeError unless a TF driver got a TFEnvironment and a TFPolicy."""
    from policylib.environments import tf_environment
    from policylib.policies import tf_policy

    arg_checks.check_kind(
        env,
        tf_environment.TFEnvironment,
        f"{owner}: env",
        "Wrap a PyEnvironment in tf_py_environment.TFPyEnvironment, or run it with PyDriver.",
    )
    arg_checks.check_kind(
        policy,
        tf_policy.TFPolicy,
        f"{owner}: policy",
        "A PyPolicy is run by PyDriver.",
    )


def checked_limits(
    owner: str, max_steps: types.Int | None, max_episodes: types.Int | None
) -> tuple[float, float]:
    """`(max_steps, max_episodes)` with 0 or None as unlimited (inf), checked.

    Raises:
      TypeError: a limit is not an int.
      ValueError: a limit is negative, or neither is positive.
    """
    steps = arg_checks.check_int(
        max_steps, "max_steps", minimum=0, allow_none=True, owner=owner
    )
    episodes = arg_checks.check_int(
        max_episodes, "max_episodes", minimum=0, allow_none=True, owner=owner
    )
    if not steps and not episodes:
        raise ValueError(
            "Either `max_steps` or `max_episodes` should be greater than 0."
        )
    return steps or np.inf, episodes or np.inf
