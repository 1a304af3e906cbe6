"""Rate limiters: Reverb's argument checks and its insert/sample blocking rules."""

from __future__ import annotations

import sys
import threading

import numpy as np
import pytest

from policylib import reverb
from policylib.reverb import rate_limiters
from policylib.reverb.table import Item


def _item(key: int) -> Item:
    return Item(key, 1.0, [np.array([key])])


def _table(limiter: rate_limiters.RateLimiter, max_size: int = 100) -> reverb.Table:
    return reverb.Table(
        "t", reverb.selectors.Fifo(), reverb.selectors.Fifo(), max_size, limiter
    )


def test_constructors_set_reverbs_numbers() -> None:
    min_size = rate_limiters.MinSize(3)
    assert min_size.config() == {
        "samples_per_insert": 1.0,
        "min_size_to_sample": 3,
        "min_diff": -sys.float_info.max,
        "max_diff": sys.float_info.max,
    }
    ratio = rate_limiters.SampleToInsertRatio(2.0, 10, error_buffer=5.0)
    assert (ratio.min_diff, ratio.max_diff) == (15.0, 25.0)
    ratio = rate_limiters.SampleToInsertRatio(2.0, 10, error_buffer=(1.0, 30.0))
    assert (ratio.min_diff, ratio.max_diff) == (1.0, 30.0)
    queue = rate_limiters.Queue(4)
    assert (queue.min_diff, queue.max_diff, queue.min_size_to_sample) == (0.0, 4.0, 1)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: rate_limiters.MinSize(0), "positive"),
        (lambda: rate_limiters.SampleToInsertRatio(0.0, 1, 10.0), "must be > 0"),
        (
            lambda: rate_limiters.SampleToInsertRatio(4.0, 1, 3.0),
            "error_buffer must be >=",
        ),
        (lambda: rate_limiters.SampleToInsertRatio(1.0, 10, (20.0, 30.0)), "deadlock"),
    ],
)
def test_bad_arguments_are_refused(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_min_size_blocks_samples_until_enough_items() -> None:
    table = _table(rate_limiters.MinSize(2))
    table.insert_or_assign(_item(1))
    assert not table.can_sample(1)
    with pytest.raises(reverb.DeadlineExceededError, match="sample on table 't'"):
        table.sample(timeout=0.05)
    table.insert_or_assign(_item(2))
    assert table.sample(timeout=1.0).info.key == 1


def test_sample_to_insert_ratio_blocks_inserts_past_max_diff() -> None:
    # samples_per_insert=1, min_size 2, diff must stay within [1, 3].
    table = _table(rate_limiters.SampleToInsertRatio(1.0, 2, error_buffer=1.0))
    for key in range(3):  # diff reaches 3 == max_diff.
        table.insert_or_assign(_item(key), timeout=1.0)
    assert not table.can_insert(1)
    with pytest.raises(reverb.DeadlineExceededError, match="insert on table 't'"):
        table.insert_or_assign(_item(3), timeout=0.05)
    table.sample(timeout=1.0)  # diff 2
    table.insert_or_assign(_item(3), timeout=1.0)  # diff 3
    table.sample(timeout=1.0)
    table.sample(timeout=1.0)  # diff 1 == min_diff
    with pytest.raises(reverb.DeadlineExceededError):
        table.sample(timeout=0.05)


def test_a_blocked_insert_proceeds_when_another_thread_samples() -> None:
    table = reverb.Table.queue("q", max_size=2)
    table.insert_or_assign(_item(1))
    table.insert_or_assign(_item(2))
    done = threading.Event()
    errors: list[BaseException] = []

    def insert() -> None:
        try:
            table.insert_or_assign(_item(3), timeout=30.0)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
        done.set()

    thread = threading.Thread(target=insert)
    thread.start()
    assert not done.wait(0.05)  # Held by the queue's limit.
    assert table.sample(timeout=5.0).info.key == 1
    thread.join(30.0)
    assert done.is_set() and not errors
    assert [table.sample(timeout=5.0).info.key for _ in range(2)] == [2, 3]
    assert table.size() == 0  # Queue items go after one sample.


def test_a_blocked_sample_proceeds_when_another_thread_inserts() -> None:
    table = reverb.Table.stack("s", max_size=5)
    result: list[int] = []
    thread = threading.Thread(
        target=lambda: result.append(int(table.sample(timeout=30.0).info.key))
    )
    thread.start()
    thread.join(0.05)
    assert thread.is_alive() and not result
    table.insert_or_assign(_item(42))
    thread.join(30.0)
    assert result == [42]


def test_close_cancels_a_blocked_call() -> None:
    table = reverb.Table.queue("q", max_size=1)
    caught: list[BaseException] = []

    def sample() -> None:
        try:
            table.sample(timeout=30.0)
        except BaseException as e:
            caught.append(e)

    thread = threading.Thread(target=sample)
    thread.start()
    thread.join(0.05)
    table.close()
    thread.join(30.0)
    assert len(caught) == 1 and isinstance(caught[0], reverb.errors.CancelledError)


def test_deletes_bring_the_table_back_below_min_size() -> None:
    table = _table(rate_limiters.MinSize(2))
    table.insert_or_assign(_item(1))
    table.insert_or_assign(_item(2))
    assert table.can_sample(1)
    table.mutate_items(deletes=[1])
    assert not table.can_sample(1)


@pytest.mark.parametrize(
    "limiter",
    [
        rate_limiters.MinSize(3),
        rate_limiters.SampleToInsertRatio(2.0, 2, 4.0),
        rate_limiters.RateLimiter(0.5, 1, -1.5, 10.0),
    ],
    ids=["min_size", "ratio", "fractional"],
)
def test_samples_allowed_is_the_largest_count_can_sample_accepts(limiter) -> None:
    state = rate_limiters.RateLimiterState(limiter)
    for inserts, samples in [(0, 0), (2, 0), (3, 0), (5, 3), (8, 9), (20, 30)]:
        state.inserts, state.samples = inserts, samples
        allowed = state.samples_allowed(50)
        assert 0 <= allowed <= 50
        if allowed:
            assert state.can_sample(allowed)
        if allowed < 50:
            assert not state.can_sample(allowed + 1)
