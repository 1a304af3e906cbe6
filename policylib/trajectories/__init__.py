"""Time steps, policy steps and trajectories."""

from policylib.trajectories import policy_step, time_step, trajectory
from policylib.trajectories.policy_step import PolicyInfo, PolicyStep
from policylib.trajectories.time_step import (
    StepType,
    TimeStep,
    restart,
    termination,
    time_step_spec,
    transition,
    truncation,
)
from policylib.trajectories.trajectory import (
    Trajectory,
    Transition,
    boundary,
    first,
    from_transition,
    last,
    mid,
    single_step,
    to_n_step_transition,
    to_transition,
    to_transition_spec,
)

__all__ = [
    "PolicyInfo",
    "PolicyStep",
    "StepType",
    "TimeStep",
    "Trajectory",
    "Transition",
    "boundary",
    "first",
    "from_transition",
    "last",
    "mid",
    "policy_step",
    "restart",
    "single_step",
    "termination",
    "time_step",
    "time_step_spec",
    "to_n_step_transition",
    "to_transition",
    "to_transition_spec",
    "trajectory",
    "transition",
    "truncation",
]
