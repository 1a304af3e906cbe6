"""The examples run: evaluating the shipped policy, and a short DQN training run."""

from __future__ import annotations

import importlib.util
import json
import re
import runpy
import sys
from pathlib import Path

import pytest

from policylib.policies import policy_loader

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_policy_balances_the_pole(capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "argv", ["evaluate_cartpole.py"])
    runpy.run_path(str(EXAMPLES / "evaluate_cartpole.py"), run_name="__main__")
    line = capsys.readouterr().out.strip().splitlines()[-1]
    average = float(
        re.match(r"Average return: ([\d.]+) over 20 episodes", line).group(1)
    )
    assert average >= 475


def test_short_dqn_training_run_saves_a_loadable_policy(tmp_path) -> None:
    trainer = _load("train_dqn_cartpole")
    summary = trainer.train(
        str(tmp_path), num_iterations=300, eval_interval=150, eval_episodes=2, log=False
    )
    assert summary["iterations"] == 300 and len(summary["curve"]) == 2
    assert summary["env_steps"] == 1_300  # 1,000 random steps, then one per iteration
    saved = json.loads((tmp_path / "curve.json").read_text())
    assert saved["final_average_return_20_episodes"] == pytest.approx(
        summary["final_average_return_20_episodes"]
    )
    policy = policy_loader.load(str(tmp_path / "policy"))
    assert policy.action_spec.shape == ()
