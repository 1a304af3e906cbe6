"""policylib.reverb's tf.data datasets: elements, endings, errors, tf.function use."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb


@pytest.fixture
def server() -> Iterator[reverb.Server]:
    tables = [
        reverb.Table.queue("queue", 100),
        reverb.Table(
            "uniform",
            sampler=reverb.selectors.Uniform(seed=0),
            remover=reverb.selectors.Fifo(),
            max_size=100,
            rate_limiter=reverb.rate_limiters.MinSize(1),
        ),
        reverb.Table.queue(
            "signed",
            100,
            signature={
                "x": tf.TensorSpec([2], tf.float32),
                "y": tf.TensorSpec([2, 3], tf.int64),
            },
        ),
    ]
    with reverb.Server(tables) as running:
        yield running


def _address(server: reverb.Server) -> str:
    return f"localhost:{server.port}"


def _write(server: reverb.Server, table: str, count: int, length: int = 2) -> None:
    """`count` items of `length` steps; step t holds x=t, y=[[t]*3]*... ."""
    with server.localhost_client().trajectory_writer(length) as writer:
        for t in range(count + length - 1):
            writer.append({"x": np.float32(t), "y": np.full([3], t, np.int64)})
            if writer.episode_steps >= length:
                writer.create_item(
                    table,
                    1.0,
                    {
                        "x": writer.history["x"][-length:],
                        "y": writer.history["y"][-length:],
                    },
                )


_DTYPES = {"x": tf.float32, "y": tf.int64}
_SHAPES = {"x": tf.TensorShape([2]), "y": tf.TensorShape([2, 3])}


def test_trajectory_dataset_yields_items_in_table_order(server: reverb.Server) -> None:
    _write(server, "queue", 5)
    dataset = reverb.TrajectoryDataset(
        _address(server), "queue", _DTYPES, _SHAPES, 3, rate_limiter_timeout_ms=50
    )
    assert isinstance(dataset, tf.data.Dataset)
    assert dataset.element_spec.info == reverb.SampleInfo(
        *[tf.TensorSpec([], d) for d in reverb.SampleInfo.tf_dtypes()]
    )
    samples = list(dataset)
    assert [s.data["x"].numpy().tolist() for s in samples] == [
        [t, t + 1] for t in range(5)
    ]
    assert samples[2].data["y"].numpy().tolist() == [[2] * 3, [3] * 3]
    assert samples[0].info.times_sampled.numpy() == 1
    assert samples[0].info.key.dtype == tf.uint64


def test_timeout_ends_the_dataset_and_zero_timeout_on_empty_table(
    server: reverb.Server,
) -> None:
    dataset = reverb.TrajectoryDataset(
        _address(server), "queue", _DTYPES, _SHAPES, 4, rate_limiter_timeout_ms=0
    )
    assert list(dataset) == []


def test_max_samples_stops_after_that_many(server: reverb.Server) -> None:
    _write(server, "uniform", 3)
    dataset = reverb.TrajectoryDataset(
        _address(server), "uniform", _DTYPES, _SHAPES, 4, max_samples=7
    )
    assert len(list(dataset)) == 7
    # Each iterator is its own stream with its own count.
    assert len(list(dataset.take(10))) == 7


def test_usable_in_tf_function_with_batch_prefetch_interleave(
    server: reverb.Server,
) -> None:
    _write(server, "uniform", 4)
    address = _address(server)

    def stream(_: tf.Tensor) -> tf.data.Dataset:
        return reverb.TrajectoryDataset(address, "uniform", _DTYPES, _SHAPES, 2)

    dataset = (
        tf.data.Dataset.range(3)
        .interleave(stream, cycle_length=3, num_parallel_calls=2)
        .batch(5, drop_remainder=True)
        .prefetch(2)
    )
    iterator = iter(dataset)

    @tf.function
    def total() -> tf.Tensor:
        batch = next(iterator)
        return tf.reduce_sum(batch.data["x"][:, 1] - batch.data["x"][:, 0])

    assert total().numpy() == 5.0

    @tf.function
    def built_inside() -> tf.Tensor:
        inner = reverb.TrajectoryDataset(address, "uniform", _DTYPES, _SHAPES, 2)
        return next(iter(inner.batch(3))).data["y"]

    assert built_inside().shape == (3, 2, 3)


def test_dtype_mismatch_names_the_leaf(server: reverb.Server) -> None:
    _write(server, "uniform", 1)
    dataset = reverb.TrajectoryDataset(
        _address(server), "uniform", {"x": tf.float64, "y": tf.int64}, _SHAPES, 1
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"at x .*dtypes differ"):
        next(iter(dataset))


def test_shape_mismatch_names_the_leaf(server: reverb.Server) -> None:
    _write(server, "uniform", 1)
    shapes = {"x": tf.TensorShape([2]), "y": tf.TensorShape([2, 4])}
    dataset = reverb.TrajectoryDataset(_address(server), "uniform", _DTYPES, shapes, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"at y .*shapes"):
        next(iter(dataset))


def test_specs_are_checked_against_the_table_signature(server: reverb.Server) -> None:
    _write(server, "signed", 1)
    wrong = {"x": tf.int32, "y": tf.int64}
    dataset = reverb.TrajectoryDataset(
        _address(server), "signed", wrong, _SHAPES, 1, rate_limiter_timeout_ms=0
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="signature of table"):
        next(iter(dataset))


def test_missing_table_is_an_error(server: reverb.Server) -> None:
    dataset = reverb.TrajectoryDataset(_address(server), "nope", _DTYPES, _SHAPES, 1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="No table 'nope'"):
        next(iter(dataset))


def test_from_table_signature(server: reverb.Server) -> None:
    _write(server, "signed", 2)
    dataset = reverb.TrajectoryDataset.from_table_signature(
        _address(server), "signed", 2, rate_limiter_timeout_ms=10
    )
    assert dataset.element_spec.data["y"].shape == (2, 3)
    assert len(list(dataset)) == 2
    with pytest.raises(ValueError, match="does not contain any table named nope"):
        reverb.TrajectoryDataset.from_table_signature(_address(server), "nope", 1)
    with pytest.raises(ValueError, match="does not have a signature"):
        reverb.TrajectoryDataset.from_table_signature(_address(server), "queue", 1)


def test_items_of_different_lengths_with_unknown_dims(server: reverb.Server) -> None:
    for length in (3, 1, 1, 2):
        _write(server, "queue", 1, length=length)
    shapes = {"x": tf.TensorShape([None]), "y": tf.TensorShape([None, 3])}
    dataset = reverb.TrajectoryDataset(
        _address(server), "queue", _DTYPES, shapes, 4, rate_limiter_timeout_ms=10
    )
    assert [s.data["x"].numpy().tolist() for s in dataset] == [
        [0, 1, 2],
        [0],
        [0],
        [0, 1],
    ]


def test_lists_become_tuples(server: reverb.Server) -> None:
    _write(server, "uniform", 1)
    client = server.localhost_client()
    dataset = reverb.TrajectoryDataset(
        client.server_address,
        "uniform",
        [tf.float32, tf.int64],
        [[2], [2, 3]],
        1,
    )
    assert isinstance(next(iter(dataset)).data, tuple)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"max_in_flight_samples_per_worker": 0}, "max_in_flight"),
        ({"num_workers_per_iterator": 0}, "num_workers_per_iterator"),
        ({"max_samples_per_stream": -2}, "max_samples_per_stream"),
        ({"rate_limiter_timeout_ms": -2}, "rate_limiter_timeout_ms"),
        ({"max_samples": 0}, "max_samples"),
    ],
)
def test_arguments_are_validated(kwargs: dict, message: str) -> None:
    args = {"max_in_flight_samples_per_worker": 1, **kwargs}
    with pytest.raises(ValueError, match=message):
        reverb.TrajectoryDataset("localhost:1", "t", _DTYPES, _SHAPES, **args)
    with pytest.raises(ValueError, match="same structure"):
        reverb.TrajectoryDataset("localhost:1", "t", _DTYPES, [[2]], 1)


def test_timestep_dataset_emits_steps_with_their_item_info(
    server: reverb.Server,
) -> None:
    _write(server, "queue", 2, length=3)
    shapes = {"x": tf.TensorShape([]), "y": tf.TensorShape([3])}
    dataset = reverb.TimestepDataset(
        _address(server), "queue", _DTYPES, shapes, 2, rate_limiter_timeout_ms=10
    )
    steps = list(dataset)
    assert [float(s.data["x"]) for s in steps] == [0, 1, 2, 1, 2, 3]
    keys = [int(s.info.key) for s in steps]
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_replay_dataset_timesteps_and_sequences(server: reverb.Server) -> None:
    _write(server, "queue", 2, length=2)
    address = _address(server)
    sequences = reverb.ReplayDataset(
        address,
        "queue",
        _DTYPES,
        {"x": [2], "y": [2, 3]},
        1,
        sequence_length=2,
        emit_timesteps=False,
        rate_limiter_timeout_ms=10,
    )
    got = list(sequences)
    assert got[0].info.key.shape == (2,)
    assert [s.data["x"].numpy().tolist() for s in got] == [[0, 1], [1, 2]]
    _write(server, "queue", 1, length=2)
    steps = reverb.ReplayDataset(
        address, "queue", _DTYPES, {"x": [], "y": [3]}, 1, rate_limiter_timeout_ms=10
    )
    assert [float(s.data["x"]) for s in steps] == [0, 1]
    with pytest.raises(ValueError, match="must lead with sequence_length"):
        reverb.ReplayDataset(
            address,
            "queue",
            _DTYPES,
            _SHAPES,
            1,
            sequence_length=3,
            emit_timesteps=False,
        )


def test_item_batches_stack_and_broadcast_info(server: reverb.Server) -> None:
    from policylib.reverb import datasets

    _write(server, "uniform", 10)
    batches = datasets.item_batches(
        _address(server), "uniform", _DTYPES, _SHAPES, 8, broadcast_info=True
    )
    batch = next(iter(batches))
    assert batch.data["y"].shape == (8, 2, 3)
    assert batch.info.key.shape == (8, 2)
    np.testing.assert_array_equal(batch.info.key[:, 0], batch.info.key[:, 1])


def test_stopping_the_server_ends_a_waiting_dataset_quietly() -> None:
    server = reverb.Server([reverb.Table.queue("queue", 10)])
    _write(server, "queue", 1)
    dataset = reverb.TrajectoryDataset(_address(server), "queue", _DTYPES, _SHAPES, 2)
    iterator = iter(dataset)
    first = next(iterator)  # The stream is open; the next fetch waits.
    assert first.data["x"].numpy().tolist() == [0.0, 1.0]
    stopper = threading.Timer(0.3, server.stop)
    stopper.start()
    try:
        assert list(iterator) == []  # Ends instead of raising CancelledError.
    finally:
        stopper.join()


def test_items_of_mixed_dtypes_stack_column_by_column() -> None:
    """Batches stacked from packed records equal the items' columns, per leaf."""
    dtypes = {"flag": tf.bool, "pixels": tf.uint8, "value": tf.float64}
    shapes = {"flag": [2], "pixels": [2, 2, 3], "value": [2]}
    table = reverb.Table(
        "mixed",
        sampler=reverb.selectors.Uniform(seed=3),
        remover=reverb.selectors.Fifo(),
        max_size=100,
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )
    rng = np.random.default_rng(0)
    steps = [
        {
            "flag": np.bool_(t % 3 == 0),
            "pixels": rng.integers(0, 255, (2, 3), dtype=np.uint8),
            "value": np.float64(t),
        }
        for t in range(12)
    ]
    with reverb.Server([table]) as running:
        with running.localhost_client().trajectory_writer(2) as writer:
            for step in steps:
                writer.append(step)
                if writer.episode_steps >= 2:
                    item = {k: v[-2:] for k, v in writer.history.items()}
                    writer.create_item("mixed", 1.0, item)
        batches = reverb.datasets.item_batches(
            f"localhost:{running.port}",
            "mixed",
            dtypes,
            shapes,
            4,
            broadcast_info=True,
            sample_ahead=8,
        )
        for sample in batches.take(6):
            assert sample.data["pixels"].shape == (4, 2, 2, 3)
            for row in range(4):
                last = int(sample.data["value"][row, -1])  # The item's last step.
                for name, dtype in dtypes.items():
                    want = np.stack([steps[last - 1][name], steps[last][name]])
                    got = sample.data[name][row].numpy()
                    assert got.dtype == dtype.as_numpy_dtype
                    np.testing.assert_array_equal(got, want)


