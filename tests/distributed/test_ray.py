"""Ray on a real local head: evaluation matching serial runs, dead actors, collection.

Every test connects to the head `ray_head` starts on 127.0.0.1 (conftest),
as a user's script would connect to a cluster.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
import tree

from policylib.distributed import CollectedEpisodes, RayCollector
from policylib.errors import WorkerDiedWarning, WorkerError
from policylib.eval import evaluate
from policylib.networks import q_network
from policylib.policies import (
    epsilon_greedy_policy,
    greedy_policy,
    policy_saver,
    q_policy,
)
from policylib.replay_buffers import py_uniform_replay_buffer, tf_uniform_replay_buffer
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.utils import keras_compat
from tests.eval import dying_env

ROOT = Path(__file__).resolve().parents[2]


def _greedy_policy(seed=4, collect=False):
    """A greedy policy of a small random Q-network: deterministic, returns that vary."""
    obs = tensor_spec.BoundedTensorSpec((4,), tf.float32, -5.0, 5.0)
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(obs, act, fc_layer_params=(8,))
    policy = q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    return policy if collect else greedy_policy.GreedyPolicy(policy)


@pytest.fixture(scope="module")
def saved_policy(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "greedy"
    policy_saver.PolicySaver(_greedy_policy(), batch_size=None).save(str(path))
    return str(path)


def test_one_connection_per_cluster_is_kept_until_disconnect(saved_policy, ray_head):
    import ray

    from policylib.distributed import ray_cluster

    kwargs = dict(num_workers=1, backend="ray", ray_address=ray_head, progress=False)
    first = evaluate(saved_policy, "CartPole-v1", 2, seed=0, **kwargs)
    assert ray.is_initialized()  # kept: the next call joins no cluster again
    job = ray.get_runtime_context().get_job_id()
    again = evaluate(saved_policy, "CartPole-v1", 2, seed=0, **kwargs)
    assert ray.get_runtime_context().get_job_id() == job
    assert again.returns == first.returns
    ray_cluster.disconnect()
    assert not ray.is_initialized()
    ray_cluster.disconnect()  # nothing kept: a no-op


def test_serial_processes_and_ray_give_the_same_returns(saved_policy, ray_head):
    kwargs = dict(seed=0, progress=False)
    serial = evaluate(saved_policy, "CartPole-v1", 100, **kwargs)
    processes = evaluate(
        saved_policy, "CartPole-v1", 100, num_workers=2, backend="processes", **kwargs
    )
    ray_run = evaluate(
        saved_policy,
        "CartPole-v1",
        100,
        num_workers=2,
        backend="ray",
        ray_address=ray_head,
        **kwargs,
    )
    assert len(set(serial.returns)) > 5  # the episodes differ
    assert processes.returns == serial.returns and ray_run.returns == serial.returns
    assert processes.lengths == serial.lengths and ray_run.lengths == serial.lengths
    assert (serial.backend, processes.backend, ray_run.backend) == (
        "serial",
        "processes",
        "ray",
    )
    assert ray_run.num_workers == 2 and ray_run.startup_s > 0
    assert ray_run.failures == ()


def test_a_tf_policy_object_travels_to_ray_actors_as_a_saved_model(ray_head):
    policy = _greedy_policy(seed=4)
    serial = evaluate(policy, "CartPole-v1", 12, seed=5, progress=False)
    ray_run = evaluate(
        policy,
        "CartPole-v1",
        12,
        num_envs=3,
        num_workers=2,
        backend="ray",
        ray_address=ray_head,
        seed=5,
        progress=False,
    )
    assert ray_run.returns == serial.returns


def test_a_killed_actor_is_reported_and_its_episodes_rerun(
    saved_policy, ray_head, tmp_path
):
    serial = evaluate(saved_policy, "CartPole-v1", 30, seed=1, progress=False)
    with pytest.warns(WorkerDiedWarning, match=r"Ray actor [01] \(pid \d+ on "):
        result = evaluate(
            saved_policy,
            dying_env.dying_cartpole(tmp_path, at=60),
            30,
            seed=1,
            num_workers=2,
            backend="ray",
            ray_address=ray_head,
            progress=False,
        )
    assert dying_env.deaths(tmp_path) == 1
    assert result.returns == serial.returns
    (failure,) = result.failures
    assert "died (its process exited" in failure
    assert "re-ran them on Ray actor 2" in failure


def test_an_actor_that_dies_again_on_the_rerun_fails_the_call(
    saved_policy, ray_head, tmp_path
):
    with pytest.warns(WorkerDiedWarning), pytest.raises(WorkerError) as error:
        evaluate(
            saved_policy,
            dying_env.dying_cartpole(tmp_path, at=25, times=2),
            20,
            seed=1,
            num_workers=1,
            backend="ray",
            ray_address=ray_head,
            progress=False,
        )
    message = str(error.value)
    assert (
        "Ray actor 1" in message and "re-running the episodes of Ray actor 0" in message
    )
    assert "could not be run" in message
    assert dying_env.deaths(tmp_path) == 2


def test_an_error_inside_an_actor_is_raised_with_its_traceback(ray_head):
    def broken_env():
        raise RuntimeError("no such simulator")

    with pytest.raises(WorkerError, match=r"Ray actor 0 .*no such simulator"):
        evaluate(
            _greedy_policy(),
            broken_env,
            4,
            num_workers=1,
            backend="ray",
            ray_address=ray_head,
            progress=False,
        )


def test_cli_runs_on_ray_with_a_progress_bar_over_all_workers(saved_policy, ray_head):
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    run = subprocess.run(
        [
            *(sys.executable, "-m", "policylib", "evaluate", saved_policy),
            *("--episodes", "20", "--seed", "0", "--workers", "2"),
            *("--backend", "ray", "--ray-address", ray_head),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stderr
    serial = evaluate(saved_policy, "CartPole-v1", 20, seed=0, progress=False)
    assert run.stdout.strip().splitlines()[-1] == serial.summary()
    assert "20/20 [" in run.stderr  # the bar counts both workers' episodes (10 each)


# ----------------------------------------------------------------------------
# Collection


def test_collector_sends_whole_episodes_tagged_with_the_policy_version(
    ray_head, tmp_path
):
    policy = _greedy_policy(seed=6)
    with RayCollector(
        "CartPole-v1", policy, num_actors=2, ray_address=ray_head, seed=0
    ) as collector:
        assert len(collector.describe()) == 2
        first = collector.collect(steps_per_actor=40)
        assert collector.env_steps == 80 and collector.version == 0
        # A policy whose Q-values favour action 0 everywhere: zero kernels, biases [1, 0].
        zeroed = [np.zeros_like(v) for v in policy.variables()]
        zeroed[-1] = np.array([1.0, 0.0], np.float32)
        assert collector.update(variables=zeroed) == 1
        later = []
        for _ in range(6):
            later += collector.collect(steps_per_actor=40)
        assert collector.env_steps == 80 * 7
    batches = first + later
    assert batches and all(isinstance(b, CollectedEpisodes) for b in batches)
    for batch in batches:
        traj = batch.trajectory
        assert traj.step_type[0] == ts.StepType.FIRST  # whole episodes ...
        assert traj.is_boundary()[-1]  # ... each ending with its boundary step
        assert int(np.sum(traj.is_boundary())) == len(batch.episode_returns)
        assert batch.num_steps == sum(batch.episode_lengths) + len(
            batch.episode_lengths
        )
        assert batch.episode_returns == tuple(float(n) for n in batch.episode_lengths)
    assert {b.actor for b in later} == {0, 1}
    fresh = [b for b in later if b.policy_version == 1]
    assert fresh  # episodes wholly collected after the update act with action 0
    for batch in fresh:
        counted = ~batch.trajectory.is_boundary()
        assert np.all(batch.trajectory.action[counted] == 0)

    py_buffer = py_uniform_replay_buffer.PyUniformReplayBuffer(
        tensor_spec.to_nest_array_spec(policy.trajectory_spec), capacity=10_000
    )
    added = collector.add_to(py_buffer, batches, min_version=1)
    assert added == sum(b.num_steps for b in fresh) and py_buffer.size == added
    tf_buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        policy.trajectory_spec, batch_size=1, max_length=10_000
    )
    added = collector.add_to(tf_buffer, batches)
    assert added == sum(b.num_steps for b in batches)
    assert int(tf_buffer.num_frames()) == added


def test_partial_episodes_stream_into_a_buffer_row_per_actor(ray_head):
    policy = _greedy_policy(seed=6)
    with RayCollector(
        "CartPole-v1",
        policy,
        num_actors=2,
        ray_address=ray_head,
        seed=0,
        whole_episodes=False,
    ) as collector:
        rounds = [collector.collect(steps_per_actor=7) for _ in range(12)]
    spec = policy.trajectory_spec
    # Every actor sends every round, its steps continuing the last round's.
    assert all(sorted(b.actor for b in r) == [0, 1] for r in rounds)
    streams = []
    for actor in (0, 1):
        parts = [b.trajectory for r in rounds for b in r if b.actor == actor]
        stream = tree.map_structure(lambda *x: np.concatenate(x), *parts)
        streams.append(stream)
        first = stream.step_type == ts.StepType.FIRST
        boundary = stream.is_boundary()
        # 7 counted steps a round; boundary steps come on top.
        assert len(stream.step_type) == 12 * 7 + int(np.sum(boundary))
        # A FIRST step follows every boundary step and nothing else.
        assert np.array_equal(first[1:], boundary[:-1]) and first[0]
        lengths = [
            n for r in rounds for b in r if b.actor == actor for n in b.episode_lengths
        ]
        assert lengths and sum(lengths) <= 12 * 7

    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        spec, batch_size=2, max_length=1000
    )
    added = sum(collector.add_to(buffer, r) for r in rounds)
    shorter = min(len(s.step_type) for s in streams)
    assert added == 2 * shorter and int(buffer.num_frames()) == added
    assert sorted(collector.queued_steps) == [
        0,
        max(len(s.step_type) for s in streams) - shorter,
    ]
    rows = buffer.gather_all()  # [2, shorter]: row i is actor i's stream
    for actor, stream in enumerate(streams):
        np.testing.assert_array_equal(
            rows.observation[actor].numpy(), stream.observation[:shorter]
        )

    one_row = tf_uniform_replay_buffer.TFUniformReplayBuffer(spec, batch_size=1)
    with pytest.raises(ValueError, match=r"2 actors' partial episodes cannot share"):
        collector.add_to(one_row, rounds[0])
    three_rows = tf_uniform_replay_buffer.TFUniformReplayBuffer(spec, batch_size=3)
    with pytest.raises(ValueError, match=r"has batch_size 3; .* of 2 actors"):
        collector.add_to(three_rows, rounds[0])
    with pytest.raises(ValueError, match=r"drops whole episodes"):
        collector.add_to(buffer, rounds[0], min_version=0)


def _random_actions(ray_head, seed):
    """Each actor's first 40 actions under a policy that always explores."""
    explore = epsilon_greedy_policy.EpsilonGreedyPolicy(
        _greedy_policy(seed=6, collect=True), epsilon=1.0
    )
    with RayCollector(
        "CartPole-v1",
        explore,
        num_actors=2,
        ray_address=ray_head,
        seed=seed,
        whole_episodes=False,
    ) as collector:
        batches = collector.collect(steps_per_actor=40)
    return [b.trajectory.action[:40].tolist() for b in batches]


