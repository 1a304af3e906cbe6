"""Wrappers that change how a `PyEnvironment` behaves (time limits, action maps...).

Every wrapper forwards what it does not change (specs, `seed`, `render`,
`get_info`, `close`, unknown attributes) to the environment it wraps.
"""

from __future__ import annotations

import abc
import collections
import cProfile
from collections.abc import Callable, Sequence
from typing import Any, cast

import gin
import numpy as np
import numpy.typing as npt

from policylib.base import arg_checks, nest_utils
from policylib.base.lazy_tf import nest
from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "ActionClipWrapper",
    "ActionDiscretizeWrapper",
    "ActionOffsetWrapper",
    "ActionRepeat",
    "ExtraDisabledActionsWrapper",
    "FixedLength",
    "FlattenActionWrapper",
    "FlattenObservationsWrapper",
    "GoalReplayEnvWrapper",
    "HistoryWrapper",
    "ObservationFilterWrapper",
    "OneHotActionWrapper",
    "PerformanceProfiler",
    "PyEnvironmentBaseWrapper",
    "RunStats",
    "TimeLimit",
]


class PyEnvironmentBaseWrapper(py_environment.PyEnvironment):
    """Forwards everything to `env`; subclasses override what they change.

    Args:
      env: the environment to wrap.
      handle_auto_reset: let this wrapper (not `env`) reset after LAST steps.
    """

    def __init__(
        self, env: py_environment.PyEnvironment, handle_auto_reset: bool = False
    ):
        super().__init__(handle_auto_reset)
        self._env = env

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_env"], name)

    @property
    def batched(self) -> bool:
        return getattr(self._env, "batched", False)

    @property
    def batch_size(self) -> int | None:
        return getattr(self._env, "batch_size", None)

    @property
    def seeds_each_episode(self) -> bool:
        return getattr(self._env, "seeds_each_episode", True)

    def wrapped_env(self) -> py_environment.PyEnvironment:
        """The environment this wraps."""
        return self._env

    def observation_spec(self) -> types.NestedArraySpec:
        return self._env.observation_spec()

    def action_spec(self) -> types.NestedArraySpec:
        return self._env.action_spec()

    def reward_spec(self) -> types.NestedArraySpec:
        return self._env.reward_spec()

    def _reset(self) -> ts.TimeStep:
        return self._env.reset()

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self._env.step(action)

    def get_info(self) -> types.NestedArray:
        return self._env.get_info()

    def close(self) -> None:
        return self._env.close()

    def render(self, mode: str = "rgb_array") -> types.NestedArray | None:
        return self._env.render(mode)

    def seed(self, seed: types.Seed) -> Any:
        return self._env.seed(seed)

    def get_state(self) -> Any:
        return self._env.get_state()

    def set_state(self, state: Any) -> None:
        self._env.set_state(state)


