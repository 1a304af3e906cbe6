"""`GymWrapper`: a Gymnasium environment as a `PyEnvironment`, and spaces -> specs.

Gymnasium (the maintained successor of OpenAI Gym) is an optional dependency:
``pip install 'policylib[gymnasium]'``. Its five-tuple `step` maps onto time
steps as TF-Agents users expect: `terminated` ends the episode with discount 0
(no future value), `truncated` (a time limit) ends it keeping the discount.
"""

from __future__ import annotations

import collections
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from policylib.base import extras, nest_utils
from policylib.base.lazy_tf import nest
from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

if TYPE_CHECKING:
    import gymnasium
else:
    gymnasium = extras.require(
        "gymnasium", extra="gymnasium", feature="Gym environments"
    )

__all__ = ["GymWrapper", "spec_from_gym_space"]

spaces = gymnasium.spaces


def _simplify(values: np.ndarray) -> np.ndarray:
    """A scalar array when every entry is equal, else `values`."""
    first = values.flat[0] if values.size else 0
    return np.array(first, dtype=values.dtype) if np.all(values == first) else values


def _from_old_gym(space: Any) -> gymnasium.Space:
    """The Gymnasium space equal to a gym 0.26 space (other spaces unchanged).

    Users still hold environments written for gym 0.26, the last gym release
    (TF-Agents' own tests build them). Its spaces have Gymnasium's fields but
    are other classes, so they are rebuilt once, here, and everything after
    this reads Gymnasium spaces only.
    """
    # The first gym class in the MRO names the kind (users subclass gym's).
    base = next(
        (c for c in type(space).__mro__ if c.__module__.startswith("gym.")), None
    )
    if base is None:
        return space
    kind = base.__name__
    if kind == "Discrete":
        return spaces.Discrete(int(space.n), start=int(getattr(space, "start", 0)))
    if kind == "Box":
        # A Box may lack `dtype` (TF-Agents' tests delete it to force the
        # dtype map); float32 is then Box's own default.
        dtype = getattr(space, "dtype", None) or np.float32
        return spaces.Box(space.low, space.high, space.shape, dtype)
    if kind == "MultiDiscrete":
        return spaces.MultiDiscrete(space.nvec, dtype=space.dtype)
    if kind == "MultiBinary":
        return spaces.MultiBinary(space.n)
    if kind == "Tuple":
        return spaces.Tuple([_from_old_gym(s) for s in space.spaces])
    if kind == "Dict":
        # Pairs, not a dict: Gymnasium sorts a dict's keys, gym kept their order.
        return spaces.Dict([(k, _from_old_gym(s)) for k, s in space.spaces.items()])
    raise ValueError(
        f"The gym space {space!r} ({kind}) has no spec equivalent; supported: "
        "Box, Discrete, MultiDiscrete, MultiBinary, Tuple, Dict."
    )


def _gymnasium_dtype_map(
    dtype_map: dict[type, npt.DTypeLike] | None,
) -> dict[type, npt.DTypeLike]:
    """`dtype_map` with gym 0.26 space classes as keys replaced by Gymnasium's."""
    converted: dict[type, npt.DTypeLike] = {}
    for cls, dtype in (dtype_map or {}).items():
        if cls.__module__.startswith("gym."):
            cls = getattr(spaces, cls.__name__, cls)
        converted[cls] = dtype
    return converted


