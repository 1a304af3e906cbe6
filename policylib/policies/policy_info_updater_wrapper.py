"""`PolicyInfoUpdaterWrapper`: adds entries computed from each step to the info dict."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from policylib.policies import tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PolicyInfoUpdaterWrapper", "UpdaterFnType"]

UpdaterFnType = Callable[[policy_step.PolicyStep], dict]


class PolicyInfoUpdaterWrapper(tf_policy.TFPolicy):
    """Runs `policy` and merges `updater_fn(step)` into its (dict) info.

    Args:
      policy: the wrapped policy; its info must be a dict.
      info_spec: the spec of the updated info dict.
      updater_fn: `PolicyStep -> dict` of new info entries.
      name: module name.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        info_spec: types.NestedTensorSpec,
        updater_fn: UpdaterFnType,
        name: str | None = None,
    ):
        super().__init__(
            time_step_spec=policy.time_step_spec,
            action_spec=policy.action_spec,
            policy_state_spec=policy.policy_state_spec,
            info_spec=info_spec,
            emit_log_probability=policy.emit_log_probability,
            name=name,
        )
        self._wrapped_policy = policy
        self._setup_specs(
            self._time_step_spec,
            self._action_spec,
            self._policy_state_spec,
            info_spec,
            self._observation_and_action_constraint_splitter,
        )
        self._updater_fn = updater_fn

    @property
    def wrapped_policy(self) -> tf_policy.TFPolicy:
        return self._wrapped_policy

    def apply_value_network(self, *args: Any, **kwargs: Any) -> Any:
        return self._wrapped_policy.apply_value_network(*args, **kwargs)

    def _update_info(self, step: policy_step.PolicyStep) -> policy_step.PolicyStep:
        if not isinstance(step.info, dict):
            raise ValueError(
                f"`step.info` must be a dictionary, got {type(step.info).__name__}."
            )
        info = dict(step.info)
        info.update(self._updater_fn(step))
        return policy_step.PolicyStep(step.action, step.state, info)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        return self._update_info(
            self._wrapped_policy.action(time_step, policy_state, seed)
        )

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        return self._update_info(
            self._wrapped_policy.distribution(time_step, policy_state)
        )
