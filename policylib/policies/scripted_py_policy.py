"""`ScriptedPyPolicy`: plays back a fixed script of actions.

The script is a list of `(num_repeats, action)` pairs; each action is returned
`num_repeats` times (0 skips it). The policy state `[index, repeats_done]`
records the position in the script, so `get_initial_state()` restarts it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gin
import numpy as np

from policylib.base import nest_utils
from policylib.policies import py_policy
from policylib.specs import array_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["ScriptedPyPolicy"]


@gin.configurable
class ScriptedPyPolicy(py_policy.PyPolicy):
    """Returns the actions of `action_script` in order, each repeated as scripted.

    Args:
      time_step_spec: `TimeStep` of array specs, or None (the input is ignored).
      action_spec: nest of array specs every scripted action must match.
      action_script: list of `(num_repeats, action)`; actions may be arrays or
        (nested) Python lists, converted to the spec's dtype.

    Each action is checked against the spec when it is played: a wrong nest,
    shape, dtype or an out-of-bounds value raises ValueError naming the script
    entry and the spec path.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedArraySpec,
        action_script: Sequence[tuple[int, Any]],
    ):
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            policy_state_spec=(),
        )
        self._action_script = list(action_script)
        self._checked_actions: dict[int, Any] = {}  # script index -> validated action
        for index, entry in enumerate(self._action_script):
            if not (isinstance(entry, (tuple, list)) and len(entry) == 2):
                raise ValueError(
                    f"action_script[{index}] must be a (num_repeats, action) pair, got {entry!r}."
                )
            if int(entry[0]) < 0:
                raise ValueError(
                    f"action_script[{index}] has a negative repeat count {entry[0]}."
                )

    def _get_initial_state(self, batch_size: int | None) -> list[int]:
        del batch_size  # The script position is shared by the whole batch.
        return [0, 0]

    def _checked_action(self, index: int) -> Any:
        """The script's action at `index`, converted and validated on first use."""
        if index in self._checked_actions:
            return self._checked_actions[index]
        action = self._action_script[index][1]
        try:
            # The spec is the shallow structure: a Python list below one of its
            # leaves is one array. np.asarray keeps arrays of the right dtype.
            action = nest_utils.map_structure_up_to(
                self._action_spec,
                lambda s, a: np.asarray(a, dtype=s.dtype),
                self._action_spec,
                action,
            )
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"action_script[{index}] = {action!r} does not have the structure of the "
                f"action spec {self._action_spec!r}: {e}"
            ) from e
        try:
            array_spec.assert_arrays_spec_nest(action, self._action_spec)
        except (TypeError, ValueError) as e:
            raise ValueError(
                f"action_script[{index}] does not fit the action spec: {e}"
            ) from e
        self._checked_actions[index] = action
        return action

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: Any,  # np.ndarray [index, repeats], or () for the first call
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        del time_step, seed  # The script does not depend on the input.
        if not policy_state:
            policy_state = self._get_initial_state(None)
        index, repeats_done = int(policy_state[0]), int(policy_state[1])
        while index < len(self._action_script) and repeats_done >= int(
            self._action_script[index][0]
        ):
            index += 1
            repeats_done = 0
        if index >= len(self._action_script):
            raise ValueError(
                f"Episode is longer than the provided scripted policy: the script of "
                f"{len(self._action_script)} entries is used up."
            )
        action = self._checked_action(index)
        return policy_step.PolicyStep(action, [index, repeats_done + 1], ())