def test_exact_batches_wait_for_one_batch_not_for_the_whole_fetch() -> None:
    """A limiter that allows one batch now yields it at once (Reverb's flexible batch).

    The dataset asks for three batches per fetch; the table lets exactly one
    batch through until more is inserted, so waiting for all three would
    block until the rate-limiter timeout.
    """
    table = reverb.Table(
        "limited",
        sampler=reverb.selectors.Uniform(seed=0),
        remover=reverb.selectors.Fifo(),
        max_size=100,
        # One sample per insert, none ahead: sampling needs samples <= inserts.
        rate_limiter=reverb.rate_limiters.RateLimiter(1.0, 1, 0.0, 1e9),
    )
    with reverb.Server([table]) as running:
        _write(running, "limited", 4)
        batches = reverb.datasets.item_batches(
            f"localhost:{running.port}",
            "limited",
            _DTYPES,
            _SHAPES,
            4,
            rate_limiter_timeout_ms=20_000,
            broadcast_info=True,
            sample_ahead=12,
        )
        iterator = iter(batches)
        got: list[object] = []
        reader = threading.Thread(target=lambda: got.append(next(iterator)))
        reader.start()
        reader.join(timeout=60)  # a hang guard; the limiter allows it at once
        assert got, "the first batch waited for more than the limiter allowed"
        assert set(got[0].data["x"][:, 0].numpy().tolist()) <= {0, 1, 2, 3}
        _write(running, "limited", 4)  # Four more samples allowed: one more batch.
        assert next(iterator).data["x"].shape == (4, 2)