def spec_from_gym_space(
    space: gymnasium.Space,
    dtype_map: dict[type, npt.DTypeLike] | None = None,
    simplify_box_bounds: bool = True,
    name: str | None = None,
) -> types.NestedArraySpec:
    """The (nest of) `BoundedArraySpec` describing a Gymnasium space.

    Discrete -> scalar int64 in [start, start + n - 1]; MultiDiscrete -> int32
    in [start, start + nvec - 1]; MultiBinary -> int32 in {0, 1}; Box -> its
    dtype and bounds (equal bounds simplified to scalars); Tuple -> tuple;
    Dict -> OrderedDict. Nested names are joined with '/'.

    Args:
      space: the Gymnasium space.
      dtype_map: space class -> dtype, overriding the defaults above.
      simplify_box_bounds: store Box bounds that are all equal as scalars.
      name: the spec name (the root of nested names).

    Raises:
      ValueError: the space type has no spec equivalent (Text, Graph, ...).
    """
    space = _from_old_gym(space)
    dtype_map = _gymnasium_dtype_map(dtype_map)

    def child(sub_space: gymnasium.Space, key: str) -> types.NestedArraySpec:
        return spec_from_gym_space(
            sub_space, dtype_map, simplify_box_bounds, f"{name}/{key}" if name else key
        )

    if isinstance(space, spaces.Discrete):
        dtype = dtype_map.get(spaces.Discrete, np.int64)
        start = int(space.start)
        return array_spec.BoundedArraySpec(
            (), dtype, minimum=start, maximum=start + int(space.n) - 1, name=name
        )
    if isinstance(space, spaces.MultiDiscrete):
        dtype = dtype_map.get(spaces.MultiDiscrete, np.int32)
        starts = np.asarray(space.start, dtype=dtype)
        maximum = np.asarray(starts + space.nvec - 1, dtype=dtype)
        return array_spec.BoundedArraySpec(
            space.shape,
            dtype,
            minimum=_simplify(starts),
            maximum=_simplify(maximum),
            name=name,
        )
    if isinstance(space, spaces.MultiBinary):
        dtype = dtype_map.get(spaces.MultiBinary, np.int32)
        shape = (space.n,) if isinstance(space.n, (int, np.integer)) else tuple(space.n)
        return array_spec.BoundedArraySpec(
            shape, dtype, minimum=0, maximum=1, name=name
        )
    if isinstance(space, spaces.Box):
        dtype = dtype_map.get(spaces.Box, space.dtype)
        minimum = np.asarray(space.low, dtype=dtype)
        maximum = np.asarray(space.high, dtype=dtype)
        if simplify_box_bounds:
            low, high = _simplify(minimum), _simplify(maximum)
            if low.shape == high.shape:
                minimum, maximum = low, high
        return array_spec.BoundedArraySpec(
            space.shape, dtype, minimum=minimum, maximum=maximum, name=name
        )
    if isinstance(space, spaces.Tuple):
        return tuple(child(s, f"tuple_{i}") for i, s in enumerate(space.spaces))
    if isinstance(space, spaces.Dict):
        return collections.OrderedDict(
            (k, child(s, k)) for k, s in space.spaces.items()
        )
    raise ValueError(
        f"The Gymnasium space {space!r} ({type(space).__name__}) has no spec "
        "equivalent; supported: Box, Discrete, MultiDiscrete, MultiBinary, Tuple, Dict."
    )