@gin.configurable
class TimeLimit(PyEnvironmentBaseWrapper):
    """Ends episodes after `duration` steps (LAST, discount kept: a truncation).

    Args:
      env: the environment to wrap.
      duration: the most steps per episode.
      handle_auto_reset: see `PyEnvironmentBaseWrapper`.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        duration: int,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        arg_checks.check_int(duration, "duration", owner="TimeLimit")
        self._duration = duration
        self._num_steps: int | None = None

    @property
    def duration(self) -> int:
        return self._duration

    def _reset(self) -> ts.TimeStep:
        self._num_steps = 0
        return self._env.reset()

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if self._num_steps is None:
            return self.reset()
        time_step = self._env.step(action)
        self._num_steps += 1
        if self._num_steps >= self._duration:
            time_step = time_step._replace(
                step_type=np.full_like(time_step.step_type, ts.StepType.LAST)
            )
        if py_environment.all_last(time_step):
            self._num_steps = None
        return time_step


@gin.configurable
class FixedLength(PyEnvironmentBaseWrapper):
    """Makes every episode exactly `fix_length` steps.

    An episode that ends early is padded by repeating its LAST step with
    reward and discount 0 (the first repeat) and unchanged afterwards; a long
    one is cut at `fix_length`.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        fix_length: int,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        self._fix_length = fix_length
        self._num_steps: int | None = None
        self._padding = False

    @property
    def fix_length(self) -> int:
        return self._fix_length

    def _reset(self) -> ts.TimeStep:
        self._num_steps = 0
        self._padding = False
        return self._env.reset()

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if self._num_steps is None:
            return self.reset()
        # Set: reset() ran, since _num_steps is.
        current = cast(ts.TimeStep, self.current_time_step())
        if current.is_last():
            if self._num_steps >= self._fix_length:
                return self.reset()
            self._num_steps += 1
            if self._padding:
                return current
            self._padding = True
            return current._replace(
                discount=np.zeros_like(current.discount),
                reward=nest.map_structure(np.zeros_like, current.reward),
            )
        time_step = self._env.step(action)
        self._num_steps += 1
        if self._num_steps >= self._fix_length:
            time_step = time_step._replace(
                step_type=np.full_like(time_step.step_type, ts.StepType.LAST)
            )
            self._num_steps = None
        return time_step


@gin.configurable
class ActionRepeat(PyEnvironmentBaseWrapper):
    """Repeats each action `times` times (stopping at an episode's end); sums rewards.

    Raises:
      ValueError: `times` is not greater than 1.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        times: int,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        arg_checks.check_int(times, "times", owner="ActionRepeat")
        if times <= 1:
            raise ValueError(f"Times parameter ({times}) should be greater than 1")
        self._times = times

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        total = 0
        for _ in range(self._times):
            time_step = self._env.step(action)
            total = total + time_step.reward
            if time_step.is_first() or time_step.is_last():
                break
        reward = np.asarray(total, dtype=np.asarray(time_step.reward).dtype)
        return time_step._replace(reward=reward)


@gin.configurable
class RunStats(PyEnvironmentBaseWrapper):
    """Counts episodes, resets and steps (in total and in the current episode)."""

    def __init__(self, env: py_environment.PyEnvironment):
        super().__init__(env)
        self._episodes = 0
        self._resets = 0
        self._episode_steps = 0
        self._total_steps = 0

    @property
    def episodes(self) -> int:
        return self._episodes

    @property
    def resets(self) -> int:
        return self._resets

    @property
    def episode_steps(self) -> int:
        return self._episode_steps

    @property
    def total_steps(self) -> int:
        return self._total_steps

    def _reset(self) -> ts.TimeStep:
        self._resets += 1
        self._episode_steps = 0
        return self._env.reset()

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        time_step = self._env.step(action)
        if time_step.is_first():
            self._resets += 1
            self._episode_steps = 0
        else:
            self._total_steps += 1
            self._episode_steps += 1
        if time_step.is_last():
            self._episodes += 1
        return time_step


@gin.configurable
class ActionClipWrapper(PyEnvironmentBaseWrapper):
    """Clips actions into the bounds of the action spec before stepping."""

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        def clip(spec: array_spec.ArraySpec, value: np.ndarray) -> np.ndarray:
            low = getattr(spec, "minimum", None)
            high = getattr(spec, "maximum", None)
            if low is None and high is None:
                return value
            return np.clip(value, low, high)

        specs = self._env.action_spec()
        return self._env.step(
            nest_utils.map_structure_up_to(specs, clip, specs, action)
        )


class ActionOffsetWrapper(PyEnvironmentBaseWrapper):
    """Shifts a discrete action range [min, max] to [0, max - min].

    Raises:
      ValueError: the action spec is nested, unbounded or not discrete.
    """

    def __init__(
        self, env: py_environment.PyEnvironment, handle_auto_reset: bool = False
    ):
        super().__init__(env, handle_auto_reset)
        spec = env.action_spec()
        if nest.is_nested(spec):
            raise ValueError(
                "ActionOffsetWrapper only works with single-array action specs "
                f"(not nested specs); got {spec}."
            )
        if not isinstance(spec, array_spec.BoundedArraySpec):
            raise ValueError(
                f"ActionOffsetWrapper works with bounded action specs only; got {spec}."
            )
        if not np.issubdtype(spec.dtype, np.integer):
            raise ValueError(
                "ActionOffsetWrapper works with discrete action specs only "
                f"(an integer dtype); got {spec}."
            )

    def _bounded_spec(self) -> array_spec.BoundedArraySpec:
        """The wrapped env's action spec (checked bounded in `__init__`)."""
        return cast(array_spec.BoundedArraySpec, self._env.action_spec())

    def action_spec(self) -> types.NestedArraySpec:
        spec = self._bounded_spec()
        return array_spec.BoundedArraySpec(
            spec.shape,
            spec.dtype,
            minimum=np.zeros(spec.shape, spec.dtype),
            maximum=spec.maximum - spec.minimum,
        )

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self._env.step(action + self._bounded_spec().minimum)


