"""`TFEnvironment`: the base class of in-graph (TensorFlow) environments.

A TF environment is always batched: `step` takes actions with a leading batch
dim and returns batched `TimeStep` tensors. Like `PyEnvironment`, stepping
before any reset or after a LAST step starts a new episode and ignores the
action; subclasses implement `_current_time_step`, `_reset` and `_step`.
"""

from __future__ import annotations

import abc
from typing import Any

from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["TFEnvironment"]


class TFEnvironment(metaclass=abc.ABCMeta):
    """Abstract TensorFlow environment.

    Args:
      time_step_spec: `TimeStep` of `TensorSpec`s of the (unbatched) time steps.
      action_spec: nest of `BoundedTensorSpec`s of the (unbatched) actions.
      batch_size: the leading dim of actions and time steps.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep | None = None,
        action_spec: types.NestedTensorSpec | None = None,
        batch_size: int = 1,
    ):
        # None for subclasses that override the spec methods themselves.
        self._time_step_spec: Any = time_step_spec
        self._action_spec: Any = action_spec
        self._batch_size = batch_size

    def time_step_spec(self) -> ts.TimeStep:
        """The `TimeStep` of specs of the tensors `step` returns."""
        return self._time_step_spec

    def action_spec(self) -> types.NestedTensorSpec:
        """The nest of specs of the actions `step` takes."""
        return self._action_spec

    def observation_spec(self) -> types.NestedTensorSpec:
        """The nest of specs of observations."""
        return self.time_step_spec().observation

    def reward_spec(self) -> types.NestedTensorSpec:
        """The spec (or nest of specs) of rewards."""
        return self.time_step_spec().reward

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def current_time_step(self) -> ts.TimeStep:
        """The current `TimeStep`; resets first if no episode was started."""
        return self._current_time_step()

    def reset(self) -> ts.TimeStep:
        """Starts new episodes; returns their FIRST time steps."""
        return self._reset()

    def step(self, action: types.NestedTensor) -> ts.TimeStep:
        """Applies `action`; returns the next time steps.

        Environments whose current step is LAST (or that were never reset)
        reset instead and ignore their action.
        """
        return self._step(action)

    def render(self) -> types.NestedTensor:
        """An image of the current state, if the environment can draw."""
        raise NotImplementedError("No rendering support.")

    @abc.abstractmethod
    def _current_time_step(self) -> ts.TimeStep:
        """Returns the current `TimeStep`."""

    @abc.abstractmethod
    def _reset(self) -> ts.TimeStep:
        """Resets and returns the FIRST `TimeStep`."""

    @abc.abstractmethod
    def _step(self, action: types.NestedTensor) -> ts.TimeStep:
        """Applies `action` and returns the next `TimeStep`."""
