"""Load Atari 2600 games (ale-py, through Gymnasium) as `PyEnvironment`s.

`load('PongNoFrameskip-v4')` makes the game, applies `AtariPreprocessing`
(84x84 grey, frame skip 4, max-pooled), wraps it in a `GymWrapper` without
auto reset and an `AtariTimeLimit`, which resets only when the game is over.

Both TF-Agents' ids (`game()` builds them: 'PongNoFrameskip-v4',
'Pong-ramDeterministic-v0', ...) and Gymnasium's ('ALE/Pong-v5') load;
the `-ram` and `Deterministic` forms that ale-py no longer registers are
made from its settings for the plain form. ale-py (with its ROMs) and
OpenCV come with ``pip install 'policylib[atari]'``; this module imports
without them, and `load` says what to install.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib.util
import os
import re
import warnings
from collections.abc import Sequence
from typing import Any

import gin
import numpy as np
import numpy.typing as npt

from policylib.base import extras
from policylib.environments import (
    atari_preprocessing,
    atari_wrappers,
    gym_wrapper,
    py_environment,
)
from policylib.environments.atari_preprocessing import gymnasium
from policylib.errors import UnknownEnvironmentError
from policylib.typing import types

__all__ = [
    "DEFAULT_ATARI_GYM_WRAPPERS",
    "DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING",
    "check_id",
    "is_atari_id",
    "game",
    "load",
]

# The preprocessing of DQN-style agents.
DEFAULT_ATARI_GYM_WRAPPERS: tuple[types.GymEnvWrapper, ...] = (
    atari_preprocessing.AtariPreprocessing,
)
# With the last four observations stacked (a replay buffer that stacks them
# itself stores a quarter of the pixels).
DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING: tuple[types.GymEnvWrapper, ...] = (
    DEFAULT_ATARI_GYM_WRAPPERS + (atari_wrappers.FrameStack4,)
)
gin.constant(
    "DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING", DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING
)

_ALE_ENTRY_POINT = "ale_py.env:AtariEnv"
# TF-Agents' (old gym's) ids: Name[-ram][NoFrameskip|Deterministic]-v0|v4.
_LEGACY_ID = re.compile(
    r"^(?P<name>[A-Za-z0-9]+?)(?P<ram>-ram)?(?P<mode>NoFrameskip|Deterministic)?"
    r"-(?P<version>v0|v4)$"
)
_V5_RAM_ID = re.compile(r"^ALE/(?P<name>[A-Za-z0-9]+)-ram-v5$")
_OBS_TYPES = ("image", "ram")
_MODES = ("", "NoFrameskip", "Deterministic")
_VERSIONS = ("v0", "v4")


@gin.configurable
def game(
    name: str = "Pong",
    obs_type: str = "image",
    mode: str = "NoFrameskip",
    version: str = "v0",
) -> str:
    """TF-Agents' id of a game, e.g. `game('Pong', version='v4')` -> 'PongNoFrameskip-v4'.

    Args:
      name: the game, e.g. 'Pong' or 'SpaceInvaders'.
      obs_type: 'image' (screens) or 'ram' (the 128 bytes of RAM).
      mode: '' (2-4 frames a step, at random), 'NoFrameskip' or 'Deterministic'
        (4 frames a step; 3 for SpaceInvaders).
      version: 'v0' (sticky actions: repeated with probability 0.25) or 'v4'.

    Raises:
      ValueError: `obs_type`, `mode` or `version` is not one of those.
    """
    for value, allowed, what in (
        (obs_type, _OBS_TYPES, "obs_type"),
        (mode, _MODES, "mode"),
        (version, _VERSIONS, "version"),
    ):
        if value not in allowed:
            raise ValueError(f"game: {what} must be one of {allowed}, got {value!r}.")
    ram = "-ram" if obs_type == "ram" else ""
    return f"{name}{ram}{mode}-{version}"


@functools.cache
def _ale_py() -> Any:
    """ale-py, imported (which registers its games with Gymnasium)."""
    ale_py = extras.require("ale_py", extra="atari", feature="Atari environments")
    gymnasium.register_envs(ale_py)
    return ale_py


def _registered_atari_ids() -> list[str]:
    return [
        env_id
        for env_id, spec in gymnasium.registry.items()
        if spec.entry_point == _ALE_ENTRY_POINT
    ]


def _legacy_spec(environment_name: str) -> gymnasium.envs.registration.EnvSpec | None:
    """The spec of a `-ram` or `Deterministic` id, from ale-py's plain one, or None."""
    registry = gymnasium.registry
    v5 = _V5_RAM_ID.match(environment_name)
    if v5:
        base = registry.get(f"ALE/{v5['name']}-v5")
        kwargs: dict[str, Any] = {"obs_type": "ram"}
    else:
        legacy = _LEGACY_ID.match(environment_name)
        if not legacy:
            return None
        name, mode, version = legacy["name"], legacy["mode"] or "", legacy["version"]
        plain = "" if mode == "Deterministic" else mode
        base = registry.get(f"{name}{plain}-{version}")
        kwargs = {"obs_type": "ram"} if legacy["ram"] else {}
        if mode == "Deterministic" and base is not None:
            # Old gym's Deterministic games: a fixed 4 frames a step (3 for
            # SpaceInvaders, whose lasers blink with period 4).
            kwargs["frameskip"] = (
                3 if base.kwargs.get("game") == "space_invaders" else 4
            )
    if base is None or base.entry_point != _ALE_ENTRY_POINT:
        return None
    return dataclasses.replace(
        base, id=environment_name, kwargs={**base.kwargs, **kwargs}
    )