@gin.configurable
class FlattenActionWrapper(PyEnvironmentBaseWrapper):
    """Takes one flat vector action for a nest of scalar and vector action specs.

    The flat spec concatenates the leaves in `tf.nest` order (a scalar leaf
    takes one entry); it is bounded when every leaf is, with the leaves'
    bounds side by side. `step` cuts the vector back into the nest.

    Args:
      env: the environment to wrap.
      flat_dtype: the flat spec's dtype; needed when the leaves' dtypes differ.
      handle_auto_reset: let this wrapper (not `env`) reset after LAST steps.

    Raises:
      ValueError: a leaf has more than one dim, or the leaves' dtypes differ
        and `flat_dtype` is not given.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        flat_dtype: npt.DTypeLike | None = None,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        leaves = nest_utils.flatten_with_joined_paths(env.action_spec())
        for path, spec in leaves:
            if len(spec.shape) > 1:
                raise ValueError(
                    "FlattenActionWrapper: ActionSpec shapes should all have ndim "
                    f"<= 1; action{'/' + path if path else ''} has shape {spec.shape}."
                )
        dtypes = {np.dtype(spec.dtype) for _, spec in leaves}
        if flat_dtype is None and len(dtypes) > 1:
            raise ValueError(
                "FlattenActionWrapper: all action_spec dtypes must match, or "
                f"`flat_dtype` should be set; got {sorted(str(d) for d in dtypes)}."
            )
        self._leaf_specs = [spec for _, spec in leaves]
        self._sizes = [
            int(spec.shape[0]) if spec.shape else 1 for spec in self._leaf_specs
        ]
        dtype = np.dtype(flat_dtype) if flat_dtype is not None else dtypes.pop()
        shape = (sum(self._sizes),)
        if all(
            isinstance(spec, array_spec.BoundedArraySpec) for spec in self._leaf_specs
        ):
            bounded = cast(list[array_spec.BoundedArraySpec], self._leaf_specs)
            self._flat_spec: array_spec.ArraySpec = array_spec.BoundedArraySpec(
                shape,
                dtype,
                minimum=np.concatenate(
                    [
                        np.broadcast_to(s.minimum, (n,))
                        for s, n in zip(bounded, self._sizes)
                    ]
                ),
                maximum=np.concatenate(
                    [
                        np.broadcast_to(s.maximum, (n,))
                        for s, n in zip(bounded, self._sizes)
                    ]
                ),
                name="FlattenedActionSpec",
            )
        else:
            self._flat_spec = array_spec.ArraySpec(
                shape, dtype, name="FlattenedActionSpec"
            )

    def action_spec(self) -> types.NestedArraySpec:
        return self._flat_spec

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        flat = np.asarray(action)
        if flat.shape[-1:] != self._flat_spec.shape:
            raise ValueError(
                f"FlattenActionWrapper: action has shape {flat.shape}; expected "
                f"{self._flat_spec.shape}."
            )
        pieces = []
        start = 0
        for spec, size in zip(self._leaf_specs, self._sizes):
            piece = flat[..., start : start + size]
            if not spec.shape:
                piece = piece[..., 0]
            pieces.append(np.asarray(piece, dtype=spec.dtype))
            start += size
        return self._env.step(nest.pack_sequence_as(self._env.action_spec(), pieces))


@gin.configurable
class ExtraDisabledActionsWrapper(PyEnvironmentBaseWrapper):
    """Adds `num_extra_actions` actions that an action mask always disables.

    The action range grows by `num_extra_actions`; the observation becomes
    `(observation, mask)`, the mask int64 with 1 for each original action and
    0 for each extra one (batched environments get one mask row per entry).
    Useful to give environments with different action counts one action spec.

    Args:
      env: an environment with a bounded scalar (or batched scalar) action.
      num_extra_actions: how many disabled actions to add.
      handle_auto_reset: let this wrapper (not `env`) reset after LAST steps.

    Raises:
      ValueError: the action spec is not a bounded array spec.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        num_extra_actions: int,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        spec = env.action_spec()
        if not isinstance(spec, array_spec.BoundedArraySpec):
            raise ValueError(
                "ExtraDisabledActionsWrapper needs a single bounded action spec; "
                f"got {spec}."
            )
        self._action_spec = array_spec.BoundedArraySpec(
            spec.shape,
            spec.dtype,
            minimum=spec.minimum,
            maximum=spec.maximum + num_extra_actions,
        )
        num_actions = int(np.max(spec.maximum - spec.minimum)) + 1
        mask = np.array([1] * num_actions + [0] * num_extra_actions, dtype=np.int64)
        self._mask_spec = array_spec.ArraySpec(mask.shape, np.int64)
        self._mask = np.stack([mask] * (self.batch_size or 1)) if self.batched else mask

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    def observation_spec(self) -> types.NestedArraySpec:
        return (self._env.observation_spec(), self._mask_spec)

    def _masked(self, time_step: ts.TimeStep) -> ts.TimeStep:
        return time_step._replace(
            observation=(time_step.observation, self._mask.copy())
        )

    def _reset(self) -> ts.TimeStep:
        return self._masked(self._env.reset())

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self._masked(self._env.step(action))


