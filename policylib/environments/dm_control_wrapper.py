"""DeepMind `dm_env` environments as `PyEnvironment`s (`DmControlWrapper`).

`dm_env` is the interface of the DeepMind Control Suite and of bsuite. Its
time steps already carry FIRST/MID/LAST step types and a discount, so they map
onto policylib's directly: a FIRST step's missing reward becomes 0 and its
missing discount 1, float64 specs and values become float32 (what policies
train with), and the environment's own discount is kept, so a termination
ends with discount 0 and a time limit keeps the discount of 1.

`DmEnvWrapper` converts any `dm_env.Environment` (suite_bsuite uses it);
`DmControlWrapper` adds what the Control Suite has on top: MuJoCo `physics`,
rendering with `physics.render` and seeding of the task's random state.
Nothing here imports `dm_env` or `dm_control`: the wrapped object brings them.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from policylib.base.lazy_tf import nest
from policylib.environments import _headless_gl, wrappers
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "DmControlWrapper",
    "DmEnvWrapper",
    "convert_spec",
    "convert_time_step",
]

_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _narrow(dtype: np.dtype) -> np.dtype:
    """float32 for float64, else `dtype` (the one dtype change of this module)."""
    return np.dtype(np.float32) if dtype == np.float64 else dtype


def _as_narrow_array(value: Any) -> np.ndarray:
    """`value` as an array, float64 narrowed to float32 like the specs."""
    array = np.asarray(value)
    return array.astype(np.float32) if array.dtype == np.float64 else array


def convert_spec(spec: Any) -> array_spec.ArraySpec:
    """The policylib spec of one `dm_env.specs` spec.

    Specs with `minimum` and `maximum` (`BoundedArray`, `DiscreteArray`)
    become `BoundedArraySpec`s, the others `ArraySpec`s; float64 becomes
    float32, bounds clipped to float32's finite range.
    """
    dtype = np.dtype(spec.dtype)
    narrow = _narrow(dtype)
    name = getattr(spec, "name", None)
    if not (hasattr(spec, "minimum") and hasattr(spec, "maximum")):
        return array_spec.ArraySpec(spec.shape, narrow, name)
    minimum, maximum = np.asarray(spec.minimum), np.asarray(spec.maximum)
    if narrow != dtype:
        minimum = np.clip(minimum, -_FLOAT32_MAX, _FLOAT32_MAX)
        maximum = np.clip(maximum, -_FLOAT32_MAX, _FLOAT32_MAX)
    return array_spec.BoundedArraySpec(spec.shape, narrow, minimum, maximum, name)


def convert_time_step(
    time_step: Any, reward_spec: types.NestedArraySpec | None = None
) -> ts.TimeStep:
    """The policylib `TimeStep` of a `dm_env.TimeStep`.

    Args:
      time_step: the dm_env time step.
      reward_spec: the (converted) reward spec; a FIRST step's missing reward
        becomes zeros of it, or a scalar 0 without it.
    """
    reward = time_step.reward
    if reward is None:
        if reward_spec is None:
            reward = np.zeros((), np.float32)
        else:
            reward = nest.map_structure(
                lambda s: np.zeros(s.shape, s.dtype), reward_spec
            )
    else:
        reward = nest.map_structure(lambda r: np.asarray(r, np.float32), reward)
    discount = 1.0 if time_step.discount is None else time_step.discount
    return ts.TimeStep(
        ts.StepType(int(time_step.step_type)),
        reward,
        np.asarray(discount, np.float32),
        nest.map_structure(_as_narrow_array, time_step.observation),
    )


class DmEnvWrapper(wrappers.PyEnvironmentBaseWrapper):
    """Runs a `dm_env.Environment` as a `PyEnvironment`.

    Specs are converted once (`convert_spec`); actions are cast to the dtypes
    of the environment's own action spec before each step. Stepping after a
    LAST step starts a new episode, as dm_env environments themselves do.
    Unknown attributes (e.g. bsuite's `bsuite_num_episodes`) are read from
    the wrapped environment.

    Args:
      env: the `dm_env.Environment`.
    """

    def __init__(self, env: Any):
        super().__init__(env, handle_auto_reset=True)
        self._dm_env: Any = env  # `_env`, typed as what it is.
        self._dm_action_spec = env.action_spec()
        self._observation_spec = nest.map_structure(
            convert_spec, env.observation_spec()
        )
        self._action_spec = nest.map_structure(convert_spec, self._dm_action_spec)
        self._reward_spec = nest.map_structure(convert_spec, env.reward_spec())
        self._discount_spec = nest.map_structure(convert_spec, env.discount_spec())

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    def reward_spec(self) -> types.NestedArraySpec:
        return self._reward_spec

    def discount_spec(self) -> types.NestedArraySpec:
        return self._discount_spec

    def _reset(self) -> ts.TimeStep:
        return convert_time_step(self._dm_env.reset(), self._reward_spec)

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if nest.is_nested(self._dm_action_spec):
            action = nest.map_structure(self._cast_action, action, self._dm_action_spec)
        else:
            action = self._cast_action(action, self._dm_action_spec)
        return convert_time_step(self._dm_env.step(action), self._reward_spec)

    @staticmethod
    def _cast_action(value: Any, spec: Any) -> np.ndarray:
        """`value` in the dtype and shape of the dm_env action `spec`.

        A value with as many elements as the spec (e.g. a discrete action of
        shape (1,)) is reshaped; any other shape is an error that names both.
        """
        action = np.asarray(value, dtype=spec.dtype)
        if action.shape == tuple(spec.shape):
            return action
        if action.size == int(np.prod(spec.shape)):
            return action.reshape(spec.shape)
        raise ValueError(
            f"The action {value!r} has shape {action.shape}; the environment's "
            f"action spec {spec!r} has shape {tuple(spec.shape)}."
        )

    def close(self) -> None:
        self._dm_env.close()

    def render(self, mode: str = "rgb_array") -> types.NestedArray | None:
        raise NotImplementedError(
            f"{type(self._dm_env).__name__} (a dm_env environment) does not render."
        )

    def seed(self, seed: types.Seed) -> Any:
        raise NotImplementedError(
            f"{type(self._dm_env).__name__} (a dm_env environment) cannot be seeded "
            "after it is made; pass the seed where it is made."
        )

    def get_info(self) -> types.NestedArray:
        raise NotImplementedError("dm_env environments return no info.")

    def get_state(self) -> Any:
        raise NotImplementedError(
            f"{type(self).__name__} does not expose the environment's state."
        )

    def set_state(self, state: Any) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} cannot restore the environment's state."
        )


class DmControlWrapper(DmEnvWrapper):
    """Runs a DeepMind Control Suite environment as a `PyEnvironment`.

    Args:
      env: the `dm_control` environment (any `dm_env.Environment` with
        `physics`, e.g. one from `dm_control.suite.load`).
      render_kwargs: keyword arguments of `physics.render` for `render()`,
        e.g. `{'width': 320, 'height': 240, 'camera_id': 0}`.
    """

    def __init__(self, env: Any, render_kwargs: dict[str, Any] | None = None):
        _headless_gl.prepare()  # Before the first frame loads the GL driver.
        super().__init__(env)
        self._render_kwargs = dict(render_kwargs or {})

    @property
    def physics(self) -> Any:
        """The MuJoCo physics of the wrapped environment."""
        return self._dm_env.physics

    def render(self, mode: str = "rgb_array") -> np.ndarray:
        """An HxWx3 uint8 frame of the current state, from `physics.render`.

        Raises:
          ValueError: `mode` is not 'rgb_array' (the only one MuJoCo offers
            without a window).
        """
        if mode != "rgb_array":
            raise ValueError(
                f"Only the 'rgb_array' render mode is supported; got {mode!r}."
            )
        return self._dm_env.physics.render(**self._render_kwargs)

    def seed(self, seed: types.Seed) -> types.Seed:
        """Reseeds the task's random state, which draws each episode's start.

        The next reset starts from the seeded stream, so seeding with the
        same value repeats the same episodes (as `task_kwargs={'random': seed}`
        at load time does).
        """
        task = getattr(self._dm_env, "task", None)
        random_state = getattr(task, "random", None)
        if not isinstance(random_state, np.random.RandomState):
            return super().seed(seed)
        random_state.seed(None if seed is None else int(seed))  # type: ignore[arg-type]
        return seed
