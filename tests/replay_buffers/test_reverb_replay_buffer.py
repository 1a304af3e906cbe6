"""ReverbReplayBuffer: datasets (batched and interleaved paths), sizes, priorities."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb
from policylib.replay_buffers import reverb_replay_buffer

_SPEC = {"episode": tf.TensorSpec([], tf.int64), "step": tf.TensorSpec([], tf.int64)}


@pytest.fixture
def server() -> Iterator[reverb.Server]:
    tables = [
        reverb.Table(
            "uniform",
            sampler=reverb.selectors.Uniform(seed=1),
            remover=reverb.selectors.Fifo(),
            max_size=1000,
            rate_limiter=reverb.rate_limiters.MinSize(1),
        ),
        reverb.Table(
            "prio",
            sampler=reverb.selectors.MaxHeap(),
            remover=reverb.selectors.MinHeap(),
            max_size=1000,
            rate_limiter=reverb.rate_limiters.MinSize(1),
        ),
        reverb.Table.queue("fifo", 100),
    ]
    with reverb.Server(tables) as running:
        yield running


def _write(
    server: reverb.Server, table: str, episodes: int, length: int, item: int
) -> None:
    """Episodes of `length` steps, written as items of `item` steps (stride 1)."""
    client = server.localhost_client()
    with client.trajectory_writer(item) as writer:
        for episode in range(episodes):
            for step in range(length):
                writer.append({"episode": np.int64(episode), "step": np.int64(step)})
                if writer.episode_steps >= item:
                    trajectory = {k: v[-item:] for k, v in writer.history.items()}
                    writer.create_item(table, 1.0, trajectory)
            writer.end_episode()


def _replay(
    server: reverb.Server, table: str, length: int | None, timeout_ms: int = -1
) -> reverb_replay_buffer.ReverbReplayBuffer:
    return reverb_replay_buffer.ReverbReplayBuffer(
        _SPEC,
        table,
        sequence_length=length,
        local_server=server,
        rate_limiter_timeout_ms=timeout_ms,
    )


@pytest.mark.parametrize("num_steps", [None, 1, 2, 4])
def test_batched_path_yields_consecutive_steps(
    server: reverb.Server, num_steps: int | None
) -> None:
    _write(server, "uniform", episodes=3, length=6, item=4)
    replay = _replay(server, "uniform", 4)
    steps = num_steps or 4
    for data, info in replay.as_dataset(8, num_steps=num_steps).take(3):
        assert data["step"].shape == (8, steps)
        assert info.key.shape == (8, steps)
        np.testing.assert_array_equal(
            data["step"], data["step"][:, :1] + np.arange(steps)
        )
        for same_per_row in (data["episode"].numpy(), info.key.numpy()):
            assert (same_per_row == same_per_row[:, :1]).all()


def test_batches_that_split_items_across_batches(server: reverb.Server) -> None:
    _write(server, "uniform", episodes=2, length=5, item=4)
    replay = _replay(server, "uniform", 4)
    dataset = replay.as_dataset(3, num_steps=1)
    assert dataset.element_spec[0]["step"].shape == (3, 1)
    for data, info in dataset.take(4):
        assert data["step"].shape == (3, 1) and info.key.shape == (3, 1)
    exact = replay.as_dataset(4, num_steps=2)
    assert exact.element_spec[1].key.shape == (4, 2)


def test_unbatched_and_preprocessed_paths(server: reverb.Server) -> None:
    _write(server, "uniform", episodes=2, length=5, item=4)
    replay = _replay(server, "uniform", 4)
    data, info = next(iter(replay.as_dataset(num_steps=2)))
    assert data["step"].shape == (2,) and info.probability.shape == (2,)

    def shift(traj: Any) -> Any:
        return {**traj, "step": traj["step"] + 100}

    data, _ = next(
        iter(replay.as_dataset(2, num_steps=2, sequence_preprocess_fn=shift))
    )
    assert data["step"].shape == (2, 2)
    assert np.all(data["step"].numpy() >= 100)


def test_variable_length_items_need_no_sequence_length(server: reverb.Server) -> None:
    for length in (1, 2, 3):
        _write(server, "fifo", episodes=1, length=length, item=length)
    replay = _replay(server, "fifo", None, timeout_ms=20)
    got = [
        d["step"].numpy().tolist()
        for d, _ in replay.as_dataset(single_deterministic_pass=True)
    ]
    assert got == [[0], [0, 1], [0, 1, 2]]


def test_deterministic_pass_cuts_runs_and_needs_ordered_selectors(
    server: reverb.Server,
) -> None:
    _write(server, "fifo", episodes=1, length=5, item=5)
    replay = _replay(server, "fifo", None, timeout_ms=20)
    runs = [
        d["step"].numpy().tolist()
        for d, _ in replay.as_dataset(num_steps=2, single_deterministic_pass=True)
    ]
    assert runs == [[0, 1], [2, 3]]
    with pytest.raises(ValueError, match="not deterministic"):
        _replay(server, "uniform", None).as_dataset(single_deterministic_pass=True)


def test_num_steps_validation(server: reverb.Server) -> None:
    replay = _replay(server, "uniform", 4)
    with pytest.raises(ValueError, match="num_steps > sequence_length"):
        replay.as_dataset(num_steps=8)
    with pytest.raises(ValueError, match="not a multiple of num_steps"):
        replay.as_dataset(num_steps=3)
    with pytest.raises(ValueError, match="num_parallel_calls cannot be bigger"):
        replay.as_dataset(2, num_parallel_calls=4)


def test_properties_size_clear_and_unsupported_methods(server: reverb.Server) -> None:
    _write(server, "uniform", episodes=1, length=4, item=2)
    replay = _replay(server, "uniform", 2)
    assert replay.capacity == 1000
    assert replay.num_frames() == 3
    assert replay.local_server is server
    assert isinstance(replay.py_client, reverb.Client)
    assert replay.tf_client.server_address.endswith(str(server.port))
    replay.clear()
    assert replay.num_frames() == 0
    for call in (lambda: replay.add_batch(None), replay.get_next, replay.gather_all):
        with pytest.raises(NotImplementedError):
            call()
    with pytest.raises(ValueError, match="Exactly one"):
        reverb_replay_buffer.ReverbReplayBuffer(_SPEC, "uniform", 2)
    with pytest.raises(KeyError, match="no table 'nope'"):
        _replay(server, "nope", 2)


def test_update_priorities_inside_tf_function(server: reverb.Server) -> None:
    _write(server, "prio", episodes=1, length=3, item=1)
    replay = _replay(server, "prio", 1)
    iterator = iter(replay.as_dataset(1, num_steps=1))

    @tf.function
    def lower_top() -> tf.Tensor:
        _, info = next(iterator)
        replay.update_priorities(info.key[:, 0], tf.zeros([1], tf.float64))
        return info.key[0, 0]

    lowered = int(lower_top())
    top = next(replay.py_client.sample("prio", emit_timesteps=False))
    assert isinstance(top, reverb.ReplaySample)
    assert top.info.key != lowered
    assert top.info.priority == 1.0


def test_module_names() -> None:
    assert reverb_replay_buffer.DEFAULT_TABLE == "experience"
    sample = (tf.reshape(tf.range(10), [5, 2]),)
    (runs,) = reverb_replay_buffer.truncate_reshape_rows_by_num_steps(sample, 2)
    assert runs.shape == (2, 2, 2)
