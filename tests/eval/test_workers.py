"""`evaluate` in worker processes: serial results, dead workers re-run, errors raised."""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf

from policylib.environments import suite_gym
from policylib.errors import NotAPolicyError, WorkerDiedWarning, WorkerError
from policylib.eval import evaluate
from policylib.networks import q_network
from policylib.policies import greedy_policy, policy_loader, policy_saver, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.environments.cartpole import PoleAnglePolicy
from tests.eval import dying_env


def _pole_policy():
    env = suite_gym.load("CartPole-v1")
    policy = PoleAnglePolicy(env.time_step_spec(), env.action_spec())
    env.close()
    return policy


def _greedy(seed=3):
    obs = tensor_spec.BoundedTensorSpec((4,), tf.float32, -5.0, 5.0)
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(obs, act, fc_layer_params=(8,))
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    )


def test_a_pickled_python_policy_gives_the_serial_returns_for_any_split():
    serial = evaluate(_pole_policy(), "CartPole-v1", 21, seed=7, progress=False)
    assert len(set(serial.returns)) > 3
    for workers, envs in ((2, 1), (3, 2)):
        parallel = evaluate(
            _pole_policy(),
            "CartPole-v1",
            21,
            seed=7,
            num_envs=envs,
            num_workers=workers,
            progress=False,
        )
        assert parallel.returns == serial.returns
        assert parallel.lengths == serial.lengths
        assert parallel.backend == "processes" and parallel.num_workers == workers


def test_tf_and_loaded_policies_are_exported_for_the_workers(tmp_path):
    policy = _greedy()
    serial = evaluate(policy, "CartPole-v1", 6, seed=2, progress=False)
    assert (
        evaluate(
            policy, "CartPole-v1", 6, seed=2, num_workers=2, progress=False
        ).returns
        == serial.returns
    )
    path = str(tmp_path / "saved")
    policy_saver.PolicySaver(policy, batch_size=None).save(path)
    loaded = policy_loader.load(path)
    # A loaded policy travels with its current variables, not the saved ones.
    for variable in loaded.variables():
        variable.assign(tf.zeros_like(variable))
    zeroed = evaluate(loaded, "CartPole-v1", 6, seed=2, progress=False)
    assert zeroed.returns != serial.returns
    assert (
        evaluate(
            loaded, "CartPole-v1", 6, seed=2, num_workers=2, progress=False
        ).returns
        == zeroed.returns
    )


def test_a_killed_worker_is_reported_and_its_episodes_rerun(tmp_path):
    serial = evaluate(_pole_policy(), "CartPole-v1", 30, seed=1, progress=False)
    with pytest.warns(
        WorkerDiedWarning,
        match=r"worker [01] \(pid \d+\) died \(killed by signal SIGKILL\)",
    ):
        result = evaluate(
            _pole_policy(),
            dying_env.dying_cartpole(tmp_path, at=100),
            30,
            seed=1,
            num_workers=2,
            progress=False,
        )
    assert dying_env.deaths(tmp_path) == 1
    assert result.returns == serial.returns and result.lengths == serial.lengths
    (failure,) = result.failures
    assert "episodes unfinished; re-ran them on worker 2" in failure
    assert result.to_dict()["failures"] == [failure]


def test_a_worker_that_dies_again_fails_with_no_partial_result(tmp_path):
    with pytest.warns(WorkerDiedWarning), pytest.raises(WorkerError) as error:
        evaluate(
            _pole_policy(),
            dying_env.dying_cartpole(tmp_path, at=100, times=2),
            20,
            seed=1,
            num_workers=1,
            backend="processes",
            progress=False,
        )
    message = str(error.value)
    assert message.startswith("evaluate: worker 1 (pid ")
    assert "killed by signal SIGKILL" in message
    assert (
        "re-running the episodes of worker 0" in message
        and "could not be run" in message
    )


def _raising_env():
    raise RuntimeError("no such simulator")


def test_an_error_in_a_worker_is_raised_at_once_with_its_traceback():
    with pytest.raises(WorkerError) as error:
        evaluate(_pole_policy(), _raising_env, 4, num_workers=2, progress=False)
    first, *rest = str(error.value).splitlines()
    assert first.startswith("evaluate: worker ") and first.endswith(
        "raised RuntimeError: no such simulator"
    )
    assert any("Traceback" in line for line in rest)


def test_bad_arguments():
    env = suite_gym.load("CartPole-v1")
    with pytest.raises(
        ValueError, match="backend must be one of 'serial', 'processes', 'ray'"
    ):
        evaluate(_pole_policy(), "CartPole-v1", 2, backend="threads")
    with pytest.raises(ValueError, match='ray_address needs backend="ray"'):
        evaluate(_pole_policy(), "CartPole-v1", 2, num_workers=2, ray_address="h:1")
    with pytest.raises(ValueError, match="num_workers"):
        evaluate(_pole_policy(), "CartPole-v1", 2, num_workers=0)
    with pytest.raises(
        ValueError, match="needs a Gymnasium id or an environment constructor"
    ):
        evaluate(_pole_policy(), env, 2, num_workers=2)
    with pytest.raises(NotAPolicyError, match="no such (file or )?directory"):
        evaluate("/no/such/policy", "CartPole-v1", 2, num_workers=2)
    env.close()


def test_more_workers_than_episodes():
    serial = evaluate(_pole_policy(), "CartPole-v1", 2, seed=4, progress=False)
    result = evaluate(
        _pole_policy(), "CartPole-v1", 2, seed=4, num_workers=4, progress=False
    )
    assert result.returns == serial.returns
    assert np.isfinite(result.episodes_per_s)


def test_start_up_is_reported_before_the_first_episode():
    from policylib.eval import workers
    from policylib.export.policy_source import PolicySource

    events = []
    run = workers.run(
        PolicySource.of(_pole_policy()),
        "CartPole-v1",
        4,
        num_workers=2,
        portable=False,
        ray_address=None,
        num_envs=1,
        seed=0,
        max_steps=20,
        on_episode=lambda k, *_: events.append(k),
        on_started=lambda: events.append("started"),
    )
    assert events[0] == "started" and sorted(events[1:]) == [0, 1, 2, 3]
    assert run.startup_s > 0


def test_worker_processes_talk_over_pipes_and_open_no_network_socket(tmp_path):
    pytest.importorskip("psutil")
    from tests.distributed import loopback

    driver = os.getpid()
    serial = evaluate(_pole_policy(), "CartPole-v1", 4, seed=5, progress=False)
    result = evaluate(
        _pole_policy(),
        loopback.recording_env(tmp_path, driver),
        4,
        seed=5,
        num_workers=2,
        backend="processes",
        progress=False,
    )
    assert result.returns == serial.returns
    records = loopback.records(tmp_path)
    assert len(records) == 2  # one per worker, each a process under this one
    for record in records:
        assert record["pid"] != driver and record["pid"] in record["family"]
        assert [s for s in record["sockets"] if s["pid"] == record["pid"]] == []
        assert loopback.off_loopback(record["sockets"]) == []
