"""Environment helpers: wrap as a TF environment, smoke-test a Python one."""

from __future__ import annotations

import numpy as np

from policylib.environments import py_environment, tf_environment, tf_py_environment
from policylib.specs import array_spec
from policylib.typing import types

__all__ = ["get_tf_env", "validate_py_environment"]


def get_tf_env(
    environment: py_environment.PyEnvironment | tf_environment.TFEnvironment,
) -> tf_environment.TFEnvironment:
    """`environment` as a `TFEnvironment` (Python ones get a `TFPyEnvironment`).

    Raises:
      ValueError: `environment` is None or neither kind of environment.
    """
    if environment is None:
        raise ValueError("`environment` cannot be None")
    if isinstance(environment, py_environment.PyEnvironment):
        return tf_py_environment.TFPyEnvironment(environment)
    if isinstance(environment, tf_environment.TFEnvironment):
        return environment
    raise ValueError(
        f"`environment` {environment!r} must be an instance of "
        "`tf_environment.TFEnvironment` or `py_environment.PyEnvironment`."
    )


def validate_py_environment(
    environment: py_environment.PyEnvironment,
    episodes: int = 5,
    observation_and_action_constraint_splitter: types.Splitter | None = None,
) -> None:
    """Runs `episodes` episodes with random actions, checking every time step.

    Raises:
      ValueError: a time step does not match the environment's time step spec
        (the message names the leaf and what was expected).
    """
    # This helper runs a policy, so it sits above policies; it lives here at
    # TF-Agents' path, and imports the policy only when called, so importing
    # `environments` never imports a policy.
    from policylib.policies import random_py_policy

    spec = environment.time_step_spec()
    policy = random_py_policy.RandomPyPolicy(
        time_step_spec=spec,
        action_spec=environment.action_spec(),
        observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
    )
    if environment.batch_size is not None:
        spec = array_spec.add_outer_dims_nest(spec, (environment.batch_size,))
    finished = 0
    time_step = environment.reset()
    while finished < episodes:
        try:
            array_spec.assert_arrays_spec_nest(time_step, spec)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"Given `time_step`: {time_step!r} does not match expected "
                f"`time_step_spec`: {spec!r}: {e}"
            ) from e
        time_step = environment.step(policy.action(time_step).action)
        finished += int(np.sum(time_step.is_last()))
