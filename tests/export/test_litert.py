"""LiteRT export: the flatbuffer acts as the TF policy, and refuses sampling."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.ddpg import actor_network
from policylib.export import litert, litert_files, litert_policy
from policylib.networks import categorical_q_network, q_network, q_rnn_network
from policylib.policies import (
    actor_policy,
    categorical_q_policy,
    fixed_policy,
    greedy_policy,
    q_policy,
)
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

pytest.importorskip("ai_edge_litert")

OBS = tensor_spec.BoundedTensorSpec((4,), tf.float32, -10.0, 10.0, name="obs")
STEP_SPEC = ts.time_step_spec(OBS)
DISCRETE = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, name="action")
CONTINUOUS = tensor_spec.BoundedTensorSpec((2,), tf.float32, -2.0, 2.0, name="action")


def _steps(n: int, seed: int, step_type: int = ts.StepType.MID) -> ts.TimeStep:
    rng = np.random.default_rng(seed)
    return ts.TimeStep(
        np.full(n, step_type, np.int32),
        rng.normal(size=n).astype(np.float32),
        np.ones(n, np.float32),
        rng.uniform(-10, 10, (n, 4)).astype(np.float32),
    )


def _tf(nest):
    return tf.nest.map_structure(tf.convert_to_tensor, nest)


def _greedy_q(seed: int = 0) -> greedy_policy.GreedyPolicy:
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(64, 64))
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(STEP_SPEC, DISCRETE, q_network=net)
    )


def test_greedy_q_matches_tf_on_1000_random_time_steps(tmp_path):
    policy = _greedy_q()
    litert.export(policy, tmp_path / "q")
    lite = litert_policy.LiteRTPolicy(tmp_path / "q")
    steps = _steps(1000, seed=1)
    expected = policy.action(_tf(steps)).action.numpy()
    got = lite.action(steps).action
    assert got.dtype == np.int64 and got.shape == (1000,)
    np.testing.assert_array_equal(got, expected)
    # One at a time, unbatched, as an environment loop calls it.
    for i in range(0, 1000, 97):
        one = tf.nest.map_structure(lambda x, i=i: x[i], steps)
        assert lite.action(one).action == expected[i]


def test_rnn_policy_matches_tf_over_a_50_step_episode(tmp_path):
    tf.keras.utils.set_random_seed(3)
    net = q_rnn_network.QRnnNetwork(OBS, DISCRETE, lstm_size=(16,))
    policy = greedy_policy.GreedyPolicy(
        q_policy.QPolicy(STEP_SPEC, DISCRETE, q_network=net)
    )
    litert.export(policy, tmp_path / "rnn")
    lite = litert_policy.LiteRTPolicy(tmp_path / "rnn")
    assert tf.nest.flatten(lite.policy_state_spec)
    episode = _steps(50, seed=2)
    tf_state, lite_state = policy.get_initial_state(1), lite.get_initial_state(1)
    # A non-zero state on the FIRST step: both must reset it.
    lite_state = tf.nest.map_structure(lambda s: s + 0.5, lite_state)
    tf_state = _tf(lite_state)
    for t in range(50):
        step = tf.nest.map_structure(lambda x, t=t: x[t : t + 1], episode)
        if t == 0:
            step = step._replace(step_type=np.zeros(1, np.int32))
        tf_step = policy.action(_tf(step), tf_state)
        lite_step = lite.action(step, lite_state)
        np.testing.assert_array_equal(lite_step.action, tf_step.action.numpy())
        for a, b in zip(
            tf.nest.flatten(lite_step.state), tf.nest.flatten(tf_step.state)
        ):
            np.testing.assert_allclose(a, b.numpy(), rtol=1e-4, atol=1e-5)
        tf_state, lite_state = tf_step.state, lite_step.state


def test_deterministic_actor_fixed_and_categorical_q_export(tmp_path):
    tf.keras.utils.set_random_seed(4)
    actor = actor_policy.ActorPolicy(
        STEP_SPEC,
        CONTINUOUS,
        actor_network.ActorNetwork(OBS, CONTINUOUS, fc_layer_params=(32,)),
    )
    fixed = fixed_policy.FixedPolicy(np.int64(1), STEP_SPEC, DISCRETE)
    cat_net = categorical_q_network.CategoricalQNetwork(
        OBS, DISCRETE, num_atoms=11, fc_layer_params=(16,)
    )
    categorical = greedy_policy.GreedyPolicy(
        categorical_q_policy.CategoricalQPolicy(
            STEP_SPEC, DISCRETE, cat_net, min_q_value=-5.0, max_q_value=5.0
        )
    )
    steps = _steps(200, seed=5)
    for name, policy in [("actor", actor), ("fixed", fixed), ("cat", categorical)]:
        litert.export(policy, tmp_path / name)
        got = litert_policy.LiteRTPolicy(tmp_path / name).action(steps).action
        expected = policy.action(_tf(steps)).action.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5, err_msg=name)


def test_export_writes_specs_beside_the_flatbuffer(tmp_path):
    path = litert.export(_greedy_q(), tmp_path / "q")
    assert sorted(os.listdir(path)) == [
        litert_files.MODEL_FILE,
        litert_files.SPECS_FILE,
    ]
    specs = litert_files.load_specs(path)
    assert specs["action_spec"] == array_spec.BoundedArraySpec(
        (), np.int64, 0, 2, "action"
    )
    assert specs["time_step_spec"] == tensor_spec.to_array_spec(STEP_SPEC)
    assert specs["policy_state_spec"] == ()
    with open(os.path.join(path, litert_files.SPECS_FILE)) as f:
        assert json.load(f)["policy"] == "GreedyPolicy"


def test_stochastic_policy_is_refused_naming_the_distribution(tmp_path):
    tf.keras.utils.set_random_seed(0)
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    with pytest.raises(ValueError, match=r"Categorical distribution.*GreedyPolicy"):
        litert.export(
            q_policy.QPolicy(STEP_SPEC, DISCRETE, q_network=net), tmp_path / "x"
        )
    assert not os.path.exists(tmp_path / "x")


def test_a_failed_export_leaves_the_previous_one(tmp_path):
    path = litert.export(_greedy_q(seed=0), tmp_path / "q")
    before = open(os.path.join(path, litert_files.MODEL_FILE), "rb").read()
    tf.keras.utils.set_random_seed(0)
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    with pytest.raises(ValueError):
        litert.export(q_policy.QPolicy(STEP_SPEC, DISCRETE, q_network=net), path)
    assert open(os.path.join(path, litert_files.MODEL_FILE), "rb").read() == before
    litert_policy.LiteRTPolicy(path)


def test_random_ops_without_a_distribution_are_refused(tmp_path):
    from policylib.policies import random_tf_policy

    policy = random_tf_policy.RandomTFPolicy(STEP_SPEC, DISCRETE)
    with pytest.raises(ValueError, match=r"(distribution|Random).*GreedyPolicy"):
        litert.export(policy, tmp_path / "r")


def test_export_argument_errors(tmp_path):
    with pytest.raises(TypeError, match="export: policy"):
        litert.export(object(), tmp_path / "x")
    with pytest.raises(TypeError, match="export_dir"):
        litert.export(_greedy_q(), None)


FIXTURES = os.path.join(
    os.path.dirname(os.path.dirname(__file__)), "fixtures", "tf_agents_0_19"
)


@pytest.mark.parametrize(
    "name",
    ["greedy_q", "rnn_q", "actor", "dict_obs_actor", "lin_ucb", "per_arm_greedy"],
)
def test_tf_agents_saved_policies_export_and_act_as_recorded(tmp_path, name):
    """SavedModels written by TF-Agents 0.19 export; actions match those it recorded."""
    path = litert.export(os.path.join(FIXTURES, name), tmp_path / name)
    lite = litert_policy.LiteRTPolicy(path)
    recorded = np.load(os.path.join(FIXTURES, f"{name}.npz"))
    steps = {k[3:]: recorded[k] for k in recorded.files if k.startswith("ts/")}
    state = lite.get_initial_state(2)
    for t in range(recorded["action"].shape[0]):
        flat = {k: v[t] for k, v in steps.items()}
        observation = {
            k.split("/", 1)[1]: v
            for k, v in flat.items()
            if k.startswith("observation/")
        } or flat["observation"]
        step = ts.TimeStep(
            flat["step_type"], flat["reward"], flat["discount"], observation
        )
        out = lite.action(step, state)
        np.testing.assert_allclose(
            tf.nest.flatten(out.action)[0], recorded["action"][t], rtol=1e-5, atol=1e-5
        )
        state = out.state


def test_shipped_trained_policy_exports_and_agrees_with_the_saved_model(tmp_path):
    import policylib
    from policylib.policies import py_tf_eager_policy

    saved = os.path.join(os.path.dirname(policylib.__file__), "data", "cartpole_dqn")
    lite = litert_policy.LiteRTPolicy(litert.export(saved, tmp_path / "cartpole"))
    tf_side = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        saved, load_specs_from_pbtxt=True
    )
    rng = np.random.default_rng(0)
    obs = rng.uniform(-2.0, 2.0, (1000, 4)).astype(np.float32)
    steps = ts.TimeStep(
        np.ones(1000, np.int32),
        np.zeros(1000, np.float32),
        np.ones(1000, np.float32),
        obs,
    )
    np.testing.assert_array_equal(
        lite.action(steps).action, tf_side.action(steps).action
    )


def test_a_path_without_a_saved_policy_is_named(tmp_path):
    from policylib.errors import NotAPolicyError

    with pytest.raises(NotAPolicyError, match="no such file"):
        litert.export(str(tmp_path / "missing"), tmp_path / "out")