def is_atari_id(environment_name: str) -> bool:
    """Whether `environment_name` names an Atari game (`load` takes it).

    'ALE/...' ids count as Atari without ale-py (loading one then names the
    extra to install); other ids only when ale-py is installed and knows them.
    """
    if environment_name.startswith("ALE/"):
        return True
    registered = gymnasium.registry.get(environment_name)
    if registered is not None:  # known without importing ale-py ('CartPole-v1')
        return registered.entry_point == _ALE_ENTRY_POINT
    if importlib.util.find_spec("ale_py") is None:
        return False
    _ale_py()
    spec = gymnasium.registry.get(environment_name) or _legacy_spec(environment_name)
    return spec is not None and spec.entry_point == _ALE_ENTRY_POINT


def _known_ids() -> list[str]:
    """Every id `load` takes: ale-py's and the `-ram`/`Deterministic` forms."""
    ids = _registered_atari_ids()
    for env_id in list(ids):
        if env_id.startswith("ALE/") and env_id.endswith("-v5"):
            ids.append(env_id[: -len("-v5")] + "-ram-v5")
        legacy = _LEGACY_ID.match(env_id)
        if legacy and not legacy["mode"]:
            name, version = legacy["name"], legacy["version"]
            ids.append(f"{name}Deterministic-{version}")
            ids.extend(f"{name}-ram{mode}-{version}" for mode in _MODES)
    return sorted(set(ids))


def _close_matches(environment_name: str) -> list[str]:
    """Known ids close to `environment_name` (case aside), closest first."""
    known = _known_ids()
    by_lower = {env_id.lower(): env_id for env_id in known}
    wanted = environment_name.lower()
    matches = difflib.get_close_matches(wanted, list(by_lower), n=6, cutoff=0.75)
    if matches:
        return [by_lower[m] for m in matches]
    # Else by the game's name alone ('Pong' for 'Pongg-v9'), with its usual ids.
    games = {
        env_id[len("ALE/") : -len("-v5")].lower(): env_id[len("ALE/") : -len("-v5")]
        for env_id in known
        if env_id.startswith("ALE/") and env_id.endswith("-v5") and "-ram" not in env_id
    }
    game_name = re.split(r"[-/]", wanted.removeprefix("ale/"))[0]
    found = difflib.get_close_matches(game_name, list(games), n=3, cutoff=0.6)
    ids = [f"{games[g]}NoFrameskip-v4" for g in found] + [
        f"ALE/{games[g]}-v5" for g in found
    ]
    return [env_id for env_id in ids if env_id.lower() in by_lower]


def check_id(environment_name: str) -> gymnasium.envs.registration.EnvSpec:
    """The Gymnasium spec `load` makes `environment_name` from.

    Raises:
      UnknownEnvironmentError: no such id; the message lists close ones.
      MissingExtraError: ale-py is not installed.
    """
    _ale_py()
    spec = gymnasium.registry.get(environment_name) or _legacy_spec(environment_name)
    if spec is not None:
        return spec
    message = f"Unknown Atari environment {environment_name!r}"
    matches = _close_matches(environment_name)
    if matches:
        message += f"; close matches: {', '.join(matches)}"
    raise UnknownEnvironmentError(
        message + ". Ids are TF-Agents' ('PongNoFrameskip-v4', see suite_atari.game) "
        "or Gymnasium's ('ALE/Pong-v5')."
    )


