"""PolicySaver, policy_loader and AsyncPolicySaver beyond what the interop tests cover."""

from __future__ import annotations

import os
import threading
import time
import warnings

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import q_network, q_rnn_network
from policylib.policies import (
    async_policy_saver,
    policy_loader,
    policy_saver,
    py_tf_eager_policy,
    q_policy,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.policies.small_policies import ACT, OBS
from tests.policies.small_policies import greedy_q as _greedy


def _observations(batch: int = 3) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1, 1, (batch, 4)).astype(np.float32)


def test_signature_keys_follow_nest_paths() -> None:
    saver = policy_saver.PolicySaver(_greedy())
    names = [s.name for s in saver.signatures["action"].input_signature]
    assert names == ["0/step_type", "0/reward", "0/discount", "0/observation"]
    assert [s.name for s in saver.signatures["get_initial_state"].input_signature] == [
        "batch_size"
    ]


def test_observation_only_signature_matches_action(tmp_path) -> None:
    policy = _greedy()
    policy_saver.PolicySaver(policy).save(str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    obs = _observations()
    served = loaded.signatures[policy_saver.OBSERVATION_SIGNATURE](
        observation=tf.constant(obs)
    )
    direct = policy.action(ts.restart(tf.constant(obs), batch_size=3)).action
    np.testing.assert_array_equal(served["action"], direct)


def test_stateful_policies_get_no_observation_signature() -> None:
    net = q_rnn_network.QRnnNetwork(OBS, ACT, lstm_size=(4,))
    policy = q_policy.QPolicy(ts.time_step_spec(OBS), ACT, q_network=net)
    saver = policy_saver.PolicySaver(policy)
    assert policy_saver.OBSERVATION_SIGNATURE not in saver.signatures


def test_metadata_of_one_dtype_keeps_every_value(tmp_path) -> None:
    metadata = {
        "a": tf.Variable(1.5),
        "b": tf.Variable(2.5),
        "n": tf.Variable(7, dtype=tf.int64),
    }
    policy_saver.PolicySaver(_greedy(), metadata=metadata).save(str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    from_signature = {
        k: v.numpy() for k, v in loaded.signatures["get_metadata"]().items()
    }
    assert from_signature == {"a": 1.5, "b": 2.5, "n": 7}
    policy = policy_loader.load(str(tmp_path / "m"))
    assert {k: v.numpy() for k, v in policy.get_metadata().items()} == from_signature


def test_bad_arguments_raise_clear_errors() -> None:
    with pytest.raises(TypeError, match="not a TFPolicy"):
        policy_saver.PolicySaver(object())
    with pytest.raises(ValueError, match="batch_size"):
        policy_saver.PolicySaver(_greedy(), batch_size=0)
    with pytest.raises(ValueError, match="train_step must be"):
        policy_saver.PolicySaver(_greedy(), train_step=3)
    with pytest.raises(TypeError, match="metadata must be tf.Variable"):
        policy_saver.PolicySaver(_greedy(), metadata={"a": 1.0})
    with pytest.raises(ValueError, match="missing name or a name collision"):
        unnamed = tensor_spec.TensorSpec((4,), tf.float32)
        net = q_network.QNetwork(unnamed, ACT)
        policy = q_policy.QPolicy(ts.time_step_spec(unnamed), ACT, q_network=net)
        policy_saver.PolicySaver(policy, use_nest_path_signatures=False)


def test_fixed_batch_size_loads_and_acts_on_full_batches(tmp_path) -> None:
    policy = _greedy()
    policy_saver.PolicySaver(policy, batch_size=3).save(str(tmp_path / "m"))
    loaded = policy_loader.load(str(tmp_path / "m"))  # TF-Agents' loader fails here
    obs = _observations(3)
    batched = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        str(tmp_path / "m"), load_specs_from_pbtxt=True, batch_time_steps=False
    )
    step = ts.restart(obs, batch_size=3)
    expected = policy.action(tf.nest.map_structure(tf.constant, step)).action
    np.testing.assert_array_equal(batched.action(step).action, expected)
    with pytest.raises(ValueError, match="batches of exactly 3"):
        loaded.action(ts.restart(obs[0]))


def test_save_is_atomic_and_keeps_the_previous_save_on_failure(
    tmp_path, monkeypatch
) -> None:
    target = str(tmp_path / "policy")
    first = _greedy(1)
    saver = policy_saver.PolicySaver(first)
    saver.save(target)
    (tmp_path / "policy" / "notes.txt").write_text("kept")

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(tf.saved_model, "save", crash)
    with pytest.raises(OSError, match="disk full"):
        policy_saver.PolicySaver(_greedy(2)).save(target)
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ["policy"]  # no staging directory left
    obs = _observations(1)[0]
    expected = first.action(ts.restart(tf.constant(obs[None]), batch_size=1)).action[0]
    assert policy_loader.load(target).action(ts.restart(obs)).action == expected
    # A later successful save replaces the model and keeps unrelated files.
    second = _greedy(2)
    policy_saver.PolicySaver(second).save(target)
    assert (tmp_path / "policy" / "notes.txt").read_text() == "kept"
    second_action = second.action(
        ts.restart(tf.constant(obs[None]), batch_size=1)
    ).action[0]
    assert policy_loader.load(target).action(ts.restart(obs)).action == second_action


def test_interrupted_swap_leaves_a_loadable_previous_save(tmp_path) -> None:
    target = str(tmp_path / "policy")
    policy_saver.PolicySaver(_greedy()).save(target)
    # The state a kill between the fallback swap's two renames leaves behind.
    os.rename(target, target + ".policylib-old")
    assert (
        policy_loader.load(target).action(ts.restart(_observations(1)[0])).action.shape
        == ()
    )
    policy_saver.PolicySaver(_greedy()).save(target)  # recovers, then saves
    assert sorted(os.listdir(tmp_path)) == ["policy"]


def test_checkpoint_updates_a_loaded_policy_and_materializes(tmp_path) -> None:
    policy = _greedy(1)
    train_step = tf.Variable(5, dtype=tf.int64)
    saver = policy_saver.PolicySaver(policy, train_step=train_step)
    saver.save(str(tmp_path / "model"))
    for variable, other in zip(policy.variables(), _greedy(2).variables()):
        variable.assign(other)
    train_step.assign(42)
    saver.save_checkpoint(str(tmp_path / "ckpt_0000042"))
    assert sorted(os.listdir(tmp_path / "ckpt_0000042")) == ["variables"]

    loaded = policy_loader.load(str(tmp_path / "model"), str(tmp_path / "ckpt_0000042"))
    assert loaded.get_train_step_from_last_restored_checkpoint_path() == 42
    for got, want in zip(loaded.variables(), policy.variables()):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    policy_loader.materialize_saved_model(
        str(tmp_path / "model"), str(tmp_path / "ckpt_0000042"), str(tmp_path / "full")
    )
    full = policy_loader.load(str(tmp_path / "full"))
    assert full.get_train_step() == 42
    with pytest.raises(ValueError, match="already exists"):
        policy_loader.materialize_saved_model(
            str(tmp_path / "model"),
            str(tmp_path / "ckpt_0000042"),
            str(tmp_path / "full"),
        )


def test_register_function_and_concrete_function(tmp_path) -> None:
    saver = policy_saver.PolicySaver(_greedy())
    saver.register_function("double", lambda x: 2 * x, tf.TensorSpec((2,), tf.float32))
    scale = tf.Variable(3.0)
    fn = tf.function(
        lambda x: scale * x, input_signature=[tf.TensorSpec((), tf.float32)]
    )
    fn.get_concrete_function()
    saver.register_concrete_function("scaled", fn)
    with pytest.raises(ValueError, match="already has an attribute"):
        saver.register_function("double", lambda x: x, tf.TensorSpec((), tf.float32))
    saver.save(str(tmp_path / "m"))
    loaded = tf.saved_model.load(str(tmp_path / "m"))
    np.testing.assert_allclose(loaded.double(tf.ones((1, 2))), [[2.0, 2.0]])
    assert float(loaded.scaled(tf.constant(2.0))) == 6.0


def test_async_saver_skips_while_busy_and_reports_errors(tmp_path) -> None:
    release = threading.Event()
    calls = []

    class SlowSaver:
        def save(self, export_dir: str) -> None:
            calls.append(export_dir)
            release.wait()

        def save_checkpoint(self, export_dir: str) -> None:
            raise OSError("no space")

    saver = async_policy_saver.AsyncPolicySaver(SlowSaver())
    saver.save("a")
    deadline = time.monotonic() + 120
    while not calls:
        assert time.monotonic() < deadline, "the saving thread never took 'a'"
        threading.Event().wait(0.01)
    saver.save("b")  # skipped: "a" is still being written
    release.set()
    saver.flush()
    assert calls == ["a"]
    saver.save("c", blocking=True)
    assert calls == ["a", "c"]
    saver.save_checkpoint("d")
    with pytest.raises(ValueError, match="stopped on an error"):
        saver.flush()
    with pytest.raises(ValueError, match="not running"):
        saver.save("e")


def test_async_saver_skips_only_while_a_save_runs() -> None:
    # A request made while the saver's lock is merely held for an instant (as
    # the thread holds it to take a request) is queued, not skipped: a save
    # right after the saver is made was once dropped on a busy machine.
    calls = []

    class Recording:
        def save(self, export_dir: str) -> None:
            calls.append(export_dir)

    saver = async_policy_saver.AsyncPolicySaver(Recording())
    held = threading.Event()

    def hold_the_lock() -> None:
        with saver._condition:
            held.set()
            time.sleep(0.2)

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    held.wait()
    saver.save("x")
    holder.join()
    saver.flush()
    assert calls == ["x"]
    for name in ("y", "z"):
        saver.save(name)
        saver.flush()
    saver.close()
    assert calls == ["x", "y", "z"]


def test_async_saver_writes_real_saves(tmp_path) -> None:
    saver = async_policy_saver.AsyncPolicySaver(policy_saver.PolicySaver(_greedy()))
    saver.save(str(tmp_path / "m"))
    saver.save_checkpoint(str(tmp_path / "c"), blocking=True)
    saver.close()
    assert os.path.exists(tmp_path / "m" / "saved_model.pb")
    assert os.path.exists(tmp_path / "c" / "variables" / "variables.index")
    assert saver.get_train_step() == -1  # forwarded to the PolicySaver


def test_save_and_load_print_and_warn_nothing(tmp_path, capsys, caplog) -> None:
    from tensorflow.core.function.polymorphism import function_type

    # TF gives its renaming notice 5 times per process: let it speak again.
    function_type.sanitization_warnings_given = 0
    caplog.set_level("DEBUG")
    caplog.set_level("INFO", logger="tensorflow")  # as in notebooks
    policy = q_policy.QPolicy(
        ts.time_step_spec(OBS), ACT, q_network=q_network.QNetwork(OBS, ACT)
    )
    with warnings_recorded() as caught:
        saver = policy_saver.PolicySaver(policy)
        saver.save(str(tmp_path / "policy"))
        saver.save_checkpoint(str(tmp_path / "checkpoint"))
        loaded = policy_loader.load(
            str(tmp_path / "policy"), str(tmp_path / "checkpoint")
        )
        loaded.action(ts.restart(np.zeros(4, np.float32)))
    assert [str(w.message) for w in caught] == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= 30] == []
    assert not [r for r in caplog.records if "Assets written to" in r.getMessage()]
    assert capsys.readouterr() == ("", "")
    # The signature keys readers use are still nest paths.
    assert "0/step_type" in str(
        tf.saved_model.load(str(tmp_path / "policy"))
        .signatures["action"]
        .structured_input_signature
    )


