"""Tables: eviction, max_times_sampled, signatures, priorities, info and reset."""

from __future__ import annotations

import collections

import numpy as np
import pytest

from policylib import reverb
from policylib.reverb import rate_limiters
from policylib.reverb import selectors as sel
from policylib.reverb.table import Item
from policylib.specs import array_spec


def _item(key: int, priority: float = 1.0, episode: int = 0) -> Item:
    return Item(key, priority, [np.array([key], np.int64)], (episode,))


def _table(
    sampler: sel.ItemSelector, remover: sel.ItemSelector, **kwargs: object
) -> reverb.Table:
    args: dict = dict(max_size=3, rate_limiter=rate_limiters.MinSize(1))
    args.update(kwargs)
    return reverb.Table("t", sampler, remover, **args)


def _keys(table: reverb.Table) -> set[int]:
    return {item.key for item in table.checkpoint_state().items}


def test_the_remover_picks_what_goes_when_the_table_is_full() -> None:
    fifo = _table(sel.Uniform(seed=0), sel.Fifo())
    lifo = _table(sel.Uniform(seed=0), sel.Lifo())
    min_heap = _table(sel.Uniform(seed=0), sel.MinHeap())
    for key, priority in [(1, 5.0), (2, 1.0), (3, 9.0), (4, 7.0)]:
        for table in (fifo, lifo, min_heap):
            table.insert_or_assign(_item(key, priority))
    assert _keys(fifo) == {2, 3, 4}
    # As in Reverb the new item is inserted first, so a Lifo remover evicts it.
    assert _keys(lifo) == {1, 2, 3}
    assert _keys(min_heap) == {1, 3, 4}
    assert fifo.info.current_size == 3
    assert fifo.info.rate_limiter_info.delete_count == 1


def test_items_go_after_max_times_sampled() -> None:
    table = _table(sel.Fifo(), sel.Fifo(), max_times_sampled=2)
    table.insert_or_assign(_item(1))
    table.insert_or_assign(_item(2))
    infos = [table.sample(timeout=1.0).info for _ in range(3)]
    assert [(i.key, i.times_sampled) for i in infos] == [(1, 1), (1, 2), (2, 1)]
    assert _keys(table) == {2}
    assert table.info.num_unique_samples == 2


def test_sample_info_reports_probability_size_and_priority() -> None:
    table = _table(sel.Prioritized(1.0, seed=0), sel.Fifo(), max_size=10)
    table.insert_or_assign(_item(1, 1.0))
    table.insert_or_assign(_item(2, 3.0))
    seen = {}
    for _ in range(50):
        info = table.sample(timeout=1.0).info
        seen[info.key] = info
    assert seen[2].probability == pytest.approx(0.75)
    assert seen[1].probability == pytest.approx(0.25)
    assert seen[2].table_size == 2 and seen[2].priority == 3.0


def test_mutate_items_deletes_then_updates_and_ignores_unknown_keys() -> None:
    table = _table(sel.MaxHeap(), sel.Fifo(), max_size=10)
    for key in (1, 2, 3):
        table.insert_or_assign(_item(key, float(key)))
    table.mutate_items(updates={1: 10.0, 99: 1.0}, deletes=[3, 98])
    assert _keys(table) == {1, 2}
    assert table.sample(timeout=1.0).info.key == 1
    with pytest.raises(ValueError, match="priority"):
        _table(sel.Prioritized(1.0), sel.Fifo()).mutate_items(updates={1: -1.0})


def test_inserting_an_existing_key_updates_its_priority() -> None:
    table = _table(sel.MaxHeap(), sel.Fifo(), max_size=10)
    table.insert_or_assign(_item(1, 1.0))
    table.insert_or_assign(_item(2, 2.0))
    table.insert_or_assign(_item(1, 5.0))
    assert table.info.current_size == 2
    assert table.info.rate_limiter_info.insert_count == 2
    assert table.sample(timeout=1.0).info.key == 1


