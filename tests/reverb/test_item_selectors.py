"""Selectors pick what Reverb's do, at the rates they should (fixed seeds)."""

from __future__ import annotations

import collections

import pytest

from policylib.reverb import item_selectors as sel


def _counts(selector: sel.ItemSelector, draws: int) -> collections.Counter[int]:
    return collections.Counter(selector.sample()[0] for _ in range(draws))


def test_uniform_draws_every_item_about_equally_often() -> None:
    selector = sel.Uniform(seed=1)
    for key in range(10):
        selector.insert(key, priority=float(key))  # Priorities are ignored.
    counts = _counts(selector, 20_000)
    assert set(counts) == set(range(10))
    for key in range(10):
        assert abs(counts[key] - 2_000) < 200, counts
    assert selector.sample()[1] == pytest.approx(0.1)


def test_uniform_swap_remove_keeps_the_remaining_keys() -> None:
    selector = sel.Uniform(seed=0)
    for key in range(5):
        selector.insert(key, 1.0)
    selector.delete(0)
    selector.delete(3)
    assert len(selector) == 3
    assert set(_counts(selector, 300)) == {1, 2, 4}
    with pytest.raises(KeyError, match="Key 3 not found"):
        selector.delete(3)
    with pytest.raises(ValueError, match="already inserted"):
        selector.insert(1, 1.0)


def test_prioritized_draws_in_proportion_to_priority_to_the_exponent() -> None:
    selector = sel.Prioritized(priority_exponent=0.5, seed=3)
    priorities = {0: 1.0, 1: 4.0, 2: 9.0, 3: 0.0}  # Weights 1, 2, 3, 0.
    for key, priority in priorities.items():
        selector.insert(key, priority)
    counts = _counts(selector, 30_000)
    assert counts[3] == 0
    for key, share in ((0, 1 / 6), (1, 2 / 6), (2, 3 / 6)):
        assert abs(counts[key] / 30_000 - share) < 0.02, counts
    probabilities = dict(selector.sample() for _ in range(200))
    assert probabilities[2] == pytest.approx(0.5)


def test_prioritized_updates_and_deletes_move_the_weights() -> None:
    selector = sel.Prioritized(priority_exponent=1.0, seed=0)
    for key in range(2000):  # Past the initial capacity: the tree grows.
        selector.insert(key, 1.0)
    for key in range(1, 2000):
        selector.delete(key)
    selector.insert(7, 3.0)
    selector.update(0, 1.0)
    counts = _counts(selector, 8_000)
    assert set(counts) == {0, 7}
    assert abs(counts[7] / 8_000 - 0.75) < 0.03


def test_prioritized_all_zero_priorities_draw_uniformly() -> None:
    selector = sel.Prioritized(priority_exponent=1.0, seed=0)
    for key in range(4):
        selector.insert(key, 0.0)
    counts = _counts(selector, 4_000)
    assert all(abs(counts[key] - 1_000) < 150 for key in range(4)), counts
    assert selector.sample()[1] == pytest.approx(0.25)


def test_prioritized_refuses_negative_and_nan_priorities() -> None:
    selector = sel.Prioritized(priority_exponent=1.0)
    with pytest.raises(ValueError, match="negative"):
        selector.insert(0, -1.0)
    with pytest.raises(ValueError, match="NaN"):
        selector.insert(0, float("nan"))


def test_fifo_and_lifo_follow_insertion_order() -> None:
    fifo, lifo = sel.Fifo(), sel.Lifo()
    for key in (5, 3, 9):
        fifo.insert(key, 100.0 - key)
        lifo.insert(key, 100.0 - key)
    assert fifo.sample() == (5, 1.0)
    assert lifo.sample() == (9, 1.0)
    fifo.delete(5)
    lifo.delete(9)
    assert fifo.sample()[0] == 3
    assert lifo.sample()[0] == 3


def test_heaps_pick_the_extreme_priority_oldest_first_on_ties() -> None:
    max_heap, min_heap = sel.MaxHeap(), sel.MinHeap()
    for key, priority in [(1, 2.0), (2, 7.0), (3, 7.0), (4, -1.0), (5, 3.0)]:
        max_heap.insert(key, priority)
        min_heap.insert(key, priority)
    assert max_heap.sample() == (2, 1.0)
    assert min_heap.sample()[0] == 4
    max_heap.delete(2)
    assert max_heap.sample()[0] == 3
    max_heap.update(1, 10.0)
    min_heap.update(4, 10.0)
    assert max_heap.sample()[0] == 1
    assert min_heap.sample()[0] == 1
    order = []
    while len(max_heap):
        key = max_heap.sample()[0]
        order.append(key)
        max_heap.delete(key)
    assert order == [1, 3, 5, 4]


def test_options_rebuild_an_equal_empty_selector() -> None:
    for selector in (
        sel.Uniform(),
        sel.Prioritized(0.6),
        sel.Fifo(),
        sel.Lifo(),
        sel.MaxHeap(),
        sel.MinHeap(),
    ):
        selector.insert(1, 1.0)
        rebuilt = sel.selector_from_options(selector.options())
        assert type(rebuilt) is type(selector)
        assert rebuilt.options() == selector.options()
        assert len(rebuilt) == 0
    assert repr(sel.Prioritized(0.6)) == "Prioritized(priority_exponent=0.6)"


@pytest.mark.parametrize(
    "make", [sel.Uniform, sel.Prioritized], ids=["uniform", "prio"]
)
def test_sample_many_draws_what_repeated_samples_draw(make) -> None:
    def filled() -> sel.ItemSelector:
        selector = make(seed=5) if make is sel.Uniform else make(1.0, seed=5)
        for key in range(1, 30):
            selector.insert(key, float(key))
        return selector

    one_by_one = filled()
    assert filled().sample_many(40) == [one_by_one.sample() for _ in range(40)]
