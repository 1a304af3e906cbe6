"""SavedModels written by TF-Agents 0.19 load in policylib and act as they did there.

The fixtures were written by tests/fixtures/make_tf_agents_fixtures.py with
TF-Agents itself; each `<name>.npz` holds batched time steps and the actions
(or, for a sampling policy, distribution modes) TF-Agents' policy produced.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import policy_loader, py_tf_eager_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "tf_agents_0_19")
DETERMINISTIC = ["greedy_q", "actor", "rnn_q", "dict_obs_actor"]


def _load_record(name: str) -> dict[str, np.ndarray]:
    with np.load(os.path.join(FIXTURES, name + ".npz")) as data:
        return {k: data[k] for k in data.files}


def _time_steps(record: dict[str, np.ndarray], entry: slice | int = slice(None)) -> list:
    """The recorded time steps, one `TimeStep` of arrays per step."""
    obs_keys = sorted(k for k in record if k.startswith("ts/observation"))
    steps = []
    for t in range(record["ts/step_type"].shape[0]):
        if obs_keys == ["ts/observation"]:
            observation = record["ts/observation"][t, entry]
        else:
            observation = {k.split("/")[-1]: record[k][t, entry] for k in obs_keys}
        steps.append(
            ts.TimeStep(
                step_type=record["ts/step_type"][t, entry],
                reward=record["ts/reward"][t, entry],
                discount=record["ts/discount"][t, entry],
                observation=observation,
            )
        )
    return steps


def _expected(record: dict[str, np.ndarray]) -> np.ndarray:
    return record["action"] if "action" in record else record["mode"]


def _assert_close(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(np.asarray(actual), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", DETERMINISTIC + ["masked_q"])
def test_tf_saved_model_load_reproduces_actions(name: str) -> None:
    record = _load_record(name)
    loaded = tf.saved_model.load(os.path.join(FIXTURES, name))
    expected = _expected(record)
    state = loaded.get_initial_state(expected.shape[1])
    for t, step in enumerate(_time_steps(record)):
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
    record = _load_record(name)
    policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        os.path.join(FIXTURES, name), load_specs_from_pbtxt=True, batch_time_steps=False
    )
    expected = _expected(record)
    state = policy.get_initial_state(expected.shape[1])
    for t, step in enumerate(_time_steps(record)):
        out = policy.action(step, state)
        _assert_close(out.action, expected[t])
        state = out.state
    assert policy.get_train_step() == -1


@pytest.mark.parametrize("name", DETERMINISTIC)
def test_policy_loader_reproduces_actions_one_environment_at_a_time(name: str) -> None:
    record = _load_record(name)
    policy = policy_loader.load(os.path.join(FIXTURES, name))
    expected = _expected(record)
    for entry in range(expected.shape[1]):
        state = policy.get_initial_state()
        for t, step in enumerate(_time_steps(record, entry)):
            out = policy.action(step, state)
            _assert_close(out.action, expected[t, entry])
            state = out.state


def test_specs_come_from_the_pbtxt_with_bounds() -> None:
    policy = policy_loader.load(os.path.join(FIXTURES, "actor"))
    assert policy.action_spec == array_spec.BoundedArraySpec((2,), np.float32, -2.0, 2.0, "action")
    assert policy.time_step_spec.observation == array_spec.ArraySpec((3,), np.float32, "observation")
    rnn = policy_loader.load(os.path.join(FIXTURES, "rnn_q"))
    assert [s.shape for s in tf.nest.flatten(rnn.policy_state_spec)] == [(6,), (6,)]


def test_masked_policy_samples_only_allowed_actions() -> None:
    record = _load_record("masked_q")
    policy = policy_loader.load(os.path.join(FIXTURES, "masked_q"))
    for entry in range(2):
        for step in _time_steps(record, entry):
            action = int(policy.action(step).action)
            assert step.observation["mask"][action] == 1


def test_mismatched_time_step_names_the_expected_spec() -> None:
    policy = policy_loader.load(os.path.join(FIXTURES, "greedy_q"))
    bad = ts.restart(np.zeros((5,), np.float32))
    with pytest.raises(ValueError, match=r"(?s)Expected time_step_spec.*shape=\(4,\)"):
        policy.action(bad)
    with pytest.raises(ValueError, match="does not fit the spec"):
        policy.action(ts.restart(np.zeros((4,), np.complex64)))