@gin.configurable
class ActionDiscretizeWrapper(PyEnvironmentBaseWrapper):
    """Offers `num_actions` evenly spaced values per dim of a continuous action.

    Args:
      env: an environment with a single bounded continuous action spec.
      num_actions: values per action dim (a scalar or one per dim), each >= 2.
      handle_auto_reset: see `PyEnvironmentBaseWrapper`.

    Raises:
      ValueError: the action spec is nested, `num_actions` does not broadcast
        to its shape, or some entry is below 2.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        num_actions: npt.ArrayLike,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        flat = nest.flatten(env.action_spec())
        if len(flat) != 1:
            raise ValueError(
                "ActionDiscretizeWrapper only supports environments with a single "
                f"action spec. Got {env.action_spec()}"
            )
        spec = flat[0]
        try:
            counts = np.broadcast_to(num_actions, spec.shape)
        except ValueError as e:
            raise ValueError(
                f"Spec {spec} and limit shape do not match. Got {np.shape(num_actions)}"
            ) from e
        if not np.all(counts >= 2):
            raise ValueError("num_actions should all be at least size 2.")
        self._original_spec = spec
        shape = () if spec.shape == (1,) else spec.shape
        same = np.all(counts == counts.flat[0])
        self._discrete_spec = array_spec.BoundedArraySpec(
            shape=shape,
            dtype=np.int32,
            minimum=0,
            maximum=(counts.flat[0] if same else counts) - 1,
            name=spec.name,
        )
        low = np.broadcast_to(spec.minimum, spec.shape).ravel()
        high = np.broadcast_to(spec.maximum, spec.shape).ravel()
        self._values = [
            np.linspace(lo, hi, num=int(n))
            for lo, hi, n in zip(low, high, counts.ravel())
        ]

    def action_spec(self) -> types.NestedArraySpec:
        return self._discrete_spec

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        action = np.asarray(action)
        if action.shape != self._discrete_spec.shape:
            raise ValueError(
                "Received action with incorrect shape. Got "
                f"{action.shape}, expected {self._discrete_spec.shape}"
            )
        values = [self._values[i][a] for i, a in enumerate(action.ravel())]
        continuous = np.reshape(values, self._original_spec.shape).astype(
            self._original_spec.dtype
        )
        if nest.is_nested(self._env.action_spec()):
            continuous = nest.pack_sequence_as(self._env.action_spec(), [continuous])
        return self._env.step(continuous)


@gin.configurable
class ObservationFilterWrapper(PyEnvironmentBaseWrapper):
    """Keeps the entries `idx` of a single 1-D-indexed observation array.

    Raises:
      ValueError: the observation is nested, `idx` is not a non-empty 1-D
        index list, or an index is out of bounds.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        idx: Sequence[int] | np.ndarray,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        idx = np.asarray(idx)
        spec: Any = env.observation_spec()
        if nest.is_nested(spec):
            raise ValueError(
                "ObservationFilterWrapper only works with single-array observations "
                "(not nested)."
            )
        if idx.ndim != 1:
            raise ValueError(
                "ObservationFilterWrapper only works with single-dimensional "
                "indexes for filtering."
            )
        if idx.shape[0] < 1:
            raise ValueError("At least one index needs to be provided for filtering.")
        if not np.all(idx < spec.shape[0]):
            raise ValueError(
                f"One of the indexes is out of bounds: {idx.tolist()} for an "
                f"observation of shape {spec.shape}."
            )
        self._idx = idx
        self._observation_spec = spec.replace(shape=idx.shape)

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def _filter(self, time_step: ts.TimeStep) -> ts.TimeStep:
        return time_step._replace(
            observation=np.asarray(time_step.observation)[self._idx]
        )

    def _reset(self) -> ts.TimeStep:
        return self._filter(self._env.reset())

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self._filter(self._env.step(action))


