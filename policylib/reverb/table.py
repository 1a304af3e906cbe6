"""`Table`: a thread-safe store of items, sampled and evicted by selectors.

All state sits behind one lock. Inserts wait on one condition until the rate
limiter lets them through, samples on another; every change that may unblock
the other side notifies it. A wait that outlives its timeout raises
`DeadlineExceededError`; `close()` wakes every waiter with `CancelledError`.

The operations here are what a server exposes: the in-process `Client` calls
them directly, a remote transport calls the same ones on the server's side.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

from policylib.reverb import errors, item_selectors, rate_limiters, signatures
from policylib.reverb.items import Item, SampledItem, TableState, pack_columns
from policylib.reverb.replay_sample import SampleInfo
from policylib.reverb.reverb_types import RateLimiterInfo, TableInfo

__all__ = ["Item", "SampledItem", "Table", "TableState"]  # records from `items`


class Table:
    """A replay table with Reverb's constructor and semantics.

    Args:
      name: the table's name, unique within a server.
      sampler: the item selector that picks items to sample.
      remover: the item selector that picks the item to evict when an insert
        would exceed `max_size`.
      max_size: the most items the table holds.
      rate_limiter: when inserts and samples may proceed.
      max_times_sampled: an item is deleted after this many samples; < 1 means
        no limit.
      extensions: Reverb's table extensions; not supported (NotImplementedError
        if any is given).
      signature: optional nest of `tf.TensorSpec` describing every item's
        columns (time dimension included); inserts that do not fit are refused.
    """

    def __init__(
        self,
        name: str,
        sampler: item_selectors.ItemSelector,
        remover: item_selectors.ItemSelector,
        max_size: int,
        rate_limiter: rate_limiters.RateLimiter,
        max_times_sampled: int = 0,
        extensions: Sequence[object] = (),
        signature: object = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(
                f"A table's name must be a non-empty string, got {name!r}."
            )
        if extensions:
            raise NotImplementedError(
                f"Table {name!r}: table extensions are not supported by "
                f"policylib.reverb (got {list(extensions)!r}); pass extensions=()."
            )
        for what, selector in (("sampler", sampler), ("remover", remover)):
            if not isinstance(selector, item_selectors.ItemSelector):
                raise TypeError(
                    f"Table {name!r}: {what} must be a reverb.selectors object, "
                    f"got {selector!r}."
                )
        if not isinstance(rate_limiter, rate_limiters.RateLimiter):
            raise TypeError(
                f"Table {name!r}: rate_limiter must be a reverb.rate_limiters "
                f"object, got {rate_limiter!r}."
            )
        if max_size < 1:
            raise ValueError(f"Table {name!r}: max_size ({max_size}) must be >= 1.")
        if remover is sampler:
            remover = sampler.copy_empty()
        self._name = name
        self._sampler = sampler
        self._remover = remover
        self._max_size = int(max_size)
        self._max_times_sampled = int(max_times_sampled)
        self._rate_limiter = rate_limiter
        self._signature = signature
        self._flat_signature = signatures.flatten_signature(signature)
        self._lock = threading.Lock()
        self._insert_ready = threading.Condition(self._lock)
        self._sample_ready = threading.Condition(self._lock)
        self._items: dict[int, Item] = {}
        self._limiter = rate_limiters.RateLimiterState(rate_limiter)
        self._episode_refs: collections.Counter[int] = collections.Counter()
        self._num_deleted_episodes = 0
        self._num_unique_samples = 0
        self._closed = False

    @classmethod
    def queue(
        cls,
        name: str,
        max_size: int,
        extensions: Sequence[object] = (),
        signature: object = None,
    ) -> Table:
        """A table that acts as a queue of at most `max_size` items."""
        return cls._sample_once(
            name,
            item_selectors.Fifo,
            rate_limiters.Queue(max_size),
            max_size,
            extensions,
            signature,
        )

    @classmethod
    def stack(
        cls,
        name: str,
        max_size: int,
        extensions: Sequence[object] = (),
        signature: object = None,
    ) -> Table:
        """A table that acts as a stack of at most `max_size` items."""
        return cls._sample_once(
            name,
            item_selectors.Lifo,
            rate_limiters.Stack(max_size),
            max_size,
            extensions,
            signature,
        )

    @classmethod
    def _sample_once(
        cls,
        name: str,
        selector: Callable[[], item_selectors.ItemSelector],
        rate_limiter: rate_limiters.RateLimiter,
        max_size: int,
        extensions: Sequence[object],
        signature: object,
    ) -> Table:
        """A table whose items go after one sample, picked by `selector`."""
        return cls(
            name=name,
            sampler=selector(),
            remover=selector(),
            max_size=max_size,
            max_times_sampled=1,
            rate_limiter=rate_limiter,
            extensions=extensions,
            signature=signature,
        )

    def replace(
        self,
        name: str | None = None,
        sampler: item_selectors.ItemSelector | None = None,
        remover: item_selectors.ItemSelector | None = None,
        max_size: int | None = None,
        rate_limiter: rate_limiters.RateLimiter | None = None,
        max_times_sampled: int | None = None,
        extensions: Sequence[object] | None = None,
        signature: object = None,
    ) -> Table:
        """A new, empty table with this one's settings except those given."""
        limiter = self._rate_limiter
        return Table(
            name=self._name if name is None else name,
            sampler=sampler or self._sampler.copy_empty(),
            remover=remover or self._remover.copy_empty(),
            max_size=self._max_size if max_size is None else max_size,
            rate_limiter=rate_limiter
            or rate_limiters.RateLimiter.from_config(limiter.config()),
            max_times_sampled=(
                self._max_times_sampled
                if max_times_sampled is None
                else max_times_sampled
            ),
            extensions=extensions or (),
            signature=self._signature if signature is None else signature,
        )

    # -- Properties ---------------------------------------------------------

    @property
    def name(self) -> str:
        return self._name

    @property
    def signature(self) -> object:
        """The nest of specs items must fit, or None."""
        return self._signature

    @property
    def info(self) -> TableInfo:
        """The table's configuration and current state."""
        with self._lock:
            state = self._limiter
            return TableInfo(
                name=self._name,
                sampler_options=self._sampler.options(),
                remover_options=self._remover.options(),
                max_size=self._max_size,
                max_times_sampled=self._max_times_sampled,
                rate_limiter_info=RateLimiterInfo(
                    samples_per_insert=state.limiter.samples_per_insert,
                    min_diff=state.limiter.min_diff,
                    max_diff=state.limiter.max_diff,
                    min_size_to_sample=state.limiter.min_size_to_sample,
                    insert_count=state.inserts,
                    sample_count=state.samples,
                    delete_count=state.deletes,
                ),
                signature=self._signature,
                current_size=len(self._items),
                num_episodes=len(self._episode_refs),
                num_deleted_episodes=self._num_deleted_episodes,
                num_unique_samples=self._num_unique_samples,
            )

    def size(self) -> int:
        """The number of items in the table."""
        with self._lock:
            return len(self._items)

    def can_sample(self, num_samples: int) -> bool:
        """Whether `num_samples` samples would proceed without waiting now."""
        with self._lock:
            return bool(self._items) and self._limiter.can_sample(num_samples)

    def can_insert(self, num_inserts: int) -> bool:
        """Whether `num_inserts` inserts would proceed without waiting now."""
        with self._lock:
            return self._limiter.can_insert(num_inserts)

    def __repr__(self) -> str:
        return (
            f"Table(name={self._name!r}, sampler={self._sampler!r}, "
            f"remover={self._remover!r}, max_size={self._max_size}, "
            f"max_times_sampled={self._max_times_sampled}, "
            f"rate_limiter={self._rate_limiter!r}, signature={self._signature!r})"
        )

    # -- Operations ---------------------------------------------------------

    def check_item(self, item: Item) -> None:
        """Raises ValueError if `item` does not fit the signature or has a bad priority."""
        signatures.check_columns(self._name, self._flat_signature, item.columns)
        self._check_priority(item.key, item.priority)

    def _check_priority(self, key: int, priority: float) -> None:
        """NaN is refused; negative priorities too where a selector is Prioritized."""
        priority = float(priority)
        prioritized = any(
            isinstance(s, item_selectors.Prioritized)
            for s in (self._sampler, self._remover)
        )
        if priority != priority or (priority < 0 and prioritized):
            raise ValueError(
                f"Table {self._name!r}: priority of key {key} must be a "
                f"non-negative number, got {priority!r}."
            )

    def insert_or_assign(self, item: Item, timeout: float | None = None) -> None:
        """Inserts `item`, waiting for the rate limiter; an existing key gets its priority updated.

        Raises:
          ValueError: the item does not fit the table's signature.
          DeadlineExceededError: the rate limiter held the insert for `timeout` s.
          CancelledError: the table was closed while waiting.
        """
        self.check_item(item)
        with self._lock:
            self._insert_locked(item, _deadline(timeout), timeout)

    def try_insert_or_assign(self, item: Item) -> bool:
        """Inserts `item` if that needs no waiting; returns whether it did."""
        self.check_item(item)
        with self._lock:
            if item.key not in self._items and not self._limiter.can_insert(1):
                return False
            self._insert_locked(item, None, None)
            return True

    def _insert_locked(
        self, item: Item, deadline: float | None, timeout: float | None
    ) -> None:
        existing = self._items.get(item.key)
        if existing is not None:
            self._update_locked(item.key, item.priority)
            return
        self._wait(
            self._insert_ready,
            lambda: self._limiter.can_insert(1),
            deadline,
            timeout,
            "insert",
        )
        for column in item.columns:
            column.flags.writeable = False
        self._items[item.key] = item
        self._sampler.insert(item.key, item.priority)
        self._remover.insert(item.key, item.priority)
        self._episode_refs.update(item.episode_ids)
        if len(self._items) > self._max_size:
            self._delete_locked(self._remover.sample()[0])
        self._limiter.inserts += 1
        self._sample_ready.notify_all()

    def sample(self, timeout: float | None = None) -> SampledItem:
        """Samples one item, waiting until the rate limiter allows it.

        Raises:
          DeadlineExceededError: no sample was allowed within `timeout` s.
          CancelledError: the table was closed while waiting.
        """
        with self._lock:
            return self._sample_locked(_deadline(timeout), timeout)

    def sample_batch(
        self, num_samples: int, timeout: float | None = None
    ) -> list[SampledItem]:
        """Samples up to `num_samples` items (Reverb's flexible batch).

        Waits up to `timeout` for the first sample; then takes more only while
        the rate limiter lets them through without waiting, so a batch never
        holds items back that a waiting consumer could already use.
        """
        with self._lock:
            batch = [self._sample_locked(_deadline(timeout), timeout)]
            limiter, items = self._limiter, self._items
            if self._max_times_sampled > 0:  # A sample may delete an item.
                while len(batch) < num_samples and items and limiter.can_sample(1):
                    batch.append(self._take_locked())
            elif items:
                self._take_many_locked(limiter.samples_allowed(num_samples - 1), batch)
            return batch

    def _sample_locked(
        self, deadline: float | None, timeout: float | None
    ) -> SampledItem:
        self._wait(
            self._sample_ready,
            lambda: bool(self._items) and self._limiter.can_sample(1),
            deadline,
            timeout,
            "sample",
        )
        sampled = self._take_locked()
        self._insert_ready.notify_all()
        return sampled

    def _take_locked(self) -> SampledItem:
        """Samples one item the rate limiter allows now (the caller notifies inserters)."""
        key, probability = self._sampler.sample()
        item = self._items[key]
        if item.times_sampled == 0:
            self._num_unique_samples += 1
        item.times_sampled += 1
        # Positional: the fields are key, probability, table_size, priority
        # and times_sampled (faster than keywords, per sampled item).
        info = SampleInfo(
            key, probability, len(self._items), item.priority, item.times_sampled
        )
        self._limiter.samples += 1
        if 0 < self._max_times_sampled <= item.times_sampled:
            self._delete_locked(key)
        packed = item.packed
        if packed is None:
            packed = item.packed = pack_columns(item.columns)
        return SampledItem(info, item.columns, packed)

    def _take_many_locked(self, count: int, out: list[SampledItem]) -> None:
        """`_take_locked` `count` times, for tables that never delete on sampling.

        The rate limiter allowed all `count` at once; this loop is the hot path
        of a dataset's flexible batch, so it keeps to local names.
        """
        items, size = self._items, len(self._items)
        new_tuple = tuple.__new__  # SampleInfo(...) without its slower __new__.
        unique = 0
        for key, probability in self._sampler.sample_many(count):
            item = items[key]
            if item.times_sampled == 0:
                unique += 1
            item.times_sampled += 1
            packed = item.packed
            if packed is None:
                packed = item.packed = pack_columns(item.columns)
            info = new_tuple(
                SampleInfo,
                (key, probability, size, item.priority, item.times_sampled),
            )
            out.append(SampledItem(info, item.columns, packed))
        self._num_unique_samples += unique
        self._limiter.samples += count

    def mutate_items(
        self, updates: Mapping[int, float] = {}, deletes: Iterable[int] = ()
    ) -> None:
        """Deletes `deletes`, then sets the priorities in `updates`; unknown keys are ignored."""
        for key, priority in updates.items():
            self._check_priority(key, priority)
        with self._lock:
            for key in deletes:
                if key in self._items:
                    self._delete_locked(key)
            for key, priority in updates.items():
                if key in self._items:
                    self._update_locked(key, priority)
            self._insert_ready.notify_all()
            self._sample_ready.notify_all()

    def reset(self) -> None:
        """Removes every item and resets the rate limiter and counters."""
        with self._lock:
            self._items.clear()
            self._sampler.clear()
            self._remover.clear()
            self._episode_refs.clear()
            self._num_deleted_episodes = 0
            self._num_unique_samples = 0
            self._limiter.reset()
            self._insert_ready.notify_all()
            self._sample_ready.notify_all()

    def close(self) -> None:
        """Wakes every waiting call with CancelledError; later waits fail at once."""
        with self._lock:
            self._closed = True
            self._insert_ready.notify_all()
            self._sample_ready.notify_all()

    # -- Internals ----------------------------------------------------------

    def _update_locked(self, key: int, priority: float) -> None:
        self._items[key].priority = float(priority)
        self._sampler.update(key, priority)
        self._remover.update(key, priority)

    def _delete_locked(self, key: int) -> None:
        item = self._items.pop(key)
        self._sampler.delete(key)
        self._remover.delete(key)
        self._limiter.deletes += 1
        for episode in item.episode_ids:
            self._episode_refs[episode] -= 1
            if self._episode_refs[episode] <= 0:
                del self._episode_refs[episode]
                self._num_deleted_episodes += 1

    def _wait(
        self,
        condition: threading.Condition,
        ready: Callable[[], bool],
        deadline: float | None,
        timeout: float | None,
        what: str,
    ) -> None:
        while True:
            if self._closed:
                raise errors.CancelledError(
                    f"Table {self._name!r} was closed; the {what} was cancelled."
                )
            if ready():
                return
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                state = self._limiter
                raise errors.DeadlineExceededError(
                    f"The {what} on table {self._name!r} did not complete within "
                    f"{timeout} s: its rate limiter {self._rate_limiter!r} holds it "
                    f"(size={len(self._items)}, inserts={state.inserts}, "
                    f"samples={state.samples}, deletes={state.deletes})."
                )
            condition.wait(remaining)

    # -- Checkpoints (used by `checkpointers`) --------------------------------

    def checkpoint_state(self) -> TableState:
        """A consistent copy of the table's state: settings, counts and items."""
        with self._lock:
            return TableState(
                name=self._name,
                sampler=self._sampler.options(),
                remover=self._remover.options(),
                max_size=self._max_size,
                max_times_sampled=self._max_times_sampled,
                rate_limiter=self._rate_limiter.config(),
                inserts=self._limiter.inserts,
                samples=self._limiter.samples,
                deletes=self._limiter.deletes,
                num_deleted_episodes=self._num_deleted_episodes,
                num_unique_samples=self._num_unique_samples,
                items=[dataclasses.replace(item) for item in self._items.values()],
            )

    def restore_state(self, state: TableState) -> None:
        """Replaces this table's content and settings with a `checkpoint_state`.

        As in Reverb, the checkpoint's selectors, size limits and rate limiter
        replace those the table was built with (the signature stays).
        """
        with self._lock:
            self._sampler = item_selectors.selector_from_options(state.sampler)
            self._remover = item_selectors.selector_from_options(state.remover)
            self._max_size = state.max_size
            self._max_times_sampled = state.max_times_sampled
            self._rate_limiter = rate_limiters.RateLimiter.from_config(
                state.rate_limiter
            )
            self._limiter = rate_limiters.RateLimiterState(
                self._rate_limiter,
                inserts=state.inserts,
                samples=state.samples,
                deletes=state.deletes,
            )
            self._items = {}
            self._episode_refs.clear()
            for item in state.items:
                for column in item.columns:
                    column.flags.writeable = False
                self._items[item.key] = item
                self._sampler.insert(item.key, item.priority)
                self._remover.insert(item.key, item.priority)
                self._episode_refs.update(item.episode_ids)
            self._num_deleted_episodes = state.num_deleted_episodes
            self._num_unique_samples = state.num_unique_samples
            self._insert_ready.notify_all()
            self._sample_ready.notify_all()


def _deadline(timeout: float | None) -> float | None:
    return None if timeout is None else time.monotonic() + max(0.0, timeout)
