"""SavedModels cross between TF-Agents 0.19 and policylib, both ways.

TF-Agents -> policylib: tests/fixtures/tf_agents_0_19 holds policies that
TF-Agents' PolicySaver wrote (by tests/fixtures/interop_policies.py), with the
actions TF-Agents' policies took; policylib must load and reproduce them.

policylib -> TF-Agents: needs a Python with tf-agents 0.19 installed, named by
POLICYLIB_TF_AGENTS_PYTHON (`.ci/run` sets one up); skipped without it.
"""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import policy_loader, py_tf_eager_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from tests.fixtures import interop_policies

FIXTURES = os.path.join(os.path.dirname(interop_policies.__file__), "tf_agents_0_19")
SCRIPT = interop_policies.__file__
DETERMINISTIC = ["greedy_q", "actor", "rnn_q", "dict_obs_actor"]


def _expected(record: dict[str, np.ndarray]) -> np.ndarray:
    return record["action"] if "action" in record else record["mode"]


def _assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", DETERMINISTIC + ["masked_q"])
def test_tf_saved_model_load_reproduces_actions(name: str) -> None:
    record = interop_policies.load_record(FIXTURES, name)
    loaded = tf.saved_model.load(os.path.join(FIXTURES, name))
    expected = _expected(record)
    state = loaded.get_initial_state(expected.shape[1])
    for t, step in enumerate(interop_policies.recorded_time_steps(record, ts)):
        step = tf.nest.map_structure(tf.constant, step)
        if "mode" in record:
            out = loaded.distribution(step, state)
            _assert_close(out.action.mode(), expected[t])
        else:
            out = loaded.action(step, state)
            _assert_close(out.action, expected[t])
        state = out.state


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_saved_model_py_policy_reproduces_actions(name: str) -> None:
    record = interop_policies.load_record(FIXTURES, name)
    policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        os.path.join(FIXTURES, name), load_specs_from_pbtxt=True, batch_time_steps=False
    )
    expected = _expected(record)
    state = policy.get_initial_state(expected.shape[1])
    for t, step in enumerate(interop_policies.recorded_time_steps(record, ts)):
        out = policy.action(step, state)
        _assert_close(out.action, expected[t])
        state = out.state
    assert policy.get_train_step() == -1


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_policy_loader_reproduces_actions_one_environment_at_a_time(name: str) -> None:
    record = interop_policies.load_record(FIXTURES, name)
    policy = policy_loader.load(os.path.join(FIXTURES, name))
    expected = _expected(record)
    for entry in range(expected.shape[1]):
        state = policy.get_initial_state()
        for t, step in enumerate(
            interop_policies.recorded_time_steps(record, ts, entry)
        ):
            out = policy.action(step, state)
            _assert_close(out.action, expected[t, entry])
            state = out.state


def test_specs_come_from_the_pbtxt_with_bounds() -> None:
    policy = policy_loader.load(os.path.join(FIXTURES, "actor"))
    assert policy.action_spec == array_spec.BoundedArraySpec(
        (2,), np.float32, -2.0, 2.0, "action"
    )
    assert policy.time_step_spec.observation == array_spec.ArraySpec(
        (3,), np.float32, "observation"
    )
    rnn = policy_loader.load(os.path.join(FIXTURES, "rnn_q"))
    assert [s.shape for s in tf.nest.flatten(rnn.policy_state_spec)] == [(6,), (6,)]


def test_masked_policy_samples_only_allowed_actions() -> None:
    record = interop_policies.load_record(FIXTURES, "masked_q")
    policy = policy_loader.load(os.path.join(FIXTURES, "masked_q"))
    for entry in range(2):
        for step in interop_policies.recorded_time_steps(record, ts, entry):
            action = int(policy.action(step).action)
            assert step.observation["mask"][action] == 1


def test_mismatched_time_step_names_the_expected_spec() -> None:
    policy = policy_loader.load(os.path.join(FIXTURES, "greedy_q"))
    with pytest.raises(ValueError, match=r"(?s)Expected time_step_spec.*shape=\(4,\)"):
        policy.action(ts.restart(np.zeros((5,), np.float32)))
    with pytest.raises(ValueError, match="does not fit the spec"):
        policy.action(ts.restart(np.zeros((4,), np.complex64)))


def test_policylib_saves_check_out_in_policylib(tmp_path) -> None:
    interop_policies.save("policylib", str(tmp_path))
    assert interop_policies.check("policylib", str(tmp_path)) == []


@pytest.mark.skipif(
    not os.environ.get("POLICYLIB_TF_AGENTS_PYTHON"),
    reason="set POLICYLIB_TF_AGENTS_PYTHON to a Python with tf-agents 0.19 (.ci/run does)",
)
def test_tf_agents_loads_policylib_saves(tmp_path) -> None:
    interop_policies.save("policylib", str(tmp_path))
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="2")
    env["PYTHONPATH"] = ""  # TF-Agents' environment must not see policylib
    result = subprocess.run(
        [
            os.environ["POLICYLIB_TF_AGENTS_PYTHON"],
            SCRIPT,
            "check",
            "--lib",
            "tf_agents",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert result.stdout.count("checked") == len(interop_policies.NAMES)