@gin.configurable
class FlattenObservationsWrapper(PyEnvironmentBaseWrapper):
    """Concatenates a dict of observations (optionally some keys) into one vector.

    Raises:
      ValueError: `observations_allowlist` is given for a non-dict observation
        or names unknown keys, or the observations' dtypes differ.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        observations_allowlist: Sequence[str] | None = None,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        spec = env.observation_spec()
        if observations_allowlist is not None:
            if not isinstance(spec, dict):
                raise ValueError(
                    "If you provide an observations allowlist, the current environment "
                    "must return a dictionary of observations! The returned "
                    f"observation spec is type {type(spec)}."
                )
            unknown = set(observations_allowlist) - set(spec)
            if unknown:
                raise ValueError(
                    "The observation allowlist contains keys not found in the "
                    f"environment! Unknown keys: {sorted(unknown)}"
                )
        self._allowlist = observations_allowlist
        kept = nest.flatten(self._keep(spec))
        dtypes = {s.dtype for s in kept}
        if len(dtypes) != 1:
            raise ValueError(
                "The observation spec must all have the same dtypes! Currently found "
                f"dtypes: {sorted(str(d) for d in dtypes)}"
            )
        self._observation_spec = array_spec.ArraySpec(
            shape=(sum(int(np.prod(s.shape)) for s in kept),),
            dtype=kept[0].dtype,
            name="packed_observations",
        )

    def _keep(self, observation: Any) -> Any:
        if self._allowlist is None:
            return observation
        return {k: v for k, v in observation.items() if k in self._allowlist}

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def _flatten(self, time_step: ts.TimeStep) -> ts.TimeStep:
        leaves = nest.flatten(self._keep(time_step.observation))
        if self._env.batched:
            flat = [np.reshape(x, (np.shape(x)[0], -1)) for x in leaves]
            packed = np.concatenate(flat, axis=1)
        else:
            packed = np.concatenate([np.reshape(x, -1) for x in leaves])
        return time_step._replace(observation=packed)

    def _reset(self) -> ts.TimeStep:
        return self._flatten(self._env.reset())

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self._flatten(self._env.step(action))


@gin.configurable
class HistoryWrapper(PyEnvironmentBaseWrapper):
    """Observations become the last `history_length` observations (and actions).

    Args:
      env: the environment to wrap.
      history_length: steps of history, stacked on a new leading axis.
      include_actions: observations are {'observation': ..., 'action': ...}.
      tile_first_step_obs: fill the history at reset with the first
        observation instead of zeros.
      handle_auto_reset: see `PyEnvironmentBaseWrapper`.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        history_length: int = 3,
        include_actions: bool = False,
        tile_first_step_obs: bool = False,
        handle_auto_reset: bool = False,
    ):
        super().__init__(env, handle_auto_reset)
        arg_checks.check_int(history_length, "history_length", owner="HistoryWrapper")
        self._history_length = history_length
        self._include_actions = include_actions
        self._tile_first_step_obs = tile_first_step_obs
        zeros = lambda spec: nest.map_structure(  # noqa: E731
            lambda s: np.zeros(s.shape, s.dtype), spec
        )
        self._zero_observation = zeros(env.observation_spec())
        self._zero_action = zeros(env.action_spec())
        self._observations: collections.deque = collections.deque(maxlen=history_length)
        self._actions: collections.deque = collections.deque(maxlen=history_length)
        stacked = lambda spec: nest.map_structure(  # noqa: E731
            lambda s: s.replace(shape=(history_length, *s.shape)), spec
        )
        observation_spec = stacked(env.observation_spec())
        if include_actions:
            observation_spec = {
                "observation": observation_spec,
                "action": stacked(env.action_spec()),
            }
        self._observation_spec = observation_spec

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def _with_history(
        self, time_step: ts.TimeStep, action: types.NestedArray
    ) -> ts.TimeStep:
        self._observations.append(time_step.observation)
        self._actions.append(action)
        observation = nest_utils.stack_nested_arrays(list(self._observations))
        if self._include_actions:
            observation = {
                "observation": observation,
                "action": nest_utils.stack_nested_arrays(list(self._actions)),
            }
        return time_step._replace(observation=observation)

    def _reset(self) -> ts.TimeStep:
        time_step = self._env.reset()
        pad = self._history_length - 1
        if self._tile_first_step_obs:
            first = time_step.observation
            self._observations.extend(
                nest.map_structure(np.copy, first) for _ in range(pad)
            )
        else:
            self._observations.extend([self._zero_observation] * pad)
        self._actions.extend([self._zero_action] * pad)
        return self._with_history(time_step, self._zero_action)

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        current = self.current_time_step()
        if current is None or current.is_last():
            return self._reset()
        return self._with_history(self._env.step(action), action)