def test_info_counts_episodes_and_reset_clears_everything() -> None:
    table = _table(sel.Fifo(), sel.Fifo(), max_size=2)
    table.insert_or_assign(_item(1, episode=7))
    table.insert_or_assign(_item(2, episode=7))
    table.insert_or_assign(_item(3, episode=8))  # Evicts 1; episode 7 stays.
    assert (table.info.num_episodes, table.info.num_deleted_episodes) == (2, 0)
    table.insert_or_assign(_item(4, episode=8))  # Evicts 2: episode 7 is gone.
    assert (table.info.num_episodes, table.info.num_deleted_episodes) == (1, 1)
    table.sample(timeout=1.0)
    table.reset()
    info = table.info
    assert (info.current_size, info.num_episodes, info.num_unique_samples) == (0, 0, 0)
    assert (
        info.rate_limiter_info.insert_count == info.rate_limiter_info.sample_count == 0
    )


def test_signature_mismatch_names_the_leaf_and_both_specs() -> None:
    signature = {
        "obs": array_spec.ArraySpec((2, 3), np.float32),
        "action": array_spec.ArraySpec((2,), np.int64),
    }
    table = _table(sel.Fifo(), sel.Fifo(), signature=signature)
    good = [np.zeros((2,), np.int64), np.zeros((2, 3), np.float32)]  # action, obs
    table.insert_or_assign(Item(1, 1.0, good))
    with pytest.raises(
        ValueError, match=r"at obs: got dtype=float64, shape=\(2, 3\).*ArraySpec"
    ):
        table.insert_or_assign(Item(2, 1.0, [good[0], np.zeros((2, 3))]))
    with pytest.raises(ValueError, match=r"at action: .*shape=\(3,\)"):
        table.insert_or_assign(Item(2, 1.0, [np.zeros((3,), np.int64), good[1]]))
    with pytest.raises(
        ValueError, match="has 1 columns but the table's signature has 2"
    ):
        table.insert_or_assign(Item(2, 1.0, [good[0]]))


def test_signature_accepts_tensor_specs_with_unknown_dims() -> None:
    tf = pytest.importorskip("tensorflow")
    table = _table(
        sel.Fifo(), sel.Fifo(), signature=tf.TensorSpec([None, 2], tf.float32, "x")
    )
    table.insert_or_assign(Item(1, 1.0, [np.zeros((5, 2), np.float32)]))
    with pytest.raises(ValueError, match="TensorSpec"):
        table.insert_or_assign(Item(2, 1.0, [np.zeros((5, 3), np.float32)]))


def test_extensions_are_refused_by_name() -> None:
    with pytest.raises(NotImplementedError, match="extensions are not supported"):
        _table(sel.Fifo(), sel.Fifo(), extensions=[object()])


def test_bad_constructor_arguments() -> None:
    with pytest.raises(TypeError, match="sampler"):
        _table("uniform", sel.Fifo())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="max_size"):
        _table(sel.Fifo(), sel.Fifo(), max_size=0)


def test_queue_and_stack_tables() -> None:
    queue = reverb.Table.queue("q", 10)
    stack = reverb.Table.stack("s", 10)
    for key in (1, 2, 3):
        queue.insert_or_assign(_item(key))
        stack.insert_or_assign(_item(key))
    assert [queue.sample(timeout=1.0).info.key for _ in range(3)] == [1, 2, 3]
    assert [stack.sample(timeout=1.0).info.key for _ in range(3)] == [3, 2, 1]
    assert queue.info.max_times_sampled == 1
    replaced = queue.replace(name="q2", max_size=4)
    assert (replaced.name, replaced.info.max_size, replaced.info.current_size) == (
        "q2",
        4,
        0,
    )
    assert replaced.info.sampler_options == {"kind": "fifo"}


def test_sampled_data_cannot_be_modified_in_place() -> None:
    table = _table(sel.Fifo(), sel.Fifo())
    table.insert_or_assign(_item(1))
    column = table.sample(timeout=1.0).columns[0]
    with pytest.raises(ValueError, match="read-only"):
        column[0] = 5


def test_prioritized_table_samples_by_priority() -> None:
    table = _table(sel.Prioritized(1.0, seed=5), sel.Fifo(), max_size=10)
    table.insert_or_assign(_item(1, 1.0))
    table.insert_or_assign(_item(2, 4.0))
    counts = collections.Counter(
        table.sample(timeout=1.0).info.key for _ in range(5000)
    )
    assert abs(counts[2] / 5000 - 0.8) < 0.03
