"""`policylib evaluate` (and `--video`) on an Atari game and a MuJoCo task.

The saved policies are random ones with the specs each suite gives (what a
DQN Atari agent or a SAC MuJoCo agent saves); the video must show the game's
own frames, not the 84x84 grey observation.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from policylib import cli
from policylib.environments import env_construction, suite_mujoco, tf_py_environment
from policylib.policies import policy_saver, random_tf_policy


def _save_random_policy(env_id: str, path: str) -> None:
    env = tf_py_environment.TFPyEnvironment(env_construction.load(env_id))
    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    policy_saver.PolicySaver(policy).save(path)
    env.close()


def _evaluate_with_video(capsys, tmp_path, env_id: str, steps: int) -> np.ndarray:
    imageio = pytest.importorskip("imageio.v2")
    path = str(tmp_path / "policy")
    _save_random_policy(env_id, path)
    video = tmp_path / "episode.gif"
    status = cli.main(
        [
            "evaluate",
            path,
            "--env",
            env_id,
            "--episodes",
            "2",
            "--seed",
            "0",
            "--max-steps",
            str(steps),
            "--quiet",
            "--video",
            str(video),
        ]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("Mean return: ") and lines[0].endswith(
        f"over 2 episodes ({env_id})"
    ), out
    assert lines[1].startswith(f"Video: {video} ({steps + 1} frames"), out
    return np.asarray(imageio.mimread(str(video)))


@pytest.mark.skipif(importlib.util.find_spec("ale_py") is None, reason="atari extra")
def test_evaluate_and_video_on_an_atari_game(capsys, tmp_path) -> None:
    assert (
        env_construction.suite_of("PongNoFrameskip-v4") is env_construction.Suite.ATARI
    )
    assert env_construction.suite_of("ALE/Pong-v5") is env_construction.Suite.ATARI
    assert env_construction.suite_of("CartPole-v0") is env_construction.Suite.GYMNASIUM
    frames = _evaluate_with_video(capsys, tmp_path, "PongNoFrameskip-v4", 12)
    # The emulator's RGB screen (210x160), in colour, and the game moves.
    assert frames.shape[1:3] == (210, 160) and frames.shape[-1] in (3, 4)
    rgb = frames[..., :3].astype(int)
    assert np.abs(rgb[..., 0] - rgb[..., 1]).max() > 0  # not grey-scale
    assert np.abs(rgb[-1] - rgb[0]).sum() > 0


@pytest.mark.skipif(not suite_mujoco.is_available(), reason="mujoco extra")
def test_evaluate_and_video_on_a_mujoco_task(capsys, tmp_path) -> None:
    assert env_construction.suite_of("Hopper-v3") is env_construction.Suite.MUJOCO
    frames = _evaluate_with_video(capsys, tmp_path, "Hopper-v5", 8)
    assert frames.shape[1:3] == (480, 480)
    rgb = frames[..., :3].astype(int)
    assert rgb.std() > 10  # a rendered scene, not a blank frame
    assert np.abs(rgb[-1] - rgb[0]).sum() > 0  # the hopper moved
