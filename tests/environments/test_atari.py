"""Atari support: AtariPreprocessing, FrameStack4, AtariTimeLimit, FireOnReset, suite_atari.

Pooling, frame counts and life losses are checked exactly on a stand-in ALE
whose screens are known; real ale-py games check specs, the direct emulator
path, agreement with Gymnasium's own preprocessing, names and errors.
"""

from __future__ import annotations

import functools
import importlib.util
import subprocess
import sys
from typing import Any

import gymnasium
import numpy as np
import pytest

from policylib.base import extras
from policylib.environments import (
    atari_preprocessing,
    atari_wrappers,
    gym_wrapper,
    suite_atari,
)
from policylib.errors import UnknownEnvironmentError
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts

AtariPreprocessing = atari_preprocessing.AtariPreprocessing

needs_cv2 = pytest.mark.skipif(
    importlib.util.find_spec("cv2") is None, reason="OpenCV (atari extra) missing"
)
needs_ale = pytest.mark.skipif(
    importlib.util.find_spec("ale_py") is None
    or importlib.util.find_spec("cv2") is None,
    reason="ale-py or OpenCV (atari extra) missing",
)

SIDE = 84  # Stand-in screens are 84x84, so resizing to 84 leaves them exact.


def fake_screen(frame: int) -> np.ndarray:
    """Frame `frame` of the stand-in: grey 10 + frame, with column `frame` white."""
    screen = np.full((SIDE, SIDE), 10 + frame, np.uint8)
    screen[:, frame % SIDE] = 250
    return screen


class FakeAle:
    """The part of ale-py's ALEInterface the preprocessing reads."""

    def __init__(self) -> None:
        self.frame = 0
        self.num_lives = 3

    def lives(self) -> int:
        return self.num_lives

    def getScreenGrayscale(self, out: np.ndarray) -> None:  # noqa: N802 (ALE's name)
        out[...] = fake_screen(self.frame)