def test_actors_explore_with_their_own_seeded_random_streams(ray_head):
    # One export would bake the same random-op seeds into every actor.
    first, second = _random_actions(ray_head, seed=3)
    assert first != second
    assert _random_actions(ray_head, seed=3) == [first, second]  # reproducible
    assert _random_actions(ray_head, seed=4)[0] != first


def test_update_refuses_weights_of_another_network(ray_head):
    policy = _greedy_policy(seed=7)
    with RayCollector("CartPole-v1", policy, num_actors=1, ray_address=ray_head) as c:
        with pytest.raises(ValueError, match=r"Variable 0 .* is float32\[4, 8\]"):
            c.update(variables=[np.zeros((3, 3), np.float32)] * 4)
        assert c.version == 0


SEEDS = (0, 1, 2)


def _train_example(tmp_path, seed, *args):
    """The summary of one run of examples/distributed_dqn_cartpole.py.

    Each run is a fresh process, as a user starts it. A seeded run's curve is
    the same on every try (the learner samples in its train step, actors
    explore with their own seeded exports).
    """
    out = tmp_path / f"summary{len(list(tmp_path.iterdir()))}.json"
    script = ROOT / "examples" / "distributed_dqn_cartpole.py"
    command = [sys.executable, str(script), "--target-return", "150"]
    done = subprocess.run(
        [*command, "--seed", str(seed), "--env-steps", "5000", "--json", str(out)]
        + list(args),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def _median_steps_to_target(runs):
    """The median over seeds of the env steps to the target (inf: not reached)."""
    return float(np.median([r["env_steps_to_target"] or np.inf for r in runs]))


@pytest.mark.skipif(
    not keras_compat.is_keras3(),
    reason="one Keras mode suffices: actors run a SavedModel with NumPy, "
    "and DQN under tf-keras is tested in tests/agents",
)
def test_two_actor_dqn_reaches_the_single_process_return_in_no_more_env_steps(
    ray_head, tmp_path
):
    # One seed's steps to the target swing by 1000s either way (DQN on
    # CartPole); the median over three seeds compares the two set-ups.
    single = [_train_example(tmp_path, s, "--actors", "0") for s in SEEDS]
    distributed = [
        _train_example(tmp_path, s, "--actors", "2", "--ray-address", ray_head)
        for s in SEEDS
    ]
    curves = ([r["curve"] for r in single], [r["curve"] for r in distributed])
    assert _median_steps_to_target(single) < np.inf, curves
    assert _median_steps_to_target(distributed) <= _median_steps_to_target(single), (
        curves
    )


def test_more_actors_than_free_cpus_is_refused_up_front(ray_head):
    with pytest.raises(
        ValueError, match=r"3 Ray actors need 3 free CPUs, but the cluster has 2"
    ):
        evaluate(
            _greedy_policy(),
            "CartPole-v1",
            6,
            num_workers=3,
            backend="ray",
            ray_address=ray_head,
            progress=False,
        )