def _check_rom(spec: gymnasium.envs.registration.EnvSpec) -> None:
    """Raises `MissingExtraError` if the ROM of an ale-py game cannot be found.

    ale-py 0.9 and later ship the ROMs in the package; earlier ones, or an
    `ALE_ROMS_DIR` pointing elsewhere, may lack them.
    """
    game_id = (spec.kwargs or {}).get("game")
    if spec.entry_point != _ALE_ENTRY_POINT or not isinstance(game_id, str):
        return
    roms = getattr(_ale_py(), "roms", None)
    get_rom_path = getattr(roms, "get_rom_path", None)
    if get_rom_path is None:
        return  # Another ale-py layout: its own error will have to do.
    problem = ""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            path = get_rom_path(game_id)
        if path is None:
            problem = "ale-py has no ROM of that name"
    except OSError as e:
        problem = str(e).splitlines()[0]
    if not problem:
        return
    where = os.environ.get("ALE_ROMS_DIR")
    hint = f" (ALE_ROMS_DIR={where!r} points ale-py there: unset it)" if where else ""
    error = extras.MissingExtraError(
        f"The ROM of Atari game {game_id!r} ({spec.id}) is missing: {problem}{hint}. "
        "The ale-py package ships the ROMs from version 0.9: pip install -U "
        "'ale-py>=0.10' (or pip install 'policylib[atari]')."
    )
    error.name = "ale_py"
    raise error


@gin.configurable
def load(
    environment_name: str,
    discount: types.Float = 1.0,
    max_episode_steps: int | None = None,
    gym_env_wrappers: Sequence[types.GymEnvWrapper] = DEFAULT_ATARI_GYM_WRAPPERS,
    env_wrappers: Sequence[types.PyEnvWrapper] = (),
    spec_dtype_map: dict[type, npt.DTypeLike] | None = None,
    gym_kwargs: dict[str, Any] | None = None,
    seed: int | None = None,
) -> py_environment.PyEnvironment:
    """Makes an Atari game as a `PyEnvironment` (an `AtariTimeLimit` of a `GymWrapper`).

    Args:
      environment_name: e.g. 'PongNoFrameskip-v4' (TF-Agents), 'ALE/Pong-v5'
        (Gymnasium); see `game`.
      discount: discount of non-terminal steps.
      max_episode_steps: most agent steps per game; the registered limit when
        None (ale-py registers none: its games end after 108,000 frames),
        none when 0.
      gym_env_wrappers: Gymnasium wrappers, applied first (by default
        `AtariPreprocessing`; see `DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING`).
      env_wrappers: `PyEnvironment` wrappers, applied last.
      spec_dtype_map: space class -> spec dtype; None maps Box to uint8.
      gym_kwargs: keyword arguments for ale-py's `AtariEnv` (e.g.
        `full_action_space`, `repeat_action_probability`, `render_mode`,
        which is 'rgb_array' unless given).
      seed: seeds the first reset (and the action space).

    Raises:
      UnknownEnvironmentError: no such id (the message lists close ones).
      MissingExtraError: ale-py or OpenCV is not installed, or a ROM is missing.
    """
    spec = check_id(environment_name)
    _check_rom(spec)
    if max_episode_steps is None:
        max_episode_steps = spec.max_episode_steps
    gym_kwargs = dict(gym_kwargs or {})
    if spec.entry_point == _ALE_ENTRY_POINT and "render_mode" not in spec.kwargs:
        # `render()` gives frames as in TF-Agents; rgb_array costs nothing until asked.
        gym_kwargs.setdefault("render_mode", "rgb_array")
    # The step limit is `AtariTimeLimit`'s, in agent steps, not a Gymnasium
    # TimeLimit counting emulator steps under the frame skip.
    gym_env = gymnasium.make(
        dataclasses.replace(spec, max_episode_steps=None), **gym_kwargs
    )
    for wrapper in gym_env_wrappers:
        gym_env = wrapper(gym_env)
    if spec_dtype_map is None:
        spec_dtype_map = {gymnasium.spaces.Box: np.uint8}
    env: py_environment.PyEnvironment = gym_wrapper.GymWrapper(
        gym_env, discount=discount, spec_dtype_map=spec_dtype_map, auto_reset=False
    )
    env = atari_wrappers.AtariTimeLimit(env, max_episode_steps or None)
    for env_wrapper in env_wrappers:
        env = env_wrapper(env)
    if seed is not None:
        env.seed(seed)
    return env
