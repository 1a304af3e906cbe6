"""TFUniformReplayBuffer and Table: contents, sampling, errors, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.replay_buffers import table, tf_uniform_replay_buffer
from policylib.utils import common

SPEC = {
    "observation": tf.TensorSpec([2], tf.float32, "observation"),
    "action": tf.TensorSpec([], tf.int32, "action"),
}


def _batch(value: float, batch_size: int = 2) -> dict:
    return {
        "observation": tf.fill([batch_size, 2], value),
        "action": tf.fill([batch_size], int(value)),
    }


def _filled(
    steps: int, max_length: int = 4
) -> tf_uniform_replay_buffer.TFUniformReplayBuffer:
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        SPEC, batch_size=2, max_length=max_length
    )
    for step in range(steps):
        buffer.add_batch(_batch(float(step)))
    return buffer


def test_ring_keeps_the_newest_items_per_segment() -> None:
    buffer = _filled(6)
    assert int(buffer.num_frames()) == 8  # 2 segments of 4
    gathered = buffer.gather_all()
    np.testing.assert_array_equal(gathered["action"].numpy(), [[2, 3, 4, 5]] * 2)


def test_runs_are_consecutive_and_within_what_is_stored() -> None:
    buffer = _filled(6)
    tf.random.set_seed(1)
    items, info = buffer.get_next(sample_batch_size=50, num_steps=2)
    actions = items["action"].numpy()
    assert actions.shape == (50, 2)
    np.testing.assert_array_equal(actions[:, 1] - actions[:, 0], 1)
    assert actions.min() >= 2 and actions.max() <= 5
    np.testing.assert_allclose(info.probabilities.numpy(), 1 / 6)  # 3 starts x 2


def test_dataset_and_single_deterministic_pass() -> None:
    buffer = _filled(3)
    batch, _ = next(iter(buffer.as_dataset(sample_batch_size=5, num_steps=2)))
    assert batch["observation"].shape == (5, 2, 2)
    single = [
        int(item["action"])
        for item, _ in buffer.as_dataset(single_deterministic_pass=True)
    ]
    assert single == [0, 1, 2, 0, 1, 2]


def test_sampling_an_empty_buffer_says_so() -> None:
    buffer = _filled(0)
    with pytest.raises(tf.errors.InvalidArgumentError, match="is empty"):
        buffer.get_next()


def test_a_batch_of_the_wrong_size_names_the_leaf() -> None:
    buffer = _filled(0)
    with pytest.raises(
        ValueError, match=r"leaf 'action' has shape \[3\], expected \[2\]"
    ):
        buffer.add_batch(_batch(1.0, batch_size=3))
    with pytest.raises(ValueError, match="dtype"):
        buffer.add_batch(dict(_batch(1.0), action=tf.zeros([2], tf.int64)))
    with pytest.raises(ValueError, match="structure"):
        buffer.add_batch({"observation": tf.zeros([2, 2])})


def test_clear_and_checkpoint_restore_the_same_contents(tmp_path) -> None:
    buffer = _filled(5)
    checkpointer = common.Checkpointer(str(tmp_path), buffer=buffer)
    checkpointer.save(global_step=1)
    expected = buffer.gather_all()["action"].numpy()
    buffer.clear()
    assert int(buffer.num_frames()) == 0
    restored = _filled(0)
    common.Checkpointer(str(tmp_path), buffer=restored).initialize_or_restore()
    np.testing.assert_array_equal(restored.gather_all()["action"].numpy(), expected)


def test_add_inside_a_tf_function() -> None:
    buffer = _filled(0)

    @common.function
    def add(items):
        buffer.add_batch(items)

    for step in range(3):
        add(_batch(float(step)))
    assert int(buffer.num_frames()) == 6


def test_table_reads_and_writes_slots() -> None:
    spec = (tf.TensorSpec([2], tf.float32, "x"), tf.TensorSpec([], tf.int32, "x"))
    rows = table.Table(spec, capacity=3)
    assert rows.slots == ("x", "x_1")
    rows.write([0, 2], (tf.ones([2, 2]), tf.constant([5, 7])))
    np.testing.assert_array_equal(rows.read(2, slots=["x_1"])[0].numpy(), 7)
    with pytest.raises(ValueError, match="no slot 'y'"):
        rows.read(0, slots=["y"])


def test_concurrent_adds_take_distinct_ids() -> None:
    """Writers on several threads each get their own id (one atomic op per add)."""
    import threading

    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        SPEC, batch_size=2, max_length=400
    )

    @common.function
    def add(items: dict) -> None:
        buffer.add_batch(items)

    add(_batch(0.0))  # traced once, before the threads start
    errors: list[BaseException] = []

    def write(value: float) -> None:
        try:
            for _ in range(50):
                add(_batch(value))
        except BaseException as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(float(i),)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert int(buffer._get_last_id()) == 200  # 201 adds, ids 0..200
    ids = buffer._id_table.read(tf.range(201, dtype=tf.int64)).numpy().ravel()
    assert sorted(ids.tolist()) == list(range(201))
