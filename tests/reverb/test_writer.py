"""The legacy `Client.writer`: items of the latest steps, errors, closing."""

from __future__ import annotations

from typing import cast

import numpy as np
import pytest

from policylib import reverb
from policylib.reverb import errors


def _server() -> reverb.Server:
    return reverb.Server(
        [
            reverb.Table.queue("queue", 100),
            reverb.Table.queue(
                "signed",
                100,
                signature={
                    "a": _Spec((None, 2), np.float32),
                    "b": _Spec((), np.int64),
                },
            ),
        ]
    )


class _Spec:
    """A minimal spec (shape and dtype), as signatures accept."""

    def __init__(self, shape: tuple[int | None, ...], dtype: type) -> None:
        self.shape = shape
        self.dtype = np.dtype(dtype)

    def __repr__(self) -> str:
        return f"_Spec({self.shape}, {self.dtype})"


def _queue_items(client: reverb.Client, count: int) -> list[list[np.ndarray]]:
    samples = client.sample("queue", count, emit_timesteps=False, timeout=5)
    return [cast(list, cast(reverb.ReplaySample, s).data) for s in samples]


def test_items_stack_the_last_steps_along_time() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.writer(3) as writer:
            for step in range(5):
                writer.append({"x": np.float32(step), "y": np.arange(2) + step})
                writer.create_item("queue", min(step + 1, 2), priority=1.0)
        items = _queue_items(client, 5)
        assert [item[0].tolist() for item in items] == [
            [0.0],
            [0.0, 1.0],
            [1.0, 2.0],
            [2.0, 3.0],
            [3.0, 4.0],
        ]
        np.testing.assert_array_equal(items[4][1], [[3, 4], [4, 5]])


def test_append_sequence_equals_appending_each_row() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.writer(2) as writer:
            writer.append_sequence([np.array([[1, 2, 3], [4, 5, 6]])])
            writer.create_item("queue", 1, 1.0)
            writer.create_item("queue", 2, 1.0)
        first, second = _queue_items(client, 2)
        np.testing.assert_array_equal(first[0], [[4, 5, 6]])
        np.testing.assert_array_equal(second[0], [[1, 2, 3], [4, 5, 6]])
        with client.writer(2) as writer:
            with pytest.raises(ValueError, match="scalar"):
                writer.append_sequence([np.int32(1)])
            with pytest.raises(ValueError, match="leading"):
                writer.append_sequence([np.zeros(2), np.zeros(3)])
            with pytest.raises(ValueError, match="empty"):
                writer.append_sequence([])


def test_create_item_errors_name_the_limit() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.writer(2) as writer:
            with pytest.raises(ValueError, match="appended timesteps"):
                writer.create_item("queue", 1, 1.0)
            for step in range(3):
                writer.append([np.int32(step)])
            with pytest.raises(ValueError, match="positive"):
                writer.create_item("queue", 0, 1.0)
            with pytest.raises(ValueError, match="max_sequence_length"):
                writer.create_item("queue", 3, 1.0)
            with pytest.raises(ValueError, match="larger"):
                writer.create_item("queue", 4, 1.0)
            with pytest.raises(ValueError, match="NaN"):
                writer.create_item("queue", 1, float("nan"))
            with pytest.raises(ValueError, match="inconsistent"):
                writer.append([np.int32(1), np.int32(2)])
            with pytest.raises(ValueError, match="wrong dtype/shape"):
                writer.append([np.float64(1.0)])
            with pytest.raises(errors.NotFoundError):
                writer.create_item("missing", 1, 1.0)
        assert client.server_info()["queue"].current_size == 0


def test_signature_fits_per_step_or_whole_item() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.writer(3) as writer:
            for step in range(3):
                writer.append({"a": np.ones(2, np.float32) * step, "b": np.int64(step)})
            with pytest.raises(ValueError, match="signed"):
                # A three-step item must fit as a whole: "b" is [3], not ().
                writer.create_item("signed", 3, 1.0)
        with client.writer(3) as writer:
            for step in range(3):
                writer.append({"a": np.ones(2, np.float32), "b": np.int64(step)})
                writer.create_item("signed", 1, 1.0)  # One step: fits by step.
        assert client.server_info()["signed"].current_size == 3


def test_close_flushes_and_a_closed_writer_refuses_calls() -> None:
    with _server() as server:
        client = server.localhost_client()
        writer = client.writer(1, chunk_length=1, max_in_flight_items=None)
        writer.append([np.int32(7)])
        writer.create_item("queue", 1, 1.0)
        writer.flush()
        writer.close()
        assert client.server_info()["queue"].current_size == 1
        with pytest.raises(ValueError, match="already been called"):
            writer.close()
        with pytest.raises(RuntimeError, match="after close"):
            writer.append([np.int32(1)])
        with pytest.raises(ValueError, match="closed Writer"):
            with writer:
                pass


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_sequence_length": 0}, "max_sequence_length"),
        ({"max_sequence_length": 2, "chunk_length": 3}, "chunk_length"),
        ({"max_sequence_length": 2, "max_in_flight_items": 0}, "max_in_flight"),
    ],
)
def test_writer_arguments_are_checked(kwargs: dict, match: str) -> None:
    with _server() as server:
        with pytest.raises(ValueError, match=match):
            server.localhost_client().writer(**kwargs)
