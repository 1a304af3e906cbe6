"""`LiteRTPolicy`: validation, batching and state, without TensorFlow at run time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from policylib.base import extras
from policylib.errors import NotAPolicyError
from policylib.export import litert, litert_policy
from policylib.trajectories import time_step as ts
from tests.policies import small_policies

pytest.importorskip("ai_edge_litert")


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return litert.export(small_policies.greedy_q(), tmp_path_factory.mktemp("e") / "q")


def _step(obs):
    obs = np.asarray(obs, np.float32)
    outer = obs.shape[:-1]
    return ts.TimeStep(
        np.ones(outer, np.int32),
        np.zeros(outer, np.float32),
        np.ones(outer, np.float32),
        obs,
    )


def test_batched_and_unbatched_time_steps(export_dir):
    policy = litert_policy.LiteRTPolicy(export_dir)
    obs = np.random.default_rng(0).normal(size=(7, 4)).astype(np.float32)
    batch = policy.action(_step(obs)).action
    assert batch.shape == (7,) and batch.dtype == np.int32
    singles = [policy.action(_step(o)).action for o in obs]
    assert all(np.shape(a) == () for a in singles)
    np.testing.assert_array_equal(batch, singles)
    # An unbatched step type beside a batch of observations broadcasts.
    step = _step(obs)._replace(step_type=np.int32(1))
    np.testing.assert_array_equal(policy.action(step).action, batch)


def test_bad_time_steps_are_named(export_dir):
    policy = litert_policy.LiteRTPolicy(export_dir)
    with pytest.raises(ValueError, match=r"time_step\.observation has shape \(3,\)"):
        policy.action(_step(np.zeros(3)))
    with pytest.raises(ValueError, match=r"observation has dtype int64"):
        policy.action(_step(np.zeros(4))._replace(observation=np.zeros(4, np.int64)))
    with pytest.raises(TypeError, match="takes a TimeStep"):
        policy.action({"observation": np.zeros(4)})
    with pytest.raises(ValueError, match="one batch dim"):
        policy.action(_step(np.zeros((2, 3, 4))))


def test_not_an_export_and_bad_arguments(tmp_path, export_dir):
    with pytest.raises(NotAPolicyError, match="not a LiteRT policy export"):
        litert_policy.LiteRTPolicy(tmp_path)
    with pytest.raises(TypeError, match="export_dir"):
        litert_policy.LiteRTPolicy(None)
    with pytest.raises(ValueError, match="num_threads"):
        litert_policy.LiteRTPolicy(export_dir, num_threads=0)


def test_matches_the_tf_policy(export_dir):
    tf_policy = small_policies.greedy_q()
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    expected = tf_policy.action(tf.nest.map_structure(tf.constant, _step(obs))).action
    got = (
        litert_policy.LiteRTPolicy(export_dir, num_threads=1).action(_step(obs)).action
    )
    np.testing.assert_array_equal(got, expected.numpy())


def test_missing_extra_names_the_pip_install(export_dir):
    code = textwrap.dedent(
        f"""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] == "ai_edge_litert":
                    raise ImportError("blocked " + name)
        sys.meta_path.insert(0, Block())
        from policylib.export import litert_policy
        from policylib.base import extras
        try:
            litert_policy.LiteRTPolicy({str(export_dir)!r})
        except extras.MissingExtraError as e:
            print("MISSING:", e)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))),
    )
    assert "MISSING:" in out.stdout, out.stderr
    assert "pip install 'policylib[litert]'" in out.stdout
    assert extras.MissingExtraError.__name__ == "MissingExtraError"


def test_recurrent_policy_needs_its_state_and_extra_keys_are_dropped(tmp_path):
    from policylib.networks import q_rnn_network
    from policylib.policies import greedy_policy, q_policy
    from policylib.specs import tensor_spec

    obs = {"a": tensor_spec.TensorSpec((2,), tf.float32, "a")}
    act = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2, "action")
    tf.keras.utils.set_random_seed(0)
    net = q_rnn_network.QRnnNetwork(
        obs,
        act,
        lstm_size=(4,),
        preprocessing_layers={"a": tf.keras.layers.Dense(3)},
    )
    policy = greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    )
    lite = litert_policy.LiteRTPolicy(litert.export(policy, tmp_path / "rnn"))
    step = ts.TimeStep(
        np.int32(0), np.float32(0), np.float32(1), {"a": np.ones(2, np.float32)}
    )
    with pytest.raises(ValueError, match="recurrent; pass the policy_state"):
        lite.action(step)
    wide = step._replace(observation={"a": np.ones(2, np.float32), "b": np.zeros(5)})
    a = lite.action(wide, lite.get_initial_state())
    b = lite.action(step, lite.get_initial_state())
    np.testing.assert_array_equal(a.action, b.action)
