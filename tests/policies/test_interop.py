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

from policylib.policies import policy_loader
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from tests.fixtures import interop_policies

FIXTURES = os.path.join(os.path.dirname(interop_policies.__file__), "tf_agents_0_19")
SCRIPT = interop_policies.__file__


@pytest.mark.parametrize("name", interop_policies.NAMES)
def test_tf_agents_saves_load_three_ways_and_reproduce_actions(name: str) -> None:
    # tf.saved_model.load, SavedModelPyTFEagerPolicy (batched) and policy_loader.load
    # (one environment at a time) must each give TF-Agents' recorded actions; for
    # the sampling masked_q, the distribution modes and only allowed samples.
    assert interop_policies.check("policylib", FIXTURES, (name,)) == []
    assert policy_loader.load(os.path.join(FIXTURES, name)).get_train_step() == -1


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


def test_mismatched_time_step_names_the_expected_spec() -> None:
    policy = policy_loader.load(os.path.join(FIXTURES, "greedy_q"))
    with pytest.raises(ValueError, match=r"(?s)Expected time_step_spec.*shape=\(4,\)"):
        policy.action(ts.restart(np.zeros((5,), np.float32)))
    with pytest.raises(
        ValueError,
        match=r"time_step\.observation has dtype complex64, which does not fit its spec",
    ):
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