def test_other_warnings_still_pass_while_saving(tmp_path, caplog) -> None:
    import logging as py_logging

    from policylib.base import quiet

    @quiet.saved_model_io
    def noisy() -> None:
        py_logging.getLogger("absl").warning("something is wrong")
        warnings.warn("a real problem", UserWarning, stacklevel=1)

    with warnings_recorded() as caught:
        noisy()
    assert [str(w.message) for w in caught] == ["a real problem"]
    assert "something is wrong" in caplog.text


def warnings_recorded():
    recorder = warnings.catch_warnings(record=True)

    class Always:
        def __enter__(self):
            caught = recorder.__enter__()
            warnings.simplefilter("always")
            return caught

        def __exit__(self, *exc):
            return recorder.__exit__(*exc)

    return Always()


def test_materialized_model_with_metadata_loads_with_the_checkpoints_values(
    tmp_path,
) -> None:
    policy = _greedy(1)
    rate = tf.Variable(0.5)
    saver = policy_saver.PolicySaver(policy, metadata={"rate": rate})
    saver.save(str(tmp_path / "model"))
    rate.assign(0.25)
    saver.save_checkpoint(str(tmp_path / "ckpt_0000007"))
    policy_loader.materialize_saved_model(
        str(tmp_path / "model"), str(tmp_path / "ckpt_0000007"), str(tmp_path / "full")
    )
    full = policy_loader.load(str(tmp_path / "full"))
    assert float(full.get_metadata()["rate"]) == 0.25
    for got, want in zip(full.variables(), policy.variables()):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
