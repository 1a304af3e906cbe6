"""TrajectoryWriter: history slicing, item columns, partial steps, flush blocking."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import pytest
import tree

from policylib import reverb
from policylib.reverb import service as service_lib
from policylib.reverb import trajectory_writer
from policylib.reverb.items import Item


def _server(max_size: int = 100) -> reverb.Server:
    return reverb.Server(
        [
            reverb.Table(
                "t",
                reverb.selectors.Fifo(),
                reverb.selectors.Fifo(),
                max_size=max_size,
                rate_limiter=reverb.rate_limiters.MinSize(1),
                max_times_sampled=1,
            ),
            reverb.Table.queue("q", 2),
        ]
    )


def _samples(client: reverb.Client, table: str, n: int) -> list[reverb.ReplaySample]:
    return [s for s in client.sample(table, n, emit_timesteps=False)]  # type: ignore[misc]


def test_items_stack_slices_of_the_history() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.trajectory_writer(num_keep_alive_refs=3) as writer:
            for step in range(5):
                refs = writer.append(
                    {"obs": np.full(2, step, np.float32), "r": np.int32(step)}
                )
                assert refs["obs"].numpy().tolist() == [step, step]
                if writer.episode_steps >= 3:
                    writer.create_item(
                        "t",
                        priority=1.0,
                        trajectory={
                            "obs": writer.history["obs"][-3:],
                            "last_r": writer.history["r"][-1],
                            "ends": writer.history["r"][[0, 2]],
                        },
                    )
        items = _samples(client, "t", 3)
        first: Any = items[0].data  # Flattened: ends, last_r, obs.
        assert first[0].tolist() == [0, 2]
        assert first[1].shape == () and int(first[1]) == 2
        assert first[2].shape == (3, 2) and first[2][:, 0].tolist() == [0, 1, 2]
        assert [int(s.data[1]) for s in items] == [2, 3, 4]  # type: ignore[index]
        info = client.server_info()["t"]
        assert (info.num_episodes, info.num_deleted_episodes) == (
            0,
            1,
        )  # All sampled away.


def test_expired_refs_and_bad_leaves_are_refused() -> None:
    with _server() as server:
        writer = server.localhost_client().trajectory_writer(num_keep_alive_refs=2)
        writer.append({"x": np.float32(0)})
        old = writer.history["x"][0]
        writer.append({"x": np.float32(1)})
        writer.append({"x": np.float32(2)})
        with pytest.raises(ValueError, match="expired"):
            writer.create_item("t", 1.0, {"x": old})
        with pytest.raises(TypeError, match="TrajectoryColumn"):
            writer.create_item("t", 1.0, {"x": np.zeros(1)})
        with pytest.raises(
            ValueError, match=r"wrong dtype/shape provided for column x"
        ):
            writer.append({"x": np.zeros(2, np.float32)})
        with pytest.raises(reverb.errors.NotFoundError, match="No table 'nope'"):
            writer.create_item("nope", 1.0, {"x": writer.history["x"][-1:]})
        writer.end_episode()
        assert writer.episode_steps == 0 and len(writer.history["x"]) == 0
        with pytest.raises(ValueError, match="expired"):
            writer.create_item("t", 1.0, {"x": old})
        writer.close()


def test_partial_steps_and_new_fields_share_one_step() -> None:
    with _server() as server:
        client = server.localhost_client()
        with client.trajectory_writer(num_keep_alive_refs=4) as writer:
            writer.append({"obs": np.int64(0)})
            writer.append({"obs": np.int64(1)}, partial_step=True)
            assert writer.episode_steps == 1
            with pytest.raises(ValueError, match="already been set"):
                writer.append({"obs": np.int64(9)})
            writer.append({"action": np.int64(10)})
            assert writer.episode_steps == 2
            history = writer.history
            assert [ref is None for ref in history["action"]] == [True, False]
            writer.create_item(
                "t", 1.0, {"obs": history["obs"][-1], "action": history["action"][-1]}
            )
        data: Any = _samples(client, "t", 1)[0].data
        assert [int(x) for x in data] == [10, 1]  # action, obs


def test_flush_waits_for_the_rate_limiter_and_times_out() -> None:
    with _server() as server:
        client = server.localhost_client()
        writer = client.trajectory_writer(num_keep_alive_refs=1)
        for step in range(3):  # The queue takes 2; the third waits.
            writer.append(np.int64(step))
            writer.create_item("q", 1.0, writer.history[-1:])
        with pytest.raises(reverb.DeadlineExceededError, match="Flush"):
            writer.flush(timeout_ms=50)
        writer.flush(block_until_num_items=1, timeout_ms=50)
        sampled = threading.Thread(target=lambda: next(client.sample("q")))
        sampled.start()
        writer.flush(timeout_ms=30_000)  # The sample made room for the third.
        sampled.join(30.0)
        assert client.server_info()["q"].current_size == 2
        with pytest.raises(reverb.DeadlineExceededError, match="End episode"):
            writer.append(np.int64(3))
            writer.create_item("q", 1.0, writer.history[-1:])
            writer.end_episode(timeout_ms=50)
        assert writer.episode_steps == 0
        writer.close()


def test_validate_items_checks_the_signature_on_create() -> None:
    table = reverb.Table(
        "sig",
        reverb.selectors.Fifo(),
        reverb.selectors.Fifo(),
        10,
        reverb.rate_limiters.MinSize(1),
        signature={"x": reverb_spec((2,), np.float32)},
    )
    with reverb.Server([table]) as server:
        writer = server.localhost_client().trajectory_writer(2)
        writer.append({"x": np.float64(1.0)})
        writer.append({"x": np.float64(2.0)})
        with pytest.raises(ValueError, match="at x: got dtype=float64"):
            writer.create_item("sig", 1.0, {"x": writer.history["x"][-2:]})
        writer.close()


def reverb_spec(shape: tuple[int, ...], dtype: type) -> object:
    from policylib.specs import array_spec

    return array_spec.ArraySpec(shape, dtype)


def test_created_items_reach_a_waiting_sampler_without_flush() -> None:
    with reverb.Server([reverb.Table.queue("q", 1)]) as server:
        client = server.localhost_client()
        got: list[int] = []

        def consume() -> None:
            for sample in client.sample("q", 3, timeout=30.0):
                got.append(int(sample[0].data[0]))  # type: ignore[index, union-attr]

        consumer = threading.Thread(target=consume)
        consumer.start()
        writer = client.trajectory_writer(num_keep_alive_refs=1)
        for step in range(3):  # Two of them wait in the writer's sender.
            writer.append(np.int64(step))
            writer.create_item("q", 1.0, writer.history[-1:])
        consumer.join(60.0)
        assert got == [0, 1, 2]
        writer.close()


class _Pair(NamedTuple):
    b: object
    a: object


@pytest.mark.parametrize(
    "template",
    [
        None,
        {"z": None, "a": [None, (None, None)], "m": ()},
        _Pair(b={"y": None, "x": None}, a=[]),
        [(), _Pair(None, None), {"k": None}],
    ],
)
def test_structure_builder_matches_unflatten_as(template: object) -> None:
    leaves = list(range(len(tree.flatten(template))))
    built = trajectory_writer.structure_builder(template)(leaves)
    expected = tree.unflatten_as(template, leaves)
    assert built == expected and type(built) is type(expected)
    if isinstance(expected, dict):
        assert list(built) == list(expected)  # type: ignore[call-overload]


def test_append_checks_every_leaf_before_changing_any_column() -> None:
    with _server() as server:
        writer = server.localhost_client().trajectory_writer(num_keep_alive_refs=3)
        writer.append({"a": np.float32(0), "b": np.int32(0)})
        with pytest.raises(ValueError, match="column b"):
            writer.append({"a": np.float32(1), "b": np.float64(1)})
        assert [len(writer.history[k]) for k in ("a", "b")] == [1, 1]
        refs = writer.append({"a": np.float32(2), "b": np.int32(2)})
        assert sorted(refs) == ["a", "b"] and float(refs["a"].numpy()) == 2.0
        writer.close()


class _BatchTransport:
    """A transport with `insert_batch`, as a remote server's: records batch sizes."""

    def __init__(self, service: service_lib.ReplayService) -> None:
        self.service = service
        self.batches: list[int] = []
        self.try_inserts = 0

    @property
    def address(self) -> str:
        return "fake"

    def insert(self, table: str, item: Item, timeout: float | None = None) -> None:
        self.service.insert(table, item, timeout)

    def try_insert(self, table: str, item: Item) -> bool:
        self.try_inserts += 1
        return self.service.try_insert(table, item)

    def insert_batch(
        self, items: Sequence[tuple[str, Item]], timeout: float | None = None
    ) -> int:
        self.batches.append(len(items))
        for table, item in items:  # Every item is checked before any goes in.
            self.service.table(table).check_item(item)
        for done, (table, item) in enumerate(items):
            try:
                self.service.insert(table, item, timeout)
            except reverb.DeadlineExceededError:
                return done
        return len(items)

    def signature(self, table: str) -> object:
        return self.service.signature(table)


