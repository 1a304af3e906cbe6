"""policylib.reverb.TFClient: sample, insert and update_priorities as TF ops."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb

_SIGNATURE = (tf.TensorSpec([], tf.int64), tf.TensorSpec([2], tf.float32))


@pytest.fixture
def server() -> Iterator[reverb.Server]:
    tables = [
        reverb.Table(
            "prio",
            sampler=reverb.selectors.MaxHeap(),
            remover=reverb.selectors.Fifo(),
            max_size=10,
            rate_limiter=reverb.rate_limiters.MinSize(1),
        ),
        reverb.Table(
            "signed",
            sampler=reverb.selectors.Fifo(),
            remover=reverb.selectors.Fifo(),
            max_size=1,
            rate_limiter=reverb.rate_limiters.MinSize(1),
            signature=_SIGNATURE,
        ),
    ]
    with reverb.Server(tables) as running:
        yield running


def _client(server: reverb.Server) -> reverb.TFClient:
    return reverb.TFClient(f"localhost:{server.port}", shared_name="shared")


def test_insert_then_sample_eagerly(server: reverb.Server) -> None:
    client = _client(server)
    client.insert(
        [tf.constant(7, tf.int64), tf.constant([1.0, 2.0])],
        tables=tf.constant(["signed", "prio"]),
        priorities=tf.constant([1.0, 3.0], tf.float64),
    )
    sample = client.sample("signed", (tf.int64, tf.float32))
    assert int(sample.data[0]) == 7
    assert sample.data[1].numpy().tolist() == [1.0, 2.0]
    assert sample.info.key.dtype == tf.uint64
    assert sample.info.times_sampled.shape == ()
    info = server.localhost_client().server_info()
    assert info["prio"].current_size == 1


def test_ops_inside_tf_function(server: reverb.Server) -> None:
    client = _client(server)

    @tf.function
    def insert_and_sample(value: tf.Tensor) -> tf.Tensor:
        client.insert(
            [value, tf.constant([0.5, 0.5])],
            tf.constant(["signed"]),
            tf.constant([1.0], tf.float64),
        )
        return client.sample("signed", [tf.int64, tf.float32]).data[0]

    assert int(insert_and_sample(tf.constant(3, tf.int64))) == 3
    assert int(insert_and_sample(tf.constant(4, tf.int64))) == 4


def test_update_priorities_changes_the_heap_order(server: reverb.Server) -> None:
    client = _client(server)
    for value, priority in ((1, 1.0), (2, 2.0)):
        client.insert(
            [tf.constant(value, tf.int64)],
            tf.constant(["prio"]),
            tf.constant([priority], tf.float64),
        )
    top = client.sample("prio", tf.int64)
    assert int(top.data) == 2
    client.update_priorities("prio", top.info.key[tf.newaxis], tf.constant([0.0]))
    assert int(client.sample("prio", tf.int64).data) == 1
    # Unknown keys are ignored.
    client.update_priorities("prio", tf.constant([12345], tf.uint64), [5.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="do not match in shape"):
        client.update_priorities("prio", tf.constant([1, 2], tf.uint64), [1.0])


def test_insert_argument_checks(server: reverb.Server) -> None:
    client = _client(server)
    data = [tf.constant(1, tf.int64)]
    with pytest.raises(ValueError, match="tables must be a string tensor of rank 1"):
        client.insert(data, tf.constant("prio"), tf.constant([1.0], tf.float64))
    with pytest.raises(ValueError, match="priorities must be a float64"):
        client.insert(data, tf.constant(["prio"]), tf.constant([1.0]))
    with pytest.raises(ValueError, match="same shape"):
        client.insert(data, tf.constant(["prio"]), tf.constant([1.0, 2.0], tf.float64))


def test_signature_and_dtype_errors_are_invalid_argument(server: reverb.Server) -> None:
    client = _client(server)
    with pytest.raises(tf.errors.InvalidArgumentError, match="signature"):
        client.insert(
            [tf.constant(1, tf.int32), tf.constant([1.0, 2.0])],
            tf.constant(["signed"]),
            tf.constant([1.0], tf.float64),
        )
    client.insert(
        [tf.constant(1, tf.int64), tf.constant([1.0, 2.0])],
        tf.constant(["signed"]),
        tf.constant([1.0], tf.float64),
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="data_dtypes has"):
        client.sample("signed", (tf.int32, tf.float32))
    assert np.asarray(client.server_address).item().endswith(str(server.port))
