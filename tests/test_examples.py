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


def test_offline_example_records_trains_and_evaluates(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "unused"))  # restored
    example = _load("offline_cql_pendulum")
    args = ["--output-dir", str(tmp_path), "--data-steps", "450", "--train-steps", "20"]
    summary = example.main([*args, "--eval-episodes", "2"])
    data = summary["data"]
    assert (data["episodes"], data["steps"]) == (3, 450)  # 200 + 200 + 50
    assert data["min_return"] <= data["average_return"] <= data["max_return"] < 0
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    for name in ("cql_sac", "bc"):
        assert summary[name]["train_steps"] == 20
        assert -2_000 < summary[name]["mean_return"] < 0, summary[name]
        policy = policy_loader.load(summary[name]["policy"])
        assert policy.action_spec.shape == (1,)
    # A second run finds its data set recorded already and reads it back.
    again = example.record(str(tmp_path), example.default_expert(), 450, 0, 1.0)
    assert again.summary().average_return == data["average_return"]