class GymWrapper(py_environment.PyEnvironment):
    """Runs a Gymnasium environment as a `PyEnvironment`.

    Environments written for gym 0.26 (the last gym, whose `reset`/`step`
    Gymnasium kept) are taken too: their spaces are read as Gymnasium's.

    Args:
      gym_env: the Gymnasium (or gym 0.26) environment.
      discount: the discount of non-terminal steps (and of truncated LAST steps).
      spec_dtype_map: space class -> dtype for the specs (see
        `spec_from_gym_space`).
      match_obs_space_dtype: cast observations to the observation spec dtypes.
      auto_reset: `step` after a LAST step resets.
      simplify_box_bounds: see `spec_from_gym_space`.
      render_kwargs: keyword arguments of `render` for environments whose
        `render` takes them (older gym); Gymnasium's takes none.
      check_values: check each observation against the observation space and
        each reward for NaN (a ValueError names the environment, the step and
        the leaf); a few microseconds a step.
      check_observation_bounds: with `check_values`, hold Box observations to
        the space's bounds too, not only its shape. Off for environments known
        to declare bounds they break (PyBullet's own Minitaur reports motor
        angles past the ±π it declares), which TF-Agents runs unchecked.

    Raises:
      ValueError: (from `reset`/`step`) the environment returned the wrong
        number of values, an observation outside its space, or a NaN reward.
    """

    def __init__(
        self,
        gym_env: gymnasium.Env,
        discount: types.Float = 1.0,
        spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
        match_obs_space_dtype: bool = True,
        auto_reset: bool = True,
        simplify_box_bounds: bool = True,
        render_kwargs: dict[str, Any] | None = None,
        check_values: bool = True,
        check_observation_bounds: bool = True,
    ):
        super().__init__(auto_reset)
        self._gym_env = gym_env
        self._check_values = check_values
        self._check_bounds = check_observation_bounds
        self._name = (
            getattr(getattr(gym_env, "spec", None), "id", None)
            or type(getattr(gym_env, "unwrapped", gym_env)).__name__
        )
        self._steps = 0
        self._discount = np.float32(discount)
        self._match_obs_space_dtype = match_obs_space_dtype
        self._observation_space = _from_old_gym(gym_env.observation_space)
        self._observation_spec = spec_from_gym_space(
            self._observation_space,
            spec_dtype_map,
            simplify_box_bounds,
            "observation",
        )
        self._action_spec = spec_from_gym_space(
            gym_env.action_space, spec_dtype_map, simplify_box_bounds, "action"
        )
        self._scalar_action = isinstance(
            _from_old_gym(gym_env.action_space), spaces.Discrete
        )
        self._action_leaves = nest_utils.flatten_with_joined_paths(self._action_spec)
        self._action_fits_at_once = _quick_action_check(self._action_spec)
        self._render_kwargs = render_kwargs or {}
        self._info: dict[str, Any] | None = None
        self._done = True
        self._next_seed: int | None = None

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") or "_gym_env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_gym_env"], name)

    @property
    def gym(self) -> gymnasium.Env:
        """The wrapped Gymnasium environment."""
        return self._gym_env

    @property
    def done(self) -> bool:
        """Whether the last step ended the episode."""
        return self._done

    def observation_spec(self) -> types.NestedArraySpec:
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        return self._action_spec

    def get_info(self) -> dict[str, Any] | None:
        """The info dict of the last `reset` or `step`."""
        return self._info

    def seed(self, seed: types.Seed) -> types.Seed:
        """Seeds the next reset (Gymnasium seeds only at reset) and the action space.

        Later resets continue the seeded random stream, so a seeded environment
        repeats the same sequence of episodes. An environment with a `seed`
        method of its own (older gym) is seeded through it too.
        """
        self._next_seed = None if seed is None else int(seed)  # type: ignore[arg-type]
        if self._next_seed is not None:
            self._gym_env.action_space.seed(self._next_seed)
        own_seed = getattr(self._gym_env, "seed", None)
        if callable(own_seed):
            return own_seed(seed)
        return seed

    def _observation(self, observation: types.NestedArray) -> types.NestedArray:
        if not self._match_obs_space_dtype:
            return observation
        if isinstance(self._observation_spec, array_spec.ArraySpec):
            return np.asarray(observation, dtype=self._observation_spec.dtype)
        flat = nest.flatten(self._observation_spec)
        values = nest_utils.flatten_up_to(self._observation_spec, observation)
        return nest.pack_sequence_as(
            self._observation_spec,
            [np.asarray(v, dtype=s.dtype) for v, s in zip(values, flat)],
        )

    def _reset(self) -> ts.TimeStep:
        seed, self._next_seed = self._next_seed, None
        result = self._gym_env.reset(seed=seed)
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ValueError(
                f"{self._name} reset: Gymnasium's reset returns (observation, info); got "
                f"{_describe(result)} (an environment written for gym < 0.26?)."
            )
        observation, self._info = result
        self._done = False
        self._steps = 0
        if self._check_values:
            self._check_observation(observation, "reset")
        return ts.restart(self._observation(observation))

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        if self._check_values:
            self._check_action(action)
        if self._scalar_action and isinstance(action, (np.ndarray, np.generic)):
            action = action.item()
        result = self._gym_env.step(action)
        self._steps += 1
        if not (isinstance(result, tuple) and len(result) == 5):
            raise ValueError(
                f"{self._name} step {self._steps}: Gymnasium's step returns (observation, "
                f"reward, terminated, truncated, info); got {_describe(result)} (an "
                "environment written for gym < 0.26?)."
            )
        observation, reward, terminated, truncated, self._info = result
        if self._check_values:
            self._check_observation(observation, f"step {self._steps}")
            if (
                reward != reward
                if isinstance(reward, float)
                else np.isnan(np.asarray(reward)).any()
            ):
                raise ValueError(f"{self._name} step {self._steps}: the reward is NaN.")
        observation = self._observation(observation)
        reward = np.asarray(reward, dtype=np.float32)
        self._done = bool(terminated or truncated)
        if reward.ndim == 0:  # the common case, without ts's generic checks
            step_type = ts.StepType.LAST if self._done else ts.StepType.MID
            discount = np.float32(0.0) if terminated else self._discount
            return ts.TimeStep(
                np.asarray(step_type, np.int32),
                reward,
                np.asarray(discount, np.float32),
                observation,
            )
        if terminated:
            return ts.termination(observation, reward)
        if truncated:
            return ts.truncation(observation, reward, self._discount)
        return ts.transition(observation, reward, self._discount)

    def _check_action(self, action: types.NestedArray) -> None:
        """Names the leaf of `action` that does not fit the action spec."""
        if self._action_fits_at_once is not None and self._action_fits_at_once(action):
            return
        problem = _action_problem(action, self._action_spec, self._action_leaves)
        if problem:
            raise ValueError(
                f"{self._name} step {self._steps + 1}: the action does not fit the "
                f"action spec: {problem}."
            )

    def _check_observation(self, observation: types.NestedArray, when: str) -> None:
        space = self._observation_space
        if _fits(space, observation, self._check_bounds):
            return
        where = _outside(space, observation, "observation", self._check_bounds)
        raise ValueError(
            f"{self._name} {when}: {where[0]} is outside its declared space "
            f"{where[1]}: {where[2]!r}."
        )

    def render(self, mode: str = "rgb_array") -> Any:
        """The frame from the environment's `render()` (HxWx3 uint8 for 'rgb_array').

        Gymnasium (and gym 0.26) fix the render mode when the environment is
        made, so `mode` must match it; `suite_gym.load` makes environments that
        render 'rgb_array' unless told otherwise, so the default call works as
        in TF-Agents. An environment whose `render` takes arguments (written for
        older gym, or overridden) is called as TF-Agents calls it:
        `render(mode, **render_kwargs)`.

        Raises:
          ValueError: the environment was made with another render mode, or
            cannot take one.
          TypeError: `render_kwargs` hold a mode too.
        """
        if _takes_arguments(self._gym_env):
            if "mode" in self._render_kwargs:
                raise TypeError(
                    f"render() of {self._name} got multiple values for argument "
                    f"'mode': {mode!r}, and {self._render_kwargs['mode']!r} in "
                    "render_kwargs (leave it out of render_kwargs)."
                )
            return self._gym_env.render(mode, **self._render_kwargs)  # type: ignore[call-arg]
        made_with = getattr(self._gym_env, "render_mode", None)
        if made_with == mode:
            return self._gym_env.render()
        raise ValueError(
            f"Cannot render {self._name} with mode {mode!r}: the Gymnasium "
            f"environment was made with render_mode={made_with!r}. Pass "
            f"gym_kwargs={{'render_mode': {mode!r}}} to suite_gym.load (or "
            f"render_mode={mode!r} to gymnasium.make)."
        )

    def get_state(self) -> Any:
        # Environments that can save their state (e.g. MuJoCo ones) add these.
        return self._gym_env.unwrapped.get_state()  # type: ignore[attr-defined]

    def set_state(self, state: Any) -> None:
        self._gym_env.unwrapped.set_state(state)  # type: ignore[attr-defined]

    def close(self) -> None:
        self._gym_env.close()