@gin.configurable
class OneHotActionWrapper(PyEnvironmentBaseWrapper):
    """Takes one-hot actions for integer action specs; passes others through.

    Raises:
      ValueError: an integer action spec has more than one dim (at
        construction), or an action does not match its one-hot spec.
    """

    def __init__(
        self, env: py_environment.PyEnvironment, handle_auto_reset: bool = False
    ):
        super().__init__(env, handle_auto_reset)

        def one_hot(spec: array_spec.BoundedArraySpec) -> array_spec.BoundedArraySpec:
            if not np.issubdtype(spec.dtype, np.integer):
                return spec
            if len(spec.shape) > 1:
                raise ValueError(
                    f"OneHotActionWrapper only supports single action! action_spec: {spec}"
                )
            num_actions = int(spec.maximum - spec.minimum + 1)
            return array_spec.BoundedArraySpec(
                shape=(*spec.shape, num_actions),
                dtype=spec.dtype,
                minimum=0,
                maximum=1,
                name="one_hot_action_spec",
            )

        self._one_hot_spec = nest.map_structure(one_hot, env.action_spec())

    def action_spec(self) -> types.NestedArraySpec:
        return self._one_hot_spec

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        def from_one_hot(
            value: npt.ArrayLike,
            one_hot_spec: array_spec.BoundedArraySpec,
            spec: array_spec.BoundedArraySpec,
        ) -> np.ndarray:
            value = np.asarray(value)
            if value.shape != one_hot_spec.shape or value.dtype != one_hot_spec.dtype:
                raise ValueError(
                    f"Action shape/dtype different from its definition in the "
                    f"inner_spec. Action: {value!r}. Inner_spec: {one_hot_spec}."
                )
            if np.issubdtype(value.dtype, np.integer):
                return spec.minimum + np.argmax(value, axis=-1).astype(spec.dtype)
            return value

        return self._env.step(
            nest.map_structure(
                from_one_hot, action, self._one_hot_spec, self._env.action_spec()
            )
        )


