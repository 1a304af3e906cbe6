"""`RandomPyPolicy`: uniformly random actions within the action spec.

Useful as a baseline and for exploration. The time step is only used to infer
the batch shape (and the action mask, when a splitter is given). Sampling is
seeded and repeatable, and the sampler for the action spec is built once, so a
call costs a few microseconds.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import gin
import numpy as np

from policylib.base import nest_utils
from policylib.base.lazy_tf import nest
from policylib.policies import py_policy
from policylib.specs import array_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RandomPyPolicy"]


def _leaf_sampler(
    spec: array_spec.ArraySpec,
) -> Callable[[np.random.RandomState, tuple], Any]:
    """A fast sampler for one spec; unbounded specs use their dtype's range."""
    if not isinstance(spec, array_spec.BoundedArraySpec):
        spec = array_spec.BoundedArraySpec.from_spec(spec)
    dtype = spec.dtype
    if dtype.kind in "iu" and spec.minimum.ndim == 0 and spec.maximum.ndim == 0:
        low = int(spec.minimum)
        high = int(spec.maximum) + 1
        shape = spec.shape

        def sample_int(rng: np.random.RandomState, outer: tuple) -> np.ndarray:
            return rng.randint(low, high, size=outer + shape, dtype=dtype)

        return sample_int

    def sample_any(rng: np.random.RandomState, outer: tuple) -> np.ndarray:
        return array_spec.sample_bounded_spec(spec, rng, outer)

    return sample_any


class _NestSampler:
    """Samples a whole spec nest with per-leaf samplers built once."""

    def __init__(self, spec: Any):
        self._spec = spec
        self._flat = [_leaf_sampler(s) for s in nest.flatten(spec)]
        self._single = not nest.is_nested(spec)

    def __call__(self, rng: np.random.RandomState, outer: tuple) -> Any:
        if self._single:
            return self._flat[0](rng, outer)
        if not self._flat:
            return self._spec
        return nest.pack_sequence_as(self._spec, [f(rng, outer) for f in self._flat])


@gin.configurable
class RandomPyPolicy(py_policy.PyPolicy):
    """Returns actions sampled uniformly from the action spec.

    Args:
      time_step_spec: `TimeStep` of array specs, or None.
      action_spec: nest of (bounded) array specs.
      info_spec: nest of array specs; info is sampled too.
      policy_state_spec: nest of array specs; the state is passed through.
      seed: seed of the policy's random generator.
      outer_dims: fixed outer (batch) dims of every action; inferred from the
        observation when None.
      observation_and_action_constraint_splitter: function returning
        `(observation, mask)`; only valid actions (mask 1) are then sampled.
        Needs a single bounded action spec of shape `()` or `(1,)`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedArraySpec,
        info_spec: types.NestedArraySpec = (),
        policy_state_spec: types.NestedArraySpec = (),
        seed: types.Seed = None,
        outer_dims: Sequence[int] | None = None,
        observation_and_action_constraint_splitter: types.Splitter = None,
    ):
        if observation_and_action_constraint_splitter is not None:
            if not isinstance(action_spec, array_spec.BoundedArraySpec):
                raise NotImplementedError(
                    "RandomPyPolicy supports action masks only for a single "
                    f"BoundedArraySpec action spec, got {action_spec!r}."
                )
            if tuple(action_spec.shape) not in ((), (1,)):
                raise NotImplementedError(
                    "RandomPyPolicy supports action masks only for action specs of shape "
                    f"() or (1,), got shape {tuple(action_spec.shape)}."
                )
        if time_step_spec is None:
            time_step_spec = ts.time_step_spec()
        self._seed = seed
        if outer_dims is not None and (
            isinstance(outer_dims, (str, bytes))
            or not all(hasattr(d, "__index__") and int(d) >= 0 for d in outer_dims)
        ):
            raise TypeError(
                f"outer_dims must be a sequence of non-negative ints, got {outer_dims!r}."
            )
        self._outer_dims = None if outer_dims is None else tuple(outer_dims)
        self._rng = np.random.RandomState(seed)
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            policy_state_spec=policy_state_spec,
            info_spec=info_spec,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
        )
        self._sample_action = _NestSampler(self._action_spec)
        self._sample_info = _NestSampler(self._info_spec)
        observation_spec = self._time_step_spec.observation
        self._has_observation = bool(nest.flatten(observation_spec))

    def _outer_dims_for(self, time_step: ts.TimeStep) -> tuple:
        if self._outer_dims is not None:
            return self._outer_dims
        if time_step is None or not self._has_observation:
            return ()
        return nest_utils.get_outer_array_shape(
            time_step.observation, self._time_step_spec.observation
        )

    def _masked_action(self, mask: Any) -> np.ndarray:
        spec = self._action_spec
        mask = np.asarray(mask).astype(bool)
        if mask.shape[-1:] != (int(spec.maximum) - int(spec.minimum) + 1,):
            raise ValueError(
                f"The action mask's last dim must equal the number of actions "
                f"{int(spec.maximum) - int(spec.minimum) + 1} of {spec!r}; got mask shape {mask.shape}."
            )
        if not mask.any(axis=-1).all():
            raise ValueError(
                "Every row of the action mask must allow at least one action."
            )
        # argmax of iid uniforms restricted to the valid entries is uniform over them.
        scores = np.where(mask, self._rng.random_sample(mask.shape), -1.0)
        action = (np.argmax(scores, axis=-1) + int(spec.minimum)).astype(spec.dtype)
        if spec.shape == (1,):
            action = action[..., np.newaxis]
        return action

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        del seed  # The policy's own generator, seeded at construction, is used.
        splitter = self._observation_and_action_constraint_splitter
        if splitter is not None:
            _, mask = splitter(time_step.observation)
            action = self._masked_action(mask)
            outer = tuple(
                np.shape(action)[: np.ndim(action) - len(self._action_spec.shape)]
            )
        else:
            outer = self._outer_dims_for(time_step)
            action = self._sample_action(self._rng, outer)
        info = self._sample_info(self._rng, outer)
        return policy_step.PolicyStep(action, policy_state, info)
