"""Eight threads share one policy or environment wrapper: the same results as serial calls."""

import threading

import numpy as np
import pytest
import tensorflow as tf

from policylib import data
from policylib.environments import py_environment, tf_py_environment
from policylib.networks import q_network
from policylib.policies import (
    async_policy_saver,
    batched_py_policy,
    greedy_policy,
    policy_loader,
    policy_saver,
    py_tf_eager_policy,
    q_policy,
)
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

THREADS, CALLS = 8, 1000
OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, name="action")


def _greedy(seed=0):
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(OBS, ACT, fc_layer_params=(16,))
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(OBS), ACT, q_network=net)
    )


def _inputs(seed, shape=(4,)):
    rng = np.random.default_rng(seed)
    return [ts.restart(rng.normal(size=shape).astype(np.float32)) for _ in range(CALLS)]


def _in_threads(work):
    """Runs work(i) in THREADS threads at once; returns their results, re-raising errors."""
    results, errors = [None] * THREADS, []
    start = threading.Barrier(THREADS)

    def run(i):
        try:
            start.wait()
            results[i] = work(i)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "deadlock: a thread did not finish"
    assert not errors, errors[0]
    return results


def _compare_with_serial(policy, inputs):
    serial = [
        [int(policy.action(step).action) for step in inputs[i]] for i in range(THREADS)
    ]
    threaded = _in_threads(
        lambda i: [int(policy.action(step).action) for step in inputs[i]]
    )
    assert threaded == serial
    assert len({a for actions in serial for a in actions}) > 1  # the actions vary


@pytest.fixture(scope="module")
def inputs():
    return [_inputs(i) for i in range(THREADS)]


def test_py_tf_eager_policy(inputs):
    _compare_with_serial(py_tf_eager_policy.PyTFEagerPolicy(_greedy()), inputs)


def test_saved_model_py_tf_eager_policy(inputs, tmp_path):
    policy_saver.PolicySaver(_greedy(), batch_size=None).save(str(tmp_path / "p"))
    _compare_with_serial(policy_loader.load(str(tmp_path / "p")), inputs)


def test_batched_py_policy():
    shipped = policy_loader.load(data.cartpole_dqn_path())
    batched = batched_py_policy.BatchedPyPolicy([shipped, shipped, shipped])
    rng = np.random.default_rng(1)
    steps = [
        [
            ts.restart(
                rng.normal(scale=0.1, size=(3, 4)).astype(np.float32), batch_size=3
            )
            for _ in range(CALLS)
        ]
        for _ in range(THREADS)
    ]
    serial = [
        [batched.action(s).action.tolist() for s in steps[i]] for i in range(THREADS)
    ]
    threaded = _in_threads(
        lambda i: [batched.action(s).action.tolist() for s in steps[i]]
    )
    assert threaded == serial


class _EchoEnv(py_environment.PyEnvironment):
    """Observes the action it was given, so a step's result tells whose step it was."""

    def observation_spec(self):
        return array_spec.ArraySpec((), np.int64, name="observation")

    def action_spec(self):
        return array_spec.BoundedArraySpec((), np.int64, 0, 10_000, name="action")

    def _reset(self):
        return ts.restart(np.int64(0))

    def _step(self, action):
        return ts.transition(np.int64(action), reward=np.float32(action))


def test_tf_py_environment():
    env = tf_py_environment.TFPyEnvironment(_EchoEnv())
    env.reset()

    def work(i):
        seen = []
        for k in range(CALLS):
            action = tf.constant([i * CALLS + k], tf.int64)
            step = env.step(action)
            seen.append(int(step.observation[0]) == i * CALLS + k)
        return seen

    assert all(all(seen) for seen in _in_threads(work))


def test_async_saver_saves_while_another_thread_acts(tmp_path, inputs):
    policy = _greedy()
    acting = py_tf_eager_policy.PyTFEagerPolicy(policy)
    saver = async_policy_saver.AsyncPolicySaver(
        policy_saver.PolicySaver(policy, batch_size=None)
    )
    expected = [int(acting.action(step).action) for step in inputs[0]]
    done = threading.Event()
    acted = []

    def act():
        while not done.is_set() or not acted:
            acted.append([int(acting.action(step).action) for step in inputs[0][:100]])

    thread = threading.Thread(target=act)
    thread.start()
    saver.save(str(tmp_path / "full"))  # in the background
    saver.flush()
    for k in range(3):  # a request while one runs is skipped (TF-Agents' rule) ...
        saver.save_checkpoint(str(tmp_path / f"ckpt_{k}"))
    saver.save_checkpoint(
        str(tmp_path / "ckpt_2"), blocking=True
    )  # ... this one is not
    done.set()
    thread.join(timeout=300)
    assert not thread.is_alive()
    assert all(a == expected[:100] for a in acted)
    loaded = policy_loader.load(str(tmp_path / "full"), str(tmp_path / "ckpt_2"))
    assert [int(loaded.action(s).action) for s in inputs[0]] == expected