@gin.configurable
class PerformanceProfiler(PyEnvironmentBaseWrapper):
    """Profiles `reset` and `step` with cProfile.

    Args:
      env: the environment to wrap.
      process_profile_fn: called with the `cProfile.Profile` every
        `process_steps` steps (then a fresh profile starts).
      process_steps: steps per profile.
    """

    def __init__(
        self,
        env: py_environment.PyEnvironment,
        process_profile_fn: Callable[[cProfile.Profile], object],
        process_steps: int,
    ):
        super().__init__(env)
        self._process_profile_fn = process_profile_fn
        self._process_steps = process_steps
        self._num_steps = 0
        self._profile = cProfile.Profile()

    def _profiled(self, fn: Callable[..., ts.TimeStep], *args: Any) -> ts.TimeStep:
        self._profile.enable()
        try:
            return fn(*args)
        finally:
            self._profile.disable()

    def _reset(self) -> ts.TimeStep:
        return self._profiled(self._env.reset)

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        time_step = self._profiled(self._env.step, action)
        self._num_steps += 1
        if self._num_steps >= self._process_steps:
            self._process_profile_fn(self._profile)
            self._profile = cProfile.Profile()
            self._num_steps = 0
        return time_step


class GoalReplayEnvWrapper(PyEnvironmentBaseWrapper, metaclass=abc.ABCMeta):
    """Adds an episode goal (taken at reset) to every time step.

    Subclasses say how to read the goal from a time step and how to put it in.
    """

    def __init__(
        self, env: py_environment.PyEnvironment, handle_auto_reset: bool = False
    ):
        super().__init__(env, handle_auto_reset)
        self._goal: types.NestedArray = None

    @abc.abstractmethod
    def get_trajectory_with_goal(
        self, trajectory: ts.TimeStep, goal: types.NestedArray
    ) -> ts.TimeStep:
        """`trajectory` with `goal` put in (usually into the observation)."""

    @abc.abstractmethod
    def get_goal_from_trajectory(self, trajectory: ts.TimeStep) -> types.NestedArray:
        """The goal for the episode that starts with `trajectory`."""

    def _reset(self) -> ts.TimeStep:
        time_step = self._env.reset()
        self._goal = self.get_goal_from_trajectory(time_step)
        return self.get_trajectory_with_goal(time_step, self._goal)

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        return self.get_trajectory_with_goal(self._env.step(action), self._goal)