def test_a_remote_sender_drains_its_queue_in_batches_and_resumes() -> None:
    with reverb.Server([reverb.Table.queue("q", 2)]) as server:
        client = server.localhost_client()
        transport = _BatchTransport(server.service)
        writer = trajectory_writer.TrajectoryWriter(transport, 1)  # type: ignore[arg-type]
        for step in range(6):
            writer.append(np.int64(step))
            writer.create_item("q", 1.0, writer.history[-1:])
        with pytest.raises(reverb.DeadlineExceededError, match="Flush"):
            writer.flush(timeout_ms=100)  # The queue holds 2; 4 wait.
        got = [int(s[0].data[0]) for s in client.sample("q", 6, timeout=30.0)]  # type: ignore[index, union-attr]
        writer.flush(timeout_ms=30_000)
        assert got == [0, 1, 2, 3, 4, 5]
        assert transport.try_inserts == 0  # Remote: every item goes via the queue.
        assert max(transport.batches) > 1  # Queued items went in together.
        writer.close()


def test_a_refused_batch_is_sent_item_by_item_and_the_error_surfaces() -> None:
    table = reverb.Table(
        "sig",
        reverb.selectors.Fifo(),
        reverb.selectors.Fifo(),
        10,
        reverb.rate_limiters.MinSize(1),
        signature=reverb_spec((1,), np.int64),
    )
    with reverb.Server([table]) as server:
        transport = _BatchTransport(server.service)
        writer = trajectory_writer.TrajectoryWriter(
            transport,  # type: ignore[arg-type]
            1,
            validate_items=False,
        )
        for value in (np.int64(0), np.float32(1), np.int64(2)):
            writer.end_episode()  # A new dtype needs a fresh column: new writer.
            writer = trajectory_writer.TrajectoryWriter(
                transport,  # type: ignore[arg-type]
                1,
                validate_items=False,
            )
            writer.append(value)
            writer.create_item("sig", 1.0, writer.history[-1:])
            try:
                writer.flush(timeout_ms=30_000)
            except ValueError as error:
                assert "does not match the table's signature" in str(error)
                assert value.dtype == np.float32
        assert table.size() == 2