def _takes_arguments(env: Any) -> bool:
    """Whether `env.render` takes a mode (older gym, or a user's override).

    Gymnasium's and gym 0.26's environments render without arguments, while
    most of their wrappers forward `*args`: layers whose `render` is a
    gym/Gymnasium wrapper's that forwards are looked through, and the first
    other `render` (an instance attribute, a user's class, the environment's
    own, or a wrapper that fixes the mode itself, as gym's `EnvCompatibility`
    around an old-API environment does) decides.
    """
    for _ in range(64):  # wrappers of wrappers; bounded against a cycle
        own = vars(env).get("render") if hasattr(env, "__dict__") else None
        try:
            parameters = list(inspect.signature(own or env.render).parameters.values())
        except (TypeError, ValueError):
            return False
        method = own or getattr(type(env), "render", None)
        inner = getattr(env, "env", None)
        defined_in = getattr(method, "__module__", "") or ""
        forwards = any(p.kind == p.VAR_POSITIONAL for p in parameters)
        if (
            own is None
            and inner is not None
            and forwards
            and defined_in.startswith(("gym.", "gymnasium."))
        ):
            env = inner
            continue
        return any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
            for p in parameters
        )
    return False


def _describe(result: object) -> str:
    if isinstance(result, tuple):
        return f"a tuple of {len(result)}"
    return f"a {type(result).__name__}"


