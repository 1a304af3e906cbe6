"""Server and Client in one process: insert, sample, priorities, info, errors."""

from __future__ import annotations

import pickle
import threading

import numpy as np
import pytest

from policylib import reverb


def _server(*tables: reverb.Table) -> reverb.Server:
    return reverb.Server(
        list(tables)
        or [
            reverb.Table(
                "uniform",
                reverb.selectors.Uniform(seed=0),
                reverb.selectors.Fifo(),
                max_size=100,
                rate_limiter=reverb.rate_limiters.MinSize(1),
            )
        ]
    )


def test_insert_then_sample_as_timesteps_or_whole() -> None:
    with _server() as server:
        client = server.localhost_client()
        client.insert({"a": np.arange(3), "b": np.float32(2.0)}, {"uniform": 1.5})
        steps = next(client.sample("uniform"))
        assert isinstance(steps, list) and len(steps) == 1
        info, data = steps[0]
        np.testing.assert_array_equal(data[0], np.arange(3))
        assert data[1] == np.float32(2.0)
        assert (info.priority, info.table_size, info.times_sampled) == (1.5, 1, 1)
        whole = next(client.sample("uniform", emit_timesteps=False))
        assert isinstance(whole, reverb.ReplaySample)
        assert whole.data[0].shape == (1, 3)
        assert whole.info.times_sampled == 2


def test_sample_unpacks_as_the_table_signature() -> None:
    tf = pytest.importorskip("tensorflow")
    signature = {
        "x": tf.TensorSpec([1, 2], tf.float32),
        "y": tf.TensorSpec([1], tf.int64),
    }
    table = reverb.Table(
        "t",
        reverb.selectors.Fifo(),
        reverb.selectors.Fifo(),
        10,
        reverb.rate_limiters.MinSize(1),
        signature=signature,
    )
    with _server(table) as server:
        client = server.localhost_client()
        client.insert({"x": np.ones(2, np.float32), "y": np.int64(3)}, {"t": 1.0})
        sample = next(
            client.sample("t", emit_timesteps=False, unpack_as_table_signature=True)
        )
        assert set(sample.data) == {"x", "y"}
        assert sample.data["y"].tolist() == [3]
        with pytest.raises(ValueError, match="at x"):
            client.insert({"x": np.ones(3, np.float32), "y": np.int64(3)}, {"t": 1.0})


def test_priorities_can_be_updated_and_items_deleted() -> None:
    table = reverb.Table(
        "heap",
        reverb.selectors.MaxHeap(),
        reverb.selectors.Fifo(),
        10,
        reverb.rate_limiters.MinSize(1),
    )
    with _server(table) as server:
        client = server.localhost_client()
        for value in range(3):
            client.insert(np.int32(value), {"heap": float(value)})
        keys = {}
        for _ in range(3):
            sample = next(client.sample("heap"))[0]
            keys[int(sample.data[0])] = sample.info.key
            client.mutate_priorities("heap", updates={sample.info.key: -1.0})
        assert sorted(keys) == [0, 1, 2]
        client.update_priorities("heap", {keys[0]: 50.0})
        assert int(next(client.sample("heap"))[0].data[0]) == 0
        client.mutate_priorities("heap", deletes=[keys[0], keys[1]])
        assert client.server_info()["heap"].current_size == 1
        client.reset("heap")
        assert client.server_info()["heap"].current_size == 0


def test_a_missing_table_is_named_with_those_there_are() -> None:
    with _server() as server:
        client = server.localhost_client()
        with pytest.raises(
            reverb.errors.NotFoundError, match=r"No table 'nope'.*\['uniform'\]"
        ):
            client.insert(1, {"nope": 1.0})
        with pytest.raises(ValueError, match="priorities must contain"):
            client.insert(1, {})


def test_an_address_without_a_server_says_so() -> None:
    client = reverb.Client("localhost:1", connect_timeout=1)
    with pytest.raises(
        reverb.errors.UnavailableError, match="No Reverb server answers at localhost:1"
    ):
        client.server_info()
    assert pickle.loads(pickle.dumps(client)).server_address == "localhost:1"


def test_server_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="At least one table"):
        reverb.Server([])
    table = reverb.Table.queue("q", 1)
    with pytest.raises(ValueError, match="same name: q"):
        reverb.Server([table, reverb.Table.queue("q", 2)])


def test_sample_timeout_and_stop_unblock_waiting_clients() -> None:
    server = reverb.Server([reverb.Table.queue("q", 2)])
    client = reverb.Client(f"localhost:{server.port}")
    with pytest.raises(reverb.DeadlineExceededError):
        next(client.sample("q", timeout=0.05))
    caught: list[BaseException] = []

    def sample() -> None:
        try:
            next(client.sample("q"))
        except BaseException as e:
            caught.append(e)

    thread = threading.Thread(target=sample)
    thread.start()
    thread.join(0.05)
    server.stop()
    thread.join(30.0)
    assert len(caught) == 1 and isinstance(caught[0], reverb.errors.CancelledError)
    with pytest.raises(reverb.errors.UnavailableError):
        reverb.Client(f"localhost:{server.port}", connect_timeout=1).server_info()