class FakeAtari(gymnasium.Env):
    """A Gymnasium env over `FakeAle`: reward 1 a frame, lives lost at given frames."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, lose_life_at: tuple[int, ...] = (), end_at: int = 0):
        self.ale = FakeAle()
        self.observation_space = gymnasium.spaces.Box(0, 255, (SIDE, SIDE, 3), np.uint8)
        self.action_space = gymnasium.spaces.Discrete(4)
        self.lose_life_at = lose_life_at
        self.end_at = end_at
        self.frames_run = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        super().reset(seed=seed)
        self.ale.frame, self.ale.num_lives = 0, 3
        return np.zeros((SIDE, SIDE, 3), np.uint8), {}

    def step(self, action: Any) -> Any:
        self.ale.frame += 1
        self.frames_run += 1
        if self.ale.frame in self.lose_life_at:
            self.ale.num_lives -= 1
        terminated = self.ale.frame == self.end_at
        observation = np.zeros((SIDE, SIDE, 3), np.uint8)
        return observation, 1.0, terminated, False, {"frame": self.ale.frame}


def pooled(*frames: int) -> np.ndarray:
    return np.maximum.reduce([fake_screen(f) for f in frames])[:, :, np.newaxis]


@needs_cv2
def test_step_max_pools_the_last_two_frames_and_sums_rewards() -> None:
    env = AtariPreprocessing(FakeAtari(), frame_skip=4)
    observation, _ = env.reset(seed=0)
    np.testing.assert_array_equal(observation, fake_screen(0)[:, :, np.newaxis])
    observation, reward, terminated, truncated, info = env.step(0)
    assert observation.shape == (84, 84, 1) and observation.dtype == np.uint8
    np.testing.assert_array_equal(observation, pooled(3, 4))
    assert (reward, terminated, truncated, info) == (4.0, False, False, {"frame": 4})
    observation, *_ = env.step(0)
    np.testing.assert_array_equal(observation, pooled(7, 8))
    assert env.env.frames_run == 8
    assert env.observation_space == gymnasium.spaces.Box(0, 255, (84, 84, 1), np.uint8)


@needs_cv2
def test_frame_skip_one_returns_the_frame_itself() -> None:
    env = AtariPreprocessing(FakeAtari(), frame_skip=1, screen_size=42)
    env.reset()
    observation, reward, *_ = env.step(0)
    assert observation.shape == (42, 42, 1) and reward == 1.0
    # Area-averaged 2x2 blocks of frame 1: grey 11, white column 1 -> 130.5,
    # rounded half up.
    np.testing.assert_array_equal(observation[:, 1:, 0], 11)
    np.testing.assert_array_equal(observation[:, 0, 0], 131)


@needs_cv2
def test_life_loss_ends_the_episode_only_when_asked() -> None:
    ending = AtariPreprocessing(
        FakeAtari(lose_life_at=(3,)), frame_skip=4, terminal_on_life_loss=True
    )
    ending.reset()
    observation, reward, terminated, truncated, _ = ending.step(0)
    assert (reward, terminated, truncated) == (3.0, True, False)
    assert ending.env.frames_run == 3
    assert ending.lives == 2 and not ending.game_over  # The game goes on.
    # Cut short: the image is the last frame's alone, not a stale pool.
    np.testing.assert_array_equal(observation, fake_screen(3)[:, :, np.newaxis])
    _, _, terminated, _, _ = ending.step(0)
    assert not terminated and ending.env.frames_run == 7

    ignoring = AtariPreprocessing(FakeAtari(lose_life_at=(3,)), frame_skip=4)
    ignoring.reset()
    _, reward, terminated, _, _ = ignoring.step(0)
    assert (reward, terminated, ignoring.lives) == (4.0, False, 2)


@needs_cv2
def test_loss_on_the_last_frame_still_pools_the_two_frames() -> None:
    env = AtariPreprocessing(
        FakeAtari(lose_life_at=(4,)), frame_skip=4, terminal_on_life_loss=True
    )
    env.reset()
    observation, _, terminated, _, _ = env.step(0)
    assert terminated
    np.testing.assert_array_equal(observation, pooled(3, 4))


@needs_cv2
def test_game_end_mid_step_sets_game_over() -> None:
    env = AtariPreprocessing(FakeAtari(end_at=6), frame_skip=4)
    env.reset()
    env.step(0)
    assert not env.game_over
    observation, reward, terminated, _, _ = env.step(0)
    assert (reward, terminated, env.game_over) == (2.0, True, True)
    np.testing.assert_array_equal(observation, fake_screen(6)[:, :, np.newaxis])
    env.reset()
    assert not env.game_over


@needs_cv2
def test_old_gym_api_env_is_answered_in_its_api() -> None:
    gym = pytest.importorskip("gym")

    class OldApiAtari(gym.Env):
        def __init__(self) -> None:
            self.ale = FakeAle()
            self.observation_space = gym.spaces.Box(0, 255, (SIDE, SIDE, 3), np.uint8)
            self.action_space = gym.spaces.Discrete(4)

        def reset(self) -> np.ndarray:
            self.ale.frame = 0
            return np.zeros((SIDE, SIDE, 3), np.uint8)

        def step(self, action: Any) -> tuple:
            self.ale.frame += 1
            return np.zeros((SIDE, SIDE, 3), np.uint8), 0.5, self.ale.frame >= 8, {}

    env = atari_wrappers.FrameStack4(AtariPreprocessing(OldApiAtari(), frame_skip=2))
    first = env.reset()
    assert first.shape == (84, 84, 4)
    observation, reward, done, info = env.step(1)
    assert (reward, done, info) == (1.0, False, {})
    np.testing.assert_array_equal(observation[:, :, 3:], pooled(1, 2))
    for _ in range(3):
        *_, done, _ = env.step(1)
    assert done


@needs_cv2
def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="frame_skip must be positive"):
        AtariPreprocessing(FakeAtari(), frame_skip=0)
    with pytest.raises(ValueError, match="screen_size must be positive"):
        AtariPreprocessing(FakeAtari(), screen_size=-1)
    with pytest.raises(ValueError, match="CartPoleEnv has no `ale`"):
        AtariPreprocessing(gymnasium.make("CartPole-v1"))


@needs_cv2
def test_frame_stack_shifts_oldest_out() -> None:
    env = atari_wrappers.FrameStack4(AtariPreprocessing(FakeAtari(), frame_skip=1))
    assert env.observation_space.shape == (84, 84, 4)
    observation, _ = env.reset()
    for channel in range(4):
        np.testing.assert_array_equal(observation[:, :, channel], fake_screen(0))
    previous = observation
    for frame in range(1, 6):
        observation, *_ = env.step(0)
        np.testing.assert_array_equal(observation[:, :, :3], previous[:, :, 1:])
        np.testing.assert_array_equal(observation[:, :, 3], fake_screen(frame))
        assert observation is not previous and not np.shares_memory(
            observation, previous
        )
        previous = observation
    # Attributes below it are reachable, as in TF-Agents.
    assert env.lives == 3 and env.game_over is False


def test_frame_stack_refuses_non_images() -> None:
    with pytest.raises(ValueError, match="stacks image observations"):
        atari_wrappers.FrameStack4(gymnasium.make("CartPole-v1"))


class LifeLossEnv(gymnasium.Env):
    """Five steps a life, two lives; `game_over` as AtariPreprocessing keeps it."""

    def __init__(self) -> None:
        self.observation_space = gymnasium.spaces.Box(0, 9, (), np.int64)
        self.action_space = gymnasium.spaces.Discrete(2)
        self.resets = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        self.resets += 1
        self.t, self.game_over = 0, False
        return np.int64(0), {}

    def step(self, action: Any) -> Any:
        self.t += 1
        life_lost = self.t % 5 == 0
        self.game_over = self.t == 10
        return np.int64(self.t % 10), 1.0, life_lost, False, {}


def test_atari_time_limit_resets_only_when_the_game_is_over() -> None:
    gym_env = LifeLossEnv()
    env = atari_wrappers.AtariTimeLimit(
        gym_wrapper.GymWrapper(gym_env, auto_reset=False), None
    )
    kinds = [env.reset().step_type] + [env.step(0).step_type for _ in range(11)]
    first, mid, last = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST
    # A lost life (step 5) ends the episode but the game goes on; game over (10) resets.
    assert [int(k) for k in kinds] == [first, *[mid] * 4, last, *[mid] * 4, last, first]
    assert gym_env.resets == 2


def test_atari_time_limit_cuts_at_duration() -> None:
    env = atari_wrappers.AtariTimeLimit(
        gym_wrapper.GymWrapper(LifeLossEnv(), auto_reset=False), 3
    )
    env.reset()
    assert [bool(env.step(0).is_last()) for _ in range(3)] == [False, False, True]
    assert env.game_over and env.duration == 3
    assert env.step(0).is_first()


def test_game_builds_tf_agents_ids() -> None:
    assert suite_atari.game("Pong") == "PongNoFrameskip-v0"
    assert suite_atari.game("Pong", "ram", "Deterministic", "v4") == (
        "Pong-ramDeterministic-v4"
    )
    assert suite_atari.game("Breakout", mode="", version="v4") == "Breakout-v4"
    with pytest.raises(ValueError, match="mode must be one of"):
        suite_atari.game("Pong", mode="Frameskip")


@needs_ale
def test_load_gives_uint8_screens_and_int64_actions() -> None:
    env = suite_atari.load("PongNoFrameskip-v4", seed=0)
    assert isinstance(env, atari_wrappers.AtariTimeLimit)
    assert env.observation_spec() == array_spec.BoundedArraySpec(
        (84, 84, 1), np.uint8, 0, 255, name="observation"
    )
    assert env.action_spec() == array_spec.BoundedArraySpec(
        (), np.int64, 0, 5, name="action"
    )
    time_step = env.reset()
    assert time_step.observation.shape == (84, 84, 1)
    assert time_step.observation.dtype == np.uint8
    for action in range(6):
        time_step = env.step(np.int64(action))
    assert time_step.observation.shape == (84, 84, 1)
    assert env.render().shape == (210, 160, 3)


@needs_ale
def test_stacked_load_and_seeding_repeat_episodes() -> None:
    def run() -> list[np.ndarray]:
        env = suite_atari.load(
            "ALE/Breakout-v5",  # Sticky actions: randomness a seed must fix.
            gym_env_wrappers=suite_atari.DEFAULT_ATARI_GYM_WRAPPERS_WITH_STACKING,
            seed=7,
        )
        assert env.observation_spec().shape == (84, 84, 4)
        observations = [env.reset().observation]
        actions = np.random.default_rng(1).integers(4, size=40)
        observations += [env.step(a).observation for a in actions]
        return observations

    first, second = run(), run()
    assert all(np.array_equal(a, b) for a, b in zip(first, second))
    assert len({o.tobytes() for o in first}) > 10  # The screens do change.


@needs_ale
@pytest.mark.parametrize("frame_skip", [1, 4])
def test_direct_emulator_path_equals_stepping_the_env(frame_skip: int) -> None:
    """The fast path (frames run on the ALE) against `env.step` for every frame."""

    class Layer(gymnasium.Wrapper):
        """Any wrapper in between turns the fast path off."""

    def make(layered: bool) -> AtariPreprocessing:
        env = gymnasium.make("BreakoutNoFrameskip-v4")
        return AtariPreprocessing(
            Layer(env) if layered else env,
            frame_skip=frame_skip,
            terminal_on_life_loss=True,
        )

    direct, stepped = make(False), make(True)
    assert direct._direct is not None and stepped._direct is None
    np.testing.assert_array_equal(direct.reset(seed=3)[0], stepped.reset(seed=3)[0])
    actions = np.random.default_rng(0).integers(4, size=300 // frame_skip * 2)
    ends = 0
    for action in actions:
        a, b = direct.step(int(action)), stepped.step(int(action))
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1:] == b[1:]
        assert (direct.lives, direct.game_over) == (stepped.lives, stepped.game_over)
        ends += a[2]
    assert ends >= 1  # A life was lost on the way.


@needs_ale
def test_same_screens_as_gymnasiums_atari_preprocessing() -> None:
    ours = AtariPreprocessing(gymnasium.make("PongNoFrameskip-v4"))
    theirs = gymnasium.wrappers.AtariPreprocessing(
        gymnasium.make("PongNoFrameskip-v4"), noop_max=0, grayscale_newaxis=True
    )
    np.testing.assert_array_equal(ours.reset(seed=5)[0], theirs.reset(seed=5)[0])
    for action in np.random.default_rng(2).integers(6, size=60):
        mine, other = ours.step(int(action)), theirs.step(int(action))
        np.testing.assert_array_equal(mine[0], other[0])
        assert mine[1:4] == other[1:4]


@needs_ale
def test_life_loss_episode_continues_the_game_under_suite_atari() -> None:
    env = suite_atari.load(
        "BreakoutNoFrameskip-v4",
        gym_env_wrappers=[
            functools.partial(AtariPreprocessing, terminal_on_life_loss=True)
        ],
        seed=0,
    )
    env.reset()
    lives = env.gym.lives
    fire_and_move = np.random.default_rng(0).integers(4, size=2000)
    for action in fire_and_move:
        time_step = env.step(action)
        if time_step.is_last():
            break
    else:
        pytest.fail("no life lost in 2000 steps")
    assert float(time_step.discount) == 0.0
    assert env.gym.lives == lives - 1 and not env.game_over
    frame = env.gym.unwrapped.ale.getEpisodeFrameNumber()
    assert env.step(np.int64(0)).step_type == ts.StepType.MID  # Same game, no reset.
    assert env.gym.unwrapped.ale.getEpisodeFrameNumber() == frame + 4


@needs_ale
@pytest.mark.parametrize(
    "name, fires", [("BreakoutNoFrameskip-v4", True), ("FreewayNoFrameskip-v4", False)]
)
def test_fire_on_reset_presses_fire_only_where_there_is_one(
    name: str, fires: bool
) -> None:
    env = atari_wrappers.FireOnReset(gymnasium.make(name))
    observation, info = env.reset(seed=0)
    assert observation.shape == (210, 160, 3)
    assert info["episode_frame_number"] == (2 if fires else 0)


@needs_ale
def test_tf_agents_ram_and_deterministic_ids_load() -> None:
    spec = suite_atari.check_id("Pong-ramDeterministic-v4")
    assert spec.id == "Pong-ramDeterministic-v4"
    assert spec.kwargs["obs_type"] == "ram" and spec.kwargs["frameskip"] == 4
    assert spec.kwargs["repeat_action_probability"] == 0.0
    assert (
        suite_atari.check_id("SpaceInvadersDeterministic-v0").kwargs["frameskip"] == 3
    )
    assert suite_atari.check_id("ALE/Pong-ram-v5").kwargs["obs_type"] == "ram"
    env = suite_atari.load(
        suite_atari.game("Pong", obs_type="ram"), gym_env_wrappers=()
    )
    assert env.observation_spec().shape == (128,)
    assert env.gym.spec.id == "Pong-ramNoFrameskip-v0"
    # The preprocessing reads the screen from the ALE whatever the observation.
    screens = suite_atari.load("Pong-ram-v4")
    assert screens.observation_spec().shape == (84, 84, 1)
    assert screens.reset().observation.shape == (84, 84, 1)


@needs_ale
@pytest.mark.parametrize(
    "name, suggested",
    [
        ("Pongg-v0", "Pong-v0"),
        ("ALE/Breakuot-v5", "ALE/Breakout-v5"),
        ("SpaceInvaders-v9", "SpaceInvaders-v4"),
        ("Pacmann", "ALE/Pacman-v5"),
    ],
)
def test_unknown_ids_name_close_matches(name: str, suggested: str) -> None:
    with pytest.raises(UnknownEnvironmentError) as raised:
        suite_atari.load(name)
    message = str(raised.value)
    assert f"Unknown Atari environment {name!r}" in message
    assert suggested in message.split("close matches: ")[1].split(".")[0]


@needs_ale
def test_missing_rom_names_the_package(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALE_ROMS_DIR", str(tmp_path))
    with pytest.raises(extras.MissingExtraError) as raised:
        suite_atari.load("PongNoFrameskip-v4")
    message = str(raised.value)
    assert "ROM of Atari game 'pong'" in message
    assert "ALE_ROMS_DIR" in message and "pip install -U 'ale-py>=0.10'" in message


def test_missing_ale_py_is_one_instruction_and_import_still_works() -> None:
    code = (
        "import sys; sys.modules['ale_py'] = None\n"
        "from policylib.environments import suite_atari\n"
        "try:\n"
        "    suite_atari.load('PongNoFrameskip-v4')\n"
        "except ImportError as e:\n"
        "    print(type(e).__name__, str(e).splitlines()[0])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("MissingExtraError Atari environments need ale_py")
    assert "pip install 'policylib[atari]'" in result.stdout
