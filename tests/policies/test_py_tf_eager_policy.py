"""PyTFEagerPolicy, TFPyPolicy and PyTFPolicy: NumPy <-> TF policy wrappers."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.environments import batched_py_environment, random_py_environment
from policylib.networks import q_rnn_network
from policylib.policies import (
    py_policy,
    py_tf_eager_policy,
    q_policy,
    random_py_policy,
    saved_functions,
    tf_py_policy,
)
from policylib.specs import array_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from tests.policies.small_policies import ACT, OBS
from tests.policies.small_policies import greedy_q as _greedy


@pytest.mark.parametrize("use_tf_function", [True, False])
def test_py_policy_matches_the_tf_policy(use_tf_function: bool) -> None:
    policy = _greedy()
    py = py_tf_eager_policy.PyTFEagerPolicy(policy, use_tf_function=use_tf_function)
    obs = np.random.default_rng(0).uniform(-1, 1, (5, 4)).astype(np.float32)
    expected = policy.action(ts.restart(tf.constant(obs), batch_size=5)).action.numpy()
    got = [py.action(ts.restart(o)).action for o in obs]
    assert all(
        isinstance(a, (np.ndarray, np.generic)) and np.shape(a) == () for a in got
    )
    np.testing.assert_array_equal(got, expected)


def test_traced_by_default_and_traced_once() -> None:
    py = py_tf_eager_policy.PyTFEagerPolicy(_greedy())
    py.action(ts.restart(np.zeros(4, np.float32)))
    traced = py._traced[True]
    for o in np.ones((3, 4), np.float32):
        py.action(ts.restart(o))
    py.action(ts.restart(np.zeros(4, np.float64)))  # cast to the spec dtype, no retrace
    assert py._traced == {True: traced}
    # A greedy Q policy reads only the observation: the other leaves are not fed.
    used, _ = traced
    assert used == [3]


def test_batched_environment_and_stateful_policy() -> None:
    obs_spec = array_spec.BoundedArraySpec((4,), np.float32, -1, 1)
    env = batched_py_environment.BatchedPyEnvironment(
        [random_py_environment.RandomPyEnvironment(obs_spec, seed=i) for i in range(3)],
        multithreading=False,
    )
    net = q_rnn_network.QRnnNetwork(OBS, ACT, lstm_size=(4,))
    policy = q_policy.QPolicy(ts.time_step_spec(OBS), ACT, q_network=net)
    py = py_tf_eager_policy.PyTFEagerPolicy(policy, batch_time_steps=False)
    time_step, state = env.reset(), py.get_initial_state(env.batch_size)
    for _ in range(5):
        step = py.action(time_step, state)
        assert step.action.shape == (3,) and np.all(
            (step.action >= 0) & (step.action <= 2)
        )
        time_step, state = env.step(step.action), step.state
    env.close()


def test_wrong_observation_shape_names_the_spec() -> None:
    py = py_tf_eager_policy.PyTFEagerPolicy(_greedy())
    with pytest.raises(
        ValueError, match=r"(?s)does not match the policy's spec.*shape=\(4,\)"
    ):
        py.action(ts.restart(np.zeros(3, np.float32)))


def test_device_knob_places_the_policy_on_cpu() -> None:
    py = py_tf_eager_policy.PyTFEagerPolicy(_greedy(), device="/CPU:0")
    assert py.device == "/CPU:0"
    assert py.action(ts.restart(np.zeros(4, np.float32))).action.shape == ()


class _CountingPolicy(py_policy.PyPolicy):
    """Acts with the number of steps taken so far (its state)."""

    def __init__(self):
        obs = array_spec.ArraySpec((1,), np.float32)
        super().__init__(
            ts.time_step_spec(obs),
            array_spec.BoundedArraySpec((), np.int32, 0, 100),
            policy_state_spec=array_spec.ArraySpec((), np.int32),
        )

    def _action(self, time_step, policy_state, seed=None):
        return policy_step.PolicyStep(
            np.asarray(policy_state, np.int32), policy_state + 1, ()
        )


def test_tf_py_policy_runs_a_python_policy_in_graph() -> None:
    policy = tf_py_policy.TFPyPolicy(_CountingPolicy())
    state = policy.get_initial_state(None)
    time_step = ts.restart(tf.zeros((1, 1)), batch_size=1)
    action = tf.function(policy.action)
    actions = []
    for _ in range(3):
        step = action(time_step, state)
        actions.append(int(step.action.numpy()[0]))
        state = step.state
    assert actions == [0, 1, 2]
    assert policy.variables() == ()
    with pytest.raises(NotImplementedError):
        policy.distribution(time_step, state)


def test_tf_py_policy_random_actions_are_in_bounds() -> None:
    act = array_spec.BoundedArraySpec((3,), np.int32, 0, 4)
    obs = array_spec.ArraySpec((2,), np.float32)
    py = random_py_policy.RandomPyPolicy(ts.time_step_spec(obs), act, seed=0)
    policy = tf_py_policy.TFPyPolicy(py)
    action = policy.action(ts.restart(tf.zeros((1, 2)), batch_size=1)).action.numpy()
    assert action.shape == (1, 3) and np.all((action >= 0) & (action <= 4))


def test_saved_model_device_defaults_to_cpu_for_small_policies(
    tmp_path, monkeypatch
) -> None:
    from policylib.policies import policy_saver

    policy_saver.PolicySaver(_greedy()).save(str(tmp_path / "m"))
    # No GPU here: "auto" leaves placement to TensorFlow.
    assert saved_functions.default_device(str(tmp_path / "m")) is None
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0"])
    assert saved_functions.default_device(str(tmp_path / "m")) == "/CPU:0"
    monkeypatch.setattr(saved_functions, "_SMALL_POLICY_BYTES", 10)
    assert saved_functions.default_device(str(tmp_path / "m")) is None
