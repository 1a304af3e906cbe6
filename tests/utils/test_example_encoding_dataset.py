from __future__ import annotations

import collections

import numpy as np
import pytest
import tensorflow as tf

from policylib.trajectories import trajectory
from policylib.utils import example_encoding_dataset as eed

Item = collections.namedtuple("Item", ["step", "value"])

SPEC = Item(
    step=tf.TensorSpec((), tf.int32, name="step"),
    value=tf.TensorSpec((2,), tf.float64, name="value"),
)


def _items(n: int) -> list[Item]:
    return [Item(np.int32(i), np.array([i, -0.5 * i], np.float64)) for i in range(n)]


def _write_py(path: str, items) -> None:
    with eed.TFRecordObserver(path, SPEC, py_mode=True) as observer:
        for item in items:
            observer(item)


def test_spec_file_round_trip(tmp_path):
    path = str(tmp_path / "spec")
    eed.encode_spec_to_file(path, SPEC)
    loaded = eed.parse_encoded_spec_from_file(path)
    assert tuple(loaded) == tuple(SPEC)
    assert type(loaded).__name__ == "Item" and loaded._fields == ("step", "value")


def test_missing_and_empty_spec_files_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Could not find spec file at .*nope"):
        eed.parse_encoded_spec_from_file(str(tmp_path / "nope"))
    empty = tmp_path / "empty.spec"
    with tf.io.TFRecordWriter(str(empty)):
        pass
    with pytest.raises(ValueError, match="is empty: expected one StructuredValue"):
        eed.parse_encoded_spec_from_file(str(empty))


def test_py_mode_items_come_back_in_order(tmp_path):
    path = str(tmp_path / "sub" / "data.tfrecord")  # the directory is created
    _write_py(path, _items(3))
    assert (tmp_path / "sub" / "data.tfrecord.spec").exists()

    loaded = list(eed.load_tfrecord_dataset([path], add_batch_dim=False))
    assert [int(x.step) for x in loaded] == [0, 1, 2]
    np.testing.assert_array_equal(loaded[2].value, [2.0, -1.0])
    assert loaded[0].value.dtype == tf.float64

    batched = next(iter(eed.load_tfrecord_dataset([path])))
    assert batched.step.shape == (1,) and batched.value.shape == (1, 2)


def test_tf_mode_writes_from_inside_a_function(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    observer = eed.TFRecordObserver(path, SPEC)

    @tf.function
    def observe(item):
        observer(item)

    for item in _items(2):
        observe(tf.nest.map_structure(lambda x: tf.constant(x)[None], item))
    observer.close()

    loaded = list(eed.load_tfrecord_dataset([path], add_batch_dim=False))
    np.testing.assert_array_equal([x.value for x in loaded], [[0.0, 0.0], [1.0, -0.5]])


def test_tf_mode_rejects_batches_of_more_than_one(tmp_path):
    observer = eed.TFRecordObserver(str(tmp_path / "data.tfrecord"), SPEC)
    with pytest.raises(ValueError, match=r"leading batch dimension of 1, got .*\(3,\)"):
        observer.write(np.zeros(3, np.int32), np.zeros((3, 2)))
    observer.close()


def test_as_experience_pairs_consecutive_items(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    _write_py(path, _items(5))
    pairs = list(eed.load_tfrecord_dataset([path], as_experience=True))
    assert len(pairs) == 2  # the odd item out is dropped
    np.testing.assert_array_equal(pairs[1].step, [2, 3])


def test_as_trajectories_builds_trajectories(tmp_path):
    spec = trajectory.Trajectory(
        step_type=tf.TensorSpec((), tf.int32),
        observation=tf.TensorSpec((2,), tf.float32),
        action=tf.TensorSpec((), tf.int64),
        policy_info=(),
        next_step_type=tf.TensorSpec((), tf.int32),
        reward=tf.TensorSpec((), tf.float32),
        discount=tf.TensorSpec((), tf.float32),
    )
    path = str(tmp_path / "traj.tfrecord")
    with eed.TFRecordObserver(path, spec, py_mode=True) as observer:
        observer(
            trajectory.Trajectory(
                np.int32(0),
                np.ones(2, np.float32),
                np.int64(1),
                (),
                np.int32(1),
                np.float32(0.5),
                np.float32(1.0),
            )
        )
    sample = next(iter(eed.load_tfrecord_dataset([path], as_trajectories=True)))
    assert isinstance(sample, trajectory.Trajectory)
    assert sample.reward.numpy().tolist() == [0.5]


def test_files_with_different_specs_are_rejected(tmp_path):
    first, second = str(tmp_path / "a.tfrecord"), str(tmp_path / "b.tfrecord")
    _write_py(first, _items(1))
    eed.encode_spec_to_file(
        second + ".spec", SPEC._replace(value=tf.TensorSpec((5,), tf.float64))
    )
    with pytest.raises(
        OSError,
        match="specs of the dataset files do not match: .*a.tfrecord has .*b.tfrecord has",
    ):
        eed.load_tfrecord_dataset([first, second])


def test_an_explicit_spec_needs_no_spec_file(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    _write_py(path, _items(2))
    (tmp_path / "data.tfrecord.spec").unlink()
    with pytest.raises(FileNotFoundError):
        eed.load_tfrecord_dataset([path])
    loaded = list(eed.load_tfrecord_dataset([path], spec=SPEC, add_batch_dim=False))
    assert [int(x.step) for x in loaded] == [0, 1]
