"""`PyPolicy`: the base class of policies that run in Python on NumPy arrays.

A policy maps a `TimeStep` (and its state, for stateful policies) to a
`PolicyStep(action, state, info)`:

    policy_state = policy.get_initial_state(batch_size)
    while not time_step.is_last():
        policy_step = policy.action(time_step, policy_state)
        time_step = env.step(policy_step.action)
        policy_state = policy_step.state

Subclasses implement `_action` (and `_get_initial_state` if the default of
zeros per state spec does not fit). The public methods are a fixed template:
overriding them raises at construction.
"""

from __future__ import annotations

import abc
from typing import Any

import numpy as np

from policylib.base import contracts, lazy_tf, nest_utils
from policylib.base.lazy_tf import nest
from policylib.policies import policy_specs
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PyPolicy"]


def _array_specs(specs: Any) -> Any:
    """`specs` with tensor specs converted to array specs (none without TF loaded)."""
    if not lazy_tf.is_loaded():
        return specs
    from policylib.specs import tensor_spec

    return tensor_spec.to_array_spec(specs)


class PyPolicy(policy_specs.PolicySpecs, metaclass=abc.ABCMeta):
    """Abstract Python policy over NumPy arrays.

    Args:
      time_step_spec: `TimeStep` of array specs (tensor specs are converted);
        None for a policy that ignores its input.
      action_spec: nest of (bounded) array specs of the actions.
      policy_state_spec: nest of array specs of the state; `()` if stateless.
      info_spec: nest of array specs of `PolicyStep.info`.
      observation_and_action_constraint_splitter: optional function splitting
        an observation into `(observation, action_mask)`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedArraySpec,
        policy_state_spec: types.NestedArraySpec = (),
        info_spec: types.NestedArraySpec = (),
        observation_and_action_constraint_splitter: types.Splitter = None,
    ):
        contracts.assert_members_are_not_overridden(base_cls=PyPolicy, instance=self)
        if time_step_spec is None:
            time_step_spec = ts.time_step_spec()
        self._setup_specs(
            _array_specs(time_step_spec),
            _array_specs(action_spec),
            _array_specs(policy_state_spec),
            _array_specs(info_spec),
            observation_and_action_constraint_splitter,
        )
        # A policy built without a time step spec ignores its input: nothing to check.
        self._checks_inputs = bool(nest.flatten(self._time_step_spec))
        # A time step of four plain array specs (the common case) is checked by
        # a fast test first; anything it does not plainly accept takes the full
        # check, which names what is wrong.
        self._fits_plainly = (
            nest_utils.array_fit_checker(list(self._time_step_spec))
            if isinstance(self._time_step_spec, ts.TimeStep)
            and not any(nest_utils.is_nested(f) for f in self._time_step_spec)
            else None
        )

    def get_initial_state(self, batch_size: int | None = None) -> types.NestedArray:
        """The state to pass to the first `action` call of an episode."""
        return self._get_initial_state(batch_size)

    def action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray = (),
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        """Computes the action for `time_step`.

        Args:
          time_step: a `TimeStep` of arrays (batched or not, as the policy allows).
          policy_state: the state returned by the previous call, or the initial one.
          seed: optional seed, forwarded to `_action` for policies that take one.

        Returns:
          A `PolicyStep(action, state, info)`.

        Raises:
          ValueError, TypeError: `time_step` or `policy_state` does not fit its
            spec; the message names the leaf and the spec.
        """
        if self._checks_inputs:
            self._check_inputs(time_step, policy_state)
        if seed is not None:
            return self._action(time_step, policy_state, seed=seed)
        return self._action(time_step, policy_state)

    def _check_inputs(
        self, time_step: ts.TimeStep, policy_state: types.NestedArray
    ) -> None:
        """Raises unless the time step (and a given state) fit their specs."""
        if not isinstance(time_step, ts.TimeStep):
            if time_step is None or isinstance(time_step, (tuple, list, dict)):
                raise TypeError(
                    f"{type(self).__name__}.action takes a TimeStep; got "
                    f"{type(time_step).__name__}: {time_step!r:.200}"
                )
            return  # Another container (an array of time steps): the subclass reads it.
        if self._fits_plainly is None or not self._fits_plainly(time_step):
            time_step = nest_utils.prune_extra_keys(self._time_step_spec, time_step)
            nest_utils.assert_same_structure(
                time_step,
                self._time_step_spec,
                message="action: time_step and time_step_spec structures do not match",
            )
            nest_utils.assert_values_fit_specs(
                time_step, self._time_step_spec, "action: time_step"
            )
        if contracts.safe_has_state(policy_state) and nest.flatten(
            self._policy_state_spec
        ):
            nest_utils.assert_same_structure(
                policy_state,
                self._policy_state_spec,
                message="action: policy_state and policy_state_spec structures do not match",
            )
            nest_utils.assert_values_fit_specs(
                policy_state, self._policy_state_spec, "action: policy_state"
            )

    @abc.abstractmethod
    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        """Returns the `PolicyStep` for `time_step`; implemented by subclasses."""

    def _get_initial_state(self, batch_size: int | None) -> types.NestedArray:
        """Zeros for every state spec, with a leading `batch_size` dim if given."""
        outer = () if batch_size is None else (int(batch_size),)
        return nest.map_structure(
            lambda spec: np.zeros(outer + tuple(spec.shape), dtype=spec.dtype),
            self._policy_state_spec,
        )
