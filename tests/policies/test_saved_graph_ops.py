"""Untrusted SavedModels: graphs that read files or run Python are refused by default."""

import glob

import numpy as np
import pytest
import tensorflow as tf

from policylib import cli, data
from policylib.errors import UnsafeSavedModelError
from policylib.policies import policy_loader, policy_saver, saved_graph_ops, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")


class _Snooping(tf_policy.TFPolicy):
    """Acts 0, after listing a directory (MatchingFiles) or calling Python (EagerPyFunc)."""

    def __init__(self, how):
        super().__init__(ts.time_step_spec(OBS), ACT)
        self._how = how

    def _action(self, time_step, policy_state, seed):
        if self._how == "files":
            side = tf.size(tf.io.matching_files("/etc/*"))
        else:
            side = tf.py_function(lambda: np.int32(7), [], tf.int32)
        action = tf.zeros_like(time_step.step_type, tf.int64) * tf.cast(side, tf.int64)
        return policy_step.PolicyStep(action, policy_state, ())

    def _distribution(self, time_step, policy_state):
        raise NotImplementedError()


@pytest.fixture(scope="module", params=["files", "python"])
def snooping_dir(request, tmp_path_factory):
    path = tmp_path_factory.mktemp(request.param) / "policy"
    policy_saver.PolicySaver(_Snooping(request.param), batch_size=None).save(str(path))
    return request.param, path


def test_unsafe_model_is_refused_and_named(snooping_dir):
    how, path = snooping_dir
    op = "MatchingFiles" if how == "files" else "EagerPyFunc"
    found = saved_graph_ops.unsafe_ops(str(path))
    assert list(found) == [op], found
    assert found[op] and "<graph>" not in found[op], found
    with pytest.raises(
        UnsafeSavedModelError,
        match=rf"{path}: refusing to load a SavedModel .*\({op} in ",
    ) as info:
        policy_loader.load(str(path))
    assert "allow_unsafe_ops=True" in str(info.value)
    with pytest.raises(UnsafeSavedModelError):
        policy_loader.load(str(path), allow_unsafe_ops=["SomethingElse"])


def test_allowed_when_trusted(snooping_dir):
    how, path = snooping_dir
    if how == "python":
        pytest.skip("a saved py_function can only run in the process that defined it")
    policy = policy_loader.load(str(path), allow_unsafe_ops=["MatchingFiles"])
    assert policy.action(ts.restart(np.zeros(4, np.float32))).action == 0
    trusted = policy_loader.load(str(path), allow_unsafe_ops=True)
    assert trusted.action(ts.restart(np.zeros(4, np.float32))).action == 0


def test_cli_refuses_and_inspect_reports(snooping_dir, capsys):
    how, path = snooping_dir
    op = "MatchingFiles" if how == "files" else "EagerPyFunc"
    assert cli.main(["evaluate", str(path), "--quiet"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(
        f"policylib: error: {path}: refusing to load"
    )
    assert cli.main(["inspect", str(path)]) == 0
    assert f"\nUnsafe ops: {op} in " in capsys.readouterr().out


def test_saves_of_both_libraries_are_clean():
    saves = [data.cartpole_dqn_path()] + sorted(
        p
        for p in glob.glob("tests/fixtures/tf_agents_0_19/*")
        if not p.endswith(".npz")
    )
    assert len(saves) == 1 + 7  # the shipped policy and the TF-Agents fixtures
    for path in saves:
        assert saved_graph_ops.unsafe_ops(path) == {}, path
        saved_graph_ops.check(path)
