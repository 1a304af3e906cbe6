"""Checkpoints: a server restarted from one has every item, priority and count."""

from __future__ import annotations

import os
from unittest import mock

import numpy as np
import pytest

from policylib import reverb
from policylib.reverb import checkpointers


def _tables() -> list[reverb.Table]:
    return [
        reverb.Table(
            "prio",
            reverb.selectors.Prioritized(0.8),
            reverb.selectors.Fifo(),
            max_size=50,
            rate_limiter=reverb.rate_limiters.SampleToInsertRatio(2.0, 3, 100.0),
            max_times_sampled=5,
        ),
        reverb.Table.queue("queue", 10),
    ]


def _fill(client: reverb.Client) -> None:
    with client.trajectory_writer(2) as writer:
        for step in range(6):
            writer.append({"obs": np.full(3, step, np.float32), "id": np.int64(step)})
            if writer.episode_steps >= 2:
                writer.create_item(
                    "prio",
                    float(step),
                    {"obs": writer.history["obs"][-2:], "id": writer.history["id"][-1]},
                )
    client.insert({"mixed": np.arange(4)}, {"queue": 1.0})
    client.insert({"mixed": np.arange(2)}, {"queue": 1.0})  # Other shape: not stacked.
    list(client.sample("prio", 3, emit_timesteps=False))


def _state(server: reverb.Server) -> dict:
    out = {}
    for name, table in server.service.tables.items():
        state = table.checkpoint_state()
        items = {
            i.key: (
                i.priority,
                i.times_sampled,
                i.episode_ids,
                [c.tolist() for c in i.columns],
            )
            for i in state.items
        }
        out[name] = (state.inserts, state.samples, state.deletes, state.sampler, items)
    return out


def test_round_trip_restores_items_priorities_and_counts(tmp_path) -> None:
    checkpointer = checkpointers.DefaultCheckpointer(str(tmp_path))
    with reverb.Server(_tables(), checkpointer=checkpointer) as server:
        assert server.restored_from is None
        client = server.localhost_client()
        _fill(client)
        before = _state(server)
        info_before = client.server_info()
        path = client.checkpoint()
    assert os.path.dirname(path) == str(tmp_path)
    restarted = reverb.Server(
        _tables(), checkpointer=checkpointers.DefaultCheckpointer(str(tmp_path))
    )
    with restarted:
        assert restarted.restored_from == path
        assert _state(restarted) == before
        info = restarted.localhost_client().server_info()
        assert info["prio"].num_episodes == info_before["prio"].num_episodes
        assert info["prio"].num_unique_samples == info_before["prio"].num_unique_samples
        # The queue still serves its items in order.
        queue = restarted.localhost_client().sample("queue", 2)
        assert [len(s[0].data[0]) for s in queue] == [4, 2]  # type: ignore[index]


def test_a_failed_checkpoint_leaves_the_previous_one(tmp_path) -> None:
    checkpointer = checkpointers.DefaultCheckpointer(str(tmp_path))
    with reverb.Server(_tables(), checkpointer=checkpointer) as server:
        client = server.localhost_client()
        _fill(client)
        first = client.checkpoint()
        client.reset("prio")
        with mock.patch.object(
            checkpointers.np, "savez", side_effect=OSError("disk full")
        ):
            with pytest.raises(OSError, match="disk full"):
                client.checkpoint()
        assert checkpointer.checkpoints() == [first]
        assert not [n for n in os.listdir(tmp_path) if n.startswith(".")]
        second = client.checkpoint()
        assert checkpointer.checkpoints() == [second]  # keep_latest=1
    latest = checkpointer.load_latest()
    assert latest is not None and latest[0] == second
    assert {s.name: len(s.items) for s in latest[1]} == {"prio": 0, "queue": 2}


def test_fallback_checkpoint_and_unknown_tables(tmp_path) -> None:
    source = checkpointers.DefaultCheckpointer(str(tmp_path / "a"))
    with reverb.Server(_tables(), checkpointer=source) as server:
        _fill(server.localhost_client())
        path = server.localhost_client().checkpoint()
    fresh = checkpointers.DefaultCheckpointer(
        str(tmp_path / "b"), fallback_checkpoint_path=path
    )
    with reverb.Server([reverb.Table.queue("queue", 10)], checkpointer=fresh) as server:
        assert server.restored_from == path
        assert server.localhost_client().server_info()["queue"].current_size == 2


def test_default_checkpointer_writes_to_a_temporary_directory() -> None:
    with reverb.Server([reverb.Table.queue("q", 3)]) as server:
        path = server.localhost_client().checkpoint()
    assert os.path.isfile(os.path.join(path, "tables.json"))
    import shutil

    shutil.rmtree(os.path.dirname(path))
