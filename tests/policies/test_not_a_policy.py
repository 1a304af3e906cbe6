"""Paths that hold no (usable) policy: one NotAPolicyError naming the path and the problem."""

import shutil

import numpy as np
import pytest
import tensorflow as tf

from policylib import data
from policylib.errors import NotAPolicyError
from policylib.networks import q_network
from policylib.policies import (
    greedy_policy,
    policy_loader,
    policy_saver,
    py_tf_eager_policy,
    q_policy,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")


def _greedy(hidden):
    net = q_network.QNetwork(OBS, ACT, fc_layer_params=hidden)
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(OBS), ACT, q_network=net)
    )


@pytest.fixture
def shipped_copy(tmp_path):
    path = tmp_path / "policy"
    shutil.copytree(data.cartpole_dqn_path(), path)
    return path


def _refused(path, match):
    with pytest.raises(NotAPolicyError, match=match) as info:
        policy_loader.load(str(path))
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)
    return info.value


def test_missing_empty_and_file(tmp_path):
    _refused(tmp_path / "missing", "no such file or directory")
    (tmp_path / "empty").mkdir()
    _refused(tmp_path / "empty", r"not a SavedModel \(no saved_model.pb\)")
    (tmp_path / "f").write_text("x")
    _refused(tmp_path / "f", "is a file")


def test_plain_saved_model(tmp_path):
    module = tf.Module()
    module.f = tf.function(lambda x: x, input_signature=[tf.TensorSpec([], tf.float32)])
    tf.saved_model.save(module, str(tmp_path / "plain"))
    _refused(
        tmp_path / "plain",
        "a SavedModel, but not a policy: it has no policy_specs.pbtxt",
    )
    shutil.copy(data.cartpole_dqn_path() + "/policy_specs.pbtxt", tmp_path / "plain")
    _refused(
        tmp_path / "plain",
        "a SavedModel, but not a policy: it has no 'action' function",
    )


def test_truncated_graph(shipped_copy):
    pb = shipped_copy / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:300])
    _refused(shipped_copy, "cannot load the SavedModel")


def test_missing_and_corrupt_specs(shipped_copy):
    specs = shipped_copy / "policy_specs.pbtxt"
    specs.write_text("this is { not a spec")
    _refused(shipped_copy, r"policy_specs.pbtxt: not readable as a policy's specs")
    specs.unlink()
    _refused(shipped_copy, "it has no policy_specs.pbtxt")


def test_truncated_variables(shipped_copy):
    (data_file,) = (shipped_copy / "variables").glob("variables.data-*")
    data_file.write_bytes(data_file.read_bytes()[:100])
    _refused(shipped_copy, "cannot load the SavedModel")


def test_checkpoint_of_another_network(tmp_path):
    policy_saver.PolicySaver(_greedy((8,)), batch_size=None).save(
        str(tmp_path / "small")
    )
    other = policy_saver.PolicySaver(_greedy((16, 16)), batch_size=None)
    other.save_checkpoint(str(tmp_path / "ckpt_0000001"))
    loaded = policy_loader.load(str(tmp_path / "small"))
    before = loaded.action(ts.restart(np.ones(4, np.float32))).action
    with pytest.raises(NotAPolicyError, match="does not fit the loaded policy") as info:
        loaded.update_from_checkpoint(str(tmp_path / "ckpt_0000001"))
    assert str(tmp_path / "ckpt_0000001") in str(info.value)
    with pytest.raises(NotAPolicyError, match="ckpt_0000001"):
        policy_loader.load(str(tmp_path / "small"), str(tmp_path / "ckpt_0000001"))
    with pytest.raises(NotAPolicyError, match="no such file or directory"):
        loaded.update_from_checkpoint(str(tmp_path / "nope"))
    assert loaded.action(ts.restart(np.ones(4, np.float32))).action == before


def test_saved_model_policy_needs_specs():
    with pytest.raises(ValueError, match="provide the specs"):
        py_tf_eager_policy.SavedModelPyTFEagerPolicy(data.cartpole_dqn_path())