def _fits(space: gymnasium.Space, value: object, bounds: bool = True) -> bool:
    """`space.contains(value)`, but a Box takes any dtype (float64 for float32 is common).

    Values are compared in the Box's dtype, the one the observation spec casts
    them to: a float64 a rounding error past a float32 bound still fits.
    Without `bounds`, a Box asks for its shape only.
    """
    if isinstance(space, spaces.Box):
        array = np.asarray(value)
        if array.shape != space.shape:
            return False
        if not bounds:
            return True
        if array.dtype != space.dtype and array.dtype.kind == space.dtype.kind == "f":
            array = array.astype(space.dtype)
        return bool((array >= space.low).all()) and bool((array <= space.high).all())
    if isinstance(space, spaces.Dict):
        return isinstance(value, dict) and all(
            key in value and _fits(sub, value[key], bounds)
            for key, sub in space.spaces.items()
        )
    if isinstance(space, spaces.Tuple):
        return (
            isinstance(value, tuple)
            and len(value) == len(space.spaces)
            and all(_fits(sub, item, bounds) for sub, item in zip(space.spaces, value))
        )
    return bool(space.contains(value))


def _outside(
    space: gymnasium.Space, value: object, path: str, bounds: bool = True
) -> tuple[str, gymnasium.Space, object]:
    """(path, space, value) of the first leaf of `value` outside `space`."""
    if isinstance(space, spaces.Dict) and isinstance(value, dict):
        for key, sub in space.spaces.items():
            if key not in value:
                return f"{path}/{key}", sub, "<missing>"
            if not _fits(sub, value[key], bounds):
                return _outside(sub, value[key], f"{path}/{key}", bounds)
    if isinstance(space, spaces.Tuple) and isinstance(value, tuple):
        for i, (sub, item) in enumerate(zip(space.spaces, value)):
            if not _fits(sub, item, bounds):
                return _outside(sub, item, f"{path}/{i}", bounds)
    return path, space, value


def _quick_action_check(
    spec: types.NestedArraySpec,
) -> Callable[[object], bool] | None:
    """For a one-leaf action spec, a test that passes the per-step common case at once.

    A scalar integer spec passes an integer array in its bounds; a float spec
    passes a float array of its shape (continuous environments clip actions
    themselves). Anything else goes through `_action_problem`, which says what
    is wrong. None for nested specs.
    """
    if not isinstance(spec, array_spec.ArraySpec):
        return None
    shape = spec.shape
    if (
        isinstance(spec, array_spec.BoundedArraySpec)
        and shape == ()
        and np.issubdtype(spec.dtype, np.integer)
    ):
        low, high = int(spec.minimum), int(spec.maximum)
        return lambda action: (
            isinstance(action, (np.ndarray, np.generic))
            and action.shape == ()
            and action.dtype.kind in "iu"
            and low <= int(action) <= high
        )
    if np.issubdtype(spec.dtype, np.floating):
        return lambda action: (
            type(action) is np.ndarray
            and action.shape == shape
            and action.dtype.kind == "f"
        )
    return None


def _action_problem(
    action: types.NestedArray,
    spec: types.NestedArraySpec,
    leaves: list[tuple[str, array_spec.ArraySpec]],
) -> str | None:
    """What is wrong with `action` for the action spec nest (`leaves`: its paths and specs)."""
    try:
        flat = nest_utils.flatten_up_to(spec, action)
    except (TypeError, ValueError):
        return f"its structure differs from {spec}"
    for (path, leaf), value in zip(leaves, flat):
        where = path or "action"
        if value is None:
            return f"{where} is None, expected {leaf}"
        array = np.asarray(value)
        if array.shape != leaf.shape and not (leaf.shape == () and array.size == 1):
            return f"{where} has shape {array.shape}, expected {leaf.shape}"
        if np.issubdtype(leaf.dtype, np.integer) and array.dtype.kind not in "iub":
            return f"{where} has dtype {array.dtype}, expected integers ({leaf.dtype})"
        # Continuous environments clip their actions themselves: only discrete
        # bounds are checked.
        if isinstance(leaf, array_spec.BoundedArraySpec) and np.issubdtype(
            leaf.dtype, np.integer
        ):
            if np.any(array < leaf.minimum) or np.any(array > leaf.maximum):
                return (
                    f"{where} is {array.tolist()}, outside "
                    f"[{np.asarray(leaf.minimum).tolist()}, {np.asarray(leaf.maximum).tolist()}]"
                )
    return None
