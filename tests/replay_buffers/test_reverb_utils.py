"""Reverb observers: items written, windows, stride, padding, tiling, episodes, errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from policylib import reverb
from policylib.replay_buffers import reverb_utils
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory as trajectory_lib

TABLE = "t"


def _step(kind: str, obs: int) -> trajectory_lib.Trajectory:
    """One unbatched step with observation `obs` (float32[2]) and action `obs`."""
    build = {
        "first": trajectory_lib.first,
        "mid": trajectory_lib.mid,
        "last": trajectory_lib.last,
        "boundary": trajectory_lib.boundary,
    }[kind]
    return build(
        np.full(2, obs, np.float32),
        np.int64(obs),
        (),
        np.float32(obs),
        np.float32(1.0),
    )


def _episode(start: int, length: int) -> list[trajectory_lib.Trajectory]:
    """`length` steps (first, mids, last) then the boundary step; obs count up."""
    kinds = ["first"] + ["mid"] * (length - 2) + ["last", "boundary"]
    return [_step(kind, start + i) for i, kind in enumerate(kinds)]


def _server(*names: str, signature: object = None) -> reverb.Server:
    tables = [
        reverb.Table(
            name,
            reverb.selectors.Fifo(),
            reverb.selectors.Fifo(),
            max_size=1000,
            rate_limiter=reverb.rate_limiters.MinSize(1),
            max_times_sampled=1,
            signature=signature,
        )
        for name in names or (TABLE,)
    ]
    return reverb.Server(tables)


def _items(
    client: reverb.Client, table: str = TABLE
) -> list[trajectory_lib.Trajectory]:
    """Every item of `table`, oldest first, as `Trajectory`s of stacked steps."""
    count = client.server_info()[table].current_size
    if not count:
        return []
    samples = client.sample(table, count, emit_timesteps=False)
    return [trajectory_lib.Trajectory(*_unflat(s.data)) for s in samples]  # type: ignore[union-attr]


def _unflat(columns: Any) -> list[Any]:
    # Trajectory leaves in flattening order; policy_info () has none.
    step_type, obs, action, next_step_type, reward, discount = columns
    return [step_type, obs, action, (), next_step_type, reward, discount]


def _obs(items: list[trajectory_lib.Trajectory]) -> list[list[int]]:
    return [item.observation[:, 0].astype(int).tolist() for item in items]


def test_windows_of_sequence_length_with_stride() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(
            client, TABLE, sequence_length=2
        )
        for step in _episode(0, 4):
            observer(step)
        observer.flush()
        # Windows inside the episode, the boundary step ending the last one.
        assert _obs(_items(client)) == [[0, 1], [1, 2], [2, 3], [3, 4]]
        strided = reverb_utils.ReverbAddTrajectoryObserver(
            client, TABLE, sequence_length=2, stride_length=2
        )
        for step in _episode(10, 4) + _episode(20, 2):
            strided(step)
        strided.close()
        assert _obs(_items(client)) == [[10, 11], [12, 13], [20, 21]]
        observer.close()


def test_items_keep_dtypes_and_stack_time_first() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 3)
        for step in _episode(0, 3):
            observer(step)
        observer.close()
        (item,) = _items(client)[:1]
        assert item.observation.shape == (3, 2) and item.observation.dtype == np.float32
        assert item.action.dtype == np.int64 and item.action.tolist() == [0, 1, 2]
        assert item.step_type.tolist() == [ts.StepType.FIRST, 1, 1]
        assert item.next_step_type.tolist() == [1, 1, ts.StepType.LAST]


def test_padding_with_and_without_tiling() -> None:
    with _server() as server:
        client = server.localhost_client()
        tiled = reverb_utils.ReverbAddTrajectoryObserver(
            client, TABLE, 4, pad_end_of_episodes=True, tile_end_of_episodes=True
        )
        for step in _episode(1, 2):  # F L B, then 3 zero boundary steps.
            tiled(step)
        tiled.close()
        items = _items(client)
        assert _obs(items) == [[1, 2, 3, 0], [2, 3, 0, 0], [3, 0, 0, 0]]
        padding = items[-1]
        assert padding.step_type.dtype == _step("first", 0).step_type.dtype
        assert padding.step_type.tolist() == [ts.StepType.LAST] * 4
        assert padding.next_step_type.tolist() == [ts.StepType.FIRST] * 4
        assert padding.discount.tolist() == [1.0, 0.0, 0.0, 0.0]

        single = reverb_utils.ReverbAddTrajectoryObserver(
            client, TABLE, 4, pad_end_of_episodes=True
        )
        for step in _episode(1, 2):  # Only enough padding for one window.
            single(step)
        single.close()
        assert _obs(_items(client)) == [[1, 2, 3, 0]]


def test_short_episodes_are_dropped_without_padding() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 4)
        for step in _episode(0, 2) + _episode(10, 3):
            observer(step)
        observer.close()
        assert _obs(_items(client)) == [[10, 11, 12, 13]]


def test_sequence_observer_windows_cross_boundaries() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbTrajectorySequenceObserver(
            client, TABLE, sequence_length=3, stride_length=3
        )
        for step in _episode(0, 2) + _episode(10, 2):
            observer(step)
        observer.close()
        assert _obs(_items(client)) == [[0, 1, 2], [10, 11, 12]]


def test_reset_writes_or_drops_the_cache() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 4)
        for step in _episode(0, 4)[:2]:
            observer(step)
        with pytest.raises(ValueError, match="fewer than sequence_length=4"):
            observer.reset(write_cached_steps=True)
        observer.reset(write_cached_steps=False)  # The raise kept the cache.
        for step in _episode(0, 4)[:2]:
            observer(step)
        observer.reset(write_cached_steps=False)
        assert observer._cached_steps == 0
        padded = reverb_utils.ReverbAddTrajectoryObserver(
            client, TABLE, 4, pad_end_of_episodes=True
        )
        for step in _episode(20, 4)[:3]:
            padded(step)
        padded.reset()  # Pads the three cached steps to one item.
        padded.close()
        observer.close()
        assert _obs(_items(client)) == [[20, 21, 22, 0]]


def test_multiple_tables_get_every_item() -> None:
    with _server("a", "b") as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, ["a", "b"], 2)
        for step in _episode(0, 3):
            observer(step)
        observer.close()
        assert (
            _obs(_items(client, "a"))
            == _obs(_items(client, "b"))
            == [
                [0, 1],
                [1, 2],
                [2, 3],
            ]
        )


def test_episode_observer_writes_whole_episodes() -> None:
    with _server() as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddEpisodeObserver(
            client, TABLE, max_sequence_length=5, priority=2
        )
        for step in _episode(0, 3) + _episode(10, 4) + _episode(20, 2)[:2]:
            observer(step)
        observer.flush()
        assert _obs(_items(client)) == [[0, 1, 2, 3], [10, 11, 12, 13, 14]]
        assert observer._cached_steps == 2  # The unfinished episode waits.
        observer.reset(write_cached_steps=True)
        observer.update_priority(3)
        observer.close()
        (item,) = client.sample(TABLE, 1, emit_timesteps=False)
        assert item.info.priority == 2.0  # type: ignore[union-attr]
        assert _unflat(item.data)[1][:, 0].tolist() == [20, 21]  # type: ignore[union-attr]


def test_episode_observer_bypasses_or_refuses_long_episodes() -> None:
    with _server() as server:
        client = server.localhost_client()
        bypass = reverb_utils.ReverbAddEpisodeObserver(
            client, TABLE, max_sequence_length=3, bypass_partial_episodes=True
        )
        for step in _episode(0, 2) + _episode(10, 4) + _episode(20, 2):
            bypass(step)
        bypass.close()
        assert _obs(_items(client)) == [[0, 1, 2], [20, 21, 22]]
        strict = reverb_utils.ReverbAddEpisodeObserver(
            client, TABLE, max_sequence_length=3
        )
        steps = _episode(0, 4)
        for step in steps[:3]:
            strict(step)
        with pytest.raises(ValueError, match="more than max_sequence_length=3"):
            strict(steps[3])
        strict.close()


def test_signature_is_checked_at_the_first_step_and_names_the_leaf() -> None:
    from policylib.specs import array_spec

    spec = trajectory_lib.Trajectory(
        step_type=array_spec.ArraySpec((2,), np.int32),
        observation=array_spec.ArraySpec((2, 3), np.float32),  # Steps have (2,).
        action=array_spec.ArraySpec((2,), np.int64),
        policy_info=(),
        next_step_type=array_spec.ArraySpec((2,), np.int32),
        reward=array_spec.ArraySpec((2,), np.float32),
        discount=array_spec.ArraySpec((2,), np.float32),
    )
    with _server(signature=spec) as server:
        client = server.localhost_client()
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 2)
        assert observer.get_table_signature() is spec
        with pytest.raises(ValueError, match=r"table 't' at observation: .*\(2,\)"):
            observer(_step("first", 0))
        with pytest.raises(ValueError, match="at observation"):  # Checked again.
            observer(_step("first", 0))
        wrong_length = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 3)
        with pytest.raises(ValueError, match=r"at step_type: .*, 3 per item"):
            wrong_length(_step("first", 0))
        missing = reverb_utils.ReverbAddTrajectoryObserver(client, "nope", 2)
        with pytest.raises(ValueError, match=r"No table 'nope'.*\['t'\]"):
            missing(_step("first", 0))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sequence_length": 0}, "sequence_length must be >= 1"),
        ({"sequence_length": 2, "stride_length": 0}, "stride_length must be >= 1"),
        ({"sequence_length": 2.5}, "sequence_length must be an integer"),
        ({"sequence_length": 2, "tile_end_of_episodes": True}, "pad_end_of_episodes"),
        ({"sequence_length": 2, "priority": "high"}, "priority must be a number"),
    ],
)
def test_bad_arguments_are_named(kwargs: dict, message: str) -> None:
    with _server() as server:
        with pytest.raises(ValueError, match=message):
            reverb_utils.ReverbAddTrajectoryObserver(
                server.localhost_client(), TABLE, **kwargs
            )


def test_episode_observer_arguments_and_batched_steps_are_refused() -> None:
    with _server() as server:
        client = server.localhost_client()
        with pytest.raises(ValueError, match="max_sequence_length must be >= 1"):
            reverb_utils.ReverbAddEpisodeObserver(client, TABLE, max_sequence_length=0)
        with pytest.raises(ValueError, match="table_name"):
            reverb_utils.ReverbAddEpisodeObserver(client, [], max_sequence_length=2)
        observer = reverb_utils.ReverbAddTrajectoryObserver(client, TABLE, 2)
        batched = trajectory_lib.first(
            np.zeros((2, 2), np.float32),
            np.zeros(2, np.int64),
            (),
            np.zeros(2, np.float32),
            np.ones(2, np.float32),
        )
        with pytest.raises(ValueError, match="batched"):
            observer(batched)
        with pytest.raises(TypeError, match="unbatched `Trajectory`"):
            observer([np.zeros(2)])  # type: ignore[arg-type]


class _CountingWriter:
    """A stand-in writer (as for another Reverb client) that counts calls."""

    def __init__(self) -> None:
        self.appends = 0
        self.items: list[tuple[str, object]] = []
        self.history = {"x": np.arange(10)}

    def append(self, data: object) -> None:
        self.appends += 1

    def create_item(self, table: str, trajectory: object, priority: float) -> None:
        self.items.append((table, trajectory))

    def end_episode(self) -> None:
        pass

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


class _CountingClient:
    def __init__(self) -> None:
        self.writers: list[_CountingWriter] = []

    def trajectory_writer(
        self, num_keep_alive_refs: int, validate_items: bool
    ) -> _CountingWriter:
        assert (num_keep_alive_refs, validate_items) == (5, False)
        self.writers.append(_CountingWriter())
        return self.writers[-1]


def test_other_clients_get_reverbs_calls() -> None:
    client = _CountingClient()
    observer = reverb_utils.ReverbAddTrajectoryObserver(
        client, "x", 4, pad_end_of_episodes=True, tile_end_of_episodes=True
    )
    for step in _episode(0, 4):  # 5 steps, 3 padding steps.
        observer(step)
    (writer,) = client.writers
    assert writer.appends == 8
    assert len(writer.items) == 5
    table, trajectory = writer.items[0]
    assert table == "x" and trajectory["x"].tolist() == [6, 7, 8, 9]  # type: ignore[index]
    observer.close()
    observer.open()  # A new writer after close.
    assert len(client.writers) == 2
