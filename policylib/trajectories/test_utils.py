"""Test helpers for trajectories (TF-Agents' agent tests import this module)."""

from __future__ import annotations

import tensorflow as tf

from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts

__all__ = ["stacked_trajectory_from_transition"]


def stacked_trajectory_from_transition(
    time_step: ts.TimeStep,
    action_step: policy_step.PolicyStep,
    next_time_step: ts.TimeStep,
) -> trajectory.Trajectory:
    """A `[B, 2]` trajectory of one transition, for `agent.train`.

    Step 0 is the transition; step 1 starts at `next_time_step` and repeats the
    action, info, reward and discount, so both steps carry the same values.
    """
    first = trajectory.from_transition(time_step, action_step, next_time_step)
    second = trajectory.from_transition(next_time_step, action_step, next_time_step)
    return tf.nest.map_structure(lambda a, b: tf.stack([a, b], axis=1), first, second)
