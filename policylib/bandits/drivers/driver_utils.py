"""Trajectories of one-step bandit episodes, as bandit agents train on them."""

from __future__ import annotations

from policylib.trajectories import trajectory
from policylib.typing import types

__all__ = ["trajectory_for_bandit"]


def trajectory_for_bandit(
    initial_step: types.TimeStep,
    action_step: types.PolicyStep,
    final_step: types.TimeStep,
) -> trajectory.Trajectory:
    """The `Trajectory` of one bandit step: context, action and the reward it got.

    A bandit episode is one step long, so there is no time dimension: every
    field keeps the `[batch_size, ...]` shape of its source. The step types and
    discount are the environments' own (both steps are `LAST`, discount 0).

    Args:
      initial_step: the time step whose observation the policy acted on.
      action_step: the policy's `PolicyStep` for it.
      final_step: the time step the environment returned for the action.
    """
    return trajectory.Trajectory(
        step_type=initial_step.step_type,
        observation=initial_step.observation,
        action=action_step.action,
        policy_info=action_step.info,
        next_step_type=final_step.step_type,
        reward=final_step.reward,
        discount=final_step.discount,
    )
