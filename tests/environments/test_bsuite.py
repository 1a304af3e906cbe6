"""suite_bsuite: bsuite's dm_env environments as `PyEnvironment`s."""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path

import gin
import numpy as np
import pytest

from policylib.base.extras import MissingExtraError
from policylib.environments import (
    dm_control_wrapper,
    py_environment,
    suite_bsuite,
    utils,
    wrappers,
)
from policylib.errors import UnknownEnvironmentError
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts

pytestmark = pytest.mark.skipif(
    not suite_bsuite.is_available(), reason="the bsuite extra is not installed"
)

GIN_FILE = (
    Path(suite_bsuite.__file__).parent / "configs" / "suite_bsuite.gin"
).resolve()


def _episode(env: py_environment.PyEnvironment, actions: list[int]) -> list:
    """The time steps of one episode from a reset, taking `actions` in turn."""
    steps = [env.reset()]
    i = 0
    while not steps[-1].is_last():
        steps.append(env.step(np.int64(actions[i % len(actions)])))
        i += 1
    return steps


def test_specs_come_from_bsuites_dm_env_specs() -> None:
    env = suite_bsuite.load("deep_sea/0", record=False)
    assert isinstance(env, dm_control_wrapper.DmEnvWrapper)
    assert env.observation_spec() == array_spec.ArraySpec(
        (10, 10), np.float32, "observation"
    )
    assert env.action_spec() == array_spec.BoundedArraySpec(
        (), np.int32, 0, 1, "action"
    )
    assert env.reward_spec() == array_spec.ArraySpec((), np.float32, "reward")
    catch = suite_bsuite.load("catch/0", record=False)
    assert catch.observation_spec() == array_spec.BoundedArraySpec(
        (10, 5), np.float32, 0.0, 1.0, "observation"
    )
    assert catch.action_spec().num_values == 3


def test_episode_steps_and_termination_discount() -> None:
    env = suite_bsuite.load("deep_sea/0", record=False)
    steps = _episode(env, [1])
    assert len(steps) == 11  # deep_sea/0 is 10 rows deep.
    assert [int(s.step_type) for s in steps] == [0] + [1] * 9 + [2]
    assert float(steps[0].reward) == 0.0 and float(steps[0].discount) == 1.0
    assert all(float(s.discount) == 1.0 for s in steps[1:-1])
    assert float(steps[-1].discount) == 0.0  # bsuite terminates its episodes.
    for step in steps:
        array_spec.assert_arrays_spec_nest(step.observation, env.observation_spec())
        assert step.reward.dtype == np.float32
    next_step = env.step(np.array([0]))
    assert next_step.step_type == ts.StepType.FIRST
    assert env.bsuite_num_episodes == 10000  # Read from the bsuite environment.


def test_same_id_gives_the_same_episodes() -> None:
    actions = [0, 1, 1, 0, 1]
    a = _episode(suite_bsuite.load("deep_sea/0", record=False), actions)
    b = _episode(suite_bsuite.load("deep_sea/0", record=False), actions)
    assert len(a) == len(b)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x.observation, y.observation)
        assert float(x.reward) == float(y.reward)
    rewards = [float(s.reward) for s in a]
    other = [
        float(s.reward)
        for s in _episode(suite_bsuite.load("deep_sea/0", record=False), [1])
    ]
    assert rewards != other  # The actions matter: it is not a constant stream.


def test_unknown_ids_name_close_matches() -> None:
    with pytest.raises(UnknownEnvironmentError, match="Did you mean 'deep_sea'"):
        suite_bsuite.load("deep_see/0", record=False)
    with pytest.raises(UnknownEnvironmentError, match="'deep_sea/0' to 'deep_sea/20'"):
        suite_bsuite.load("deep_sea/99", record=False)
    with pytest.raises(UnknownEnvironmentError, match="'catch/0' to"):
        suite_bsuite.load("catch", record=False)


def test_recording_to_csv_and_terminal(tmp_path: Path) -> None:
    env = suite_bsuite.load(
        "bandit/0", record=True, save_path=str(tmp_path), logging_mode="csv"
    )
    _episode(env, [0])
    written = glob.glob(os.path.join(tmp_path, "*.csv"))
    assert [os.path.basename(p) for p in written] == ["bsuite_id_-_bandit-0.csv"]
    with open(written[0]) as f:
        assert "episode" in f.readline()

    with pytest.raises(ValueError, match="needs a save_path"):
        suite_bsuite.load("bandit/0", record=True, logging_mode="csv")
    with pytest.raises(ValueError, match="sqlite"):
        suite_bsuite.load("bandit/0", logging_mode="sqlite", save_path=str(tmp_path))
    terminal = suite_bsuite.load("bandit/0", logging_mode="terminal")
    utils.validate_py_environment(terminal, episodes=2)


def test_gin_config_loads_deep_sea() -> None:
    try:
        gin.parse_config_file(str(GIN_FILE))
        env = suite_bsuite.load()
    finally:
        gin.clear_config()
    assert isinstance(env, py_environment.PyEnvironment)
    assert env.observation_spec() == array_spec.ArraySpec(
        (10, 10), np.float32, "observation"
    )


def test_env_wrappers_are_applied() -> None:
    env = suite_bsuite.load(
        "deep_sea/0", record=False, env_wrappers=(lambda e: wrappers.TimeLimit(e, 2),)
    )
    steps = _episode(env, [1])
    assert len(steps) == 3 and float(steps[-1].discount) == 1.0


def test_missing_bsuite_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bsuite.bsuite", None)
    assert not suite_bsuite.is_available()
    with pytest.raises(MissingExtraError, match=r"policylib\[bsuite\]"):
        suite_bsuite.load("deep_sea/0", record=False)
