"""Item selectors: which item a table samples or removes next.

Each selector keeps its own index of the table's keys so that inserting,
deleting, updating and selecting cost O(1) (Uniform, Fifo, Lifo) or O(log n)
(Prioritized, MaxHeap, MinHeap), as Reverb's C++ selectors do:

* `Uniform`: a dense key array with swap-remove.
* `Prioritized`: a sum tree over `priority ** priority_exponent`.
* `Fifo` / `Lifo`: insertion order (a dict keeps it); priorities are ignored.
* `MaxHeap` / `MinHeap`: an indexed binary heap; ties go to the item inserted or
  updated first.

`Uniform` and `Prioritized` take an optional `seed` (a policylib addition) so
that sampling is reproducible in tests.
"""

from __future__ import annotations

import abc
import math
import random
from typing import Union

__all__ = [
    "Fifo",
    "ItemSelector",
    "Lifo",
    "MaxHeap",
    "MinHeap",
    "Prioritized",
    "Uniform",
    "selector_from_options",
]

Options = dict[str, Union[str, float, bool]]


class ItemSelector(abc.ABC):
    """Keeps the keys of one table and selects one of them."""

    @abc.abstractmethod
    def insert(self, key: int, priority: float) -> None:
        """Adds `key`; raises ValueError if it is there already."""

    @abc.abstractmethod
    def delete(self, key: int) -> None:
        """Removes `key`; raises KeyError if it is not there."""

    @abc.abstractmethod
    def update(self, key: int, priority: float) -> None:
        """Changes the priority of `key`; raises KeyError if it is not there."""

    @abc.abstractmethod
    def sample(self) -> tuple[int, float]:
        """Returns (key, probability of selecting it); the selector is non-empty."""

    def sample_many(self, count: int) -> list[tuple[int, float]]:
        """`count` independent `sample()`s, with no change to the keys between them."""
        sample = self.sample
        return [sample() for _ in range(count)]

    @abc.abstractmethod
    def clear(self) -> None:
        """Removes every key."""

    @abc.abstractmethod
    def __len__(self) -> int: ...

    @abc.abstractmethod
    def options(self) -> Options:
        """What rebuilds an equal, empty selector (see `selector_from_options`)."""

    def copy_empty(self) -> ItemSelector:
        """A new, empty selector with the same options."""
        return selector_from_options(self.options())

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.options().items() if k != "kind")
        return f"{type(self).__name__}({args})"


def _check_priority(priority: float) -> float:
    priority = float(priority)
    if math.isnan(priority):
        raise ValueError("Priority must not be NaN.")
    if priority < 0:
        raise ValueError(f"Priority must not be negative, got {priority}.")
    return priority


def _missing(key: int) -> KeyError:
    return KeyError(f"Key {key} not found.")


def _duplicate(key: int) -> ValueError:
    return ValueError(f"Key {key} already inserted.")


class Uniform(ItemSelector):
    """Every item equally likely."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self._rng = random.Random(seed)
        self._keys: list[int] = []
        self._index: dict[int, int] = {}

    def insert(self, key: int, priority: float) -> None:
        if key in self._index:
            raise _duplicate(key)
        self._index[key] = len(self._keys)
        self._keys.append(key)

    def delete(self, key: int) -> None:
        index = self._index.pop(key, None)
        if index is None:
            raise _missing(key)
        last = self._keys.pop()
        if index < len(self._keys):
            self._keys[index] = last
            self._index[last] = index

    def update(self, key: int, priority: float) -> None:
        if key not in self._index:
            raise _missing(key)

    def sample(self) -> tuple[int, float]:
        size = len(self._keys)
        return self._keys[int(self._rng.random() * size)], 1.0 / size

    def sample_many(self, count: int) -> list[tuple[int, float]]:
        # The same draws as `count` calls of sample(), in one comprehension.
        keys, random, size = self._keys, self._rng.random, len(self._keys)
        probability = 1.0 / size
        return [(keys[int(random() * size)], probability) for _ in range(count)]

    def clear(self) -> None:
        self._keys.clear()
        self._index.clear()

    def __len__(self) -> int:
        return len(self._keys)

    def options(self) -> Options:
        return {"kind": "uniform"}


class Prioritized(ItemSelector):
    """Items drawn with probability proportional to `priority ** priority_exponent`.

    When every priority is zero the draw is uniform, as in Reverb.
    """

    def __init__(self, priority_exponent: float, seed: int | None = None) -> None:
        if priority_exponent < 0 or math.isnan(priority_exponent):
            raise ValueError(
                f"priority_exponent must be >= 0, got {priority_exponent}."
            )
        self._exponent = float(priority_exponent)
        self._rng = random.Random(seed)
        self._capacity = 1024
        # Leaves at [capacity, 2 * capacity): node i sums nodes 2i and 2i+1.
        self._tree = [0.0] * (2 * self._capacity)
        self._keys: list[int] = []
        self._index: dict[int, int] = {}

    @property
    def priority_exponent(self) -> float:
        return self._exponent

    def _weight(self, priority: float) -> float:
        return 0.0 if priority == 0 else priority**self._exponent

    def _set(self, index: int, weight: float) -> None:
        tree = self._tree
        node = index + self._capacity
        tree[node] = weight
        node //= 2
        while node:
            tree[node] = tree[2 * node] + tree[2 * node + 1]
            node //= 2

    def _grow(self) -> None:
        leaves = self._tree[self._capacity : self._capacity + len(self._keys)]
        self._capacity *= 2
        self._tree = [0.0] * (2 * self._capacity)
        self._tree[self._capacity : self._capacity + len(leaves)] = leaves
        for node in range(self._capacity - 1, 0, -1):
            self._tree[node] = self._tree[2 * node] + self._tree[2 * node + 1]

    def insert(self, key: int, priority: float) -> None:
        weight = self._weight(_check_priority(priority))
        if key in self._index:
            raise _duplicate(key)
        if len(self._keys) == self._capacity:
            self._grow()
        self._index[key] = len(self._keys)
        self._keys.append(key)
        self._set(len(self._keys) - 1, weight)

    def delete(self, key: int) -> None:
        index = self._index.pop(key, None)
        if index is None:
            raise _missing(key)
        last_index = len(self._keys) - 1
        last = self._keys.pop()
        if index < last_index:
            self._keys[index] = last
            self._index[last] = index
            self._set(index, self._tree[self._capacity + last_index])
        self._set(last_index, 0.0)

    def update(self, key: int, priority: float) -> None:
        weight = self._weight(_check_priority(priority))
        index = self._index.get(key)
        if index is None:
            raise _missing(key)
        self._set(index, weight)

    def sample(self) -> tuple[int, float]:
        size = len(self._keys)
        tree = self._tree
        total = tree[1]
        target = self._rng.random()
        if total <= 0:
            return self._keys[int(target * size)], 1.0 / size
        target *= total
        node = 1
        while node < self._capacity:
            left = tree[2 * node]
            if target < left:
                node = 2 * node
            else:
                target -= left
                node = 2 * node + 1
        index = min(node - self._capacity, size - 1)
        # Rounding may land on a zero-weight leaf past the last positive one.
        while tree[self._capacity + index] == 0 and index > 0:
            index -= 1
        return self._keys[index], tree[self._capacity + index] / total

    def clear(self) -> None:
        self._tree = [0.0] * (2 * self._capacity)
        self._keys.clear()
        self._index.clear()

    def __len__(self) -> int:
        return len(self._keys)

    def options(self) -> Options:
        return {"kind": "prioritized", "priority_exponent": self._exponent}


class _Ordered(ItemSelector):
    """Insertion order, oldest or newest first; priorities are ignored."""

    _newest: bool

    def __init__(self) -> None:
        self._keys: dict[int, None] = {}

    def insert(self, key: int, priority: float) -> None:
        if key in self._keys:
            raise _duplicate(key)
        self._keys[key] = None

    def delete(self, key: int) -> None:
        try:
            del self._keys[key]
        except KeyError:
            raise _missing(key) from None

    def update(self, key: int, priority: float) -> None:
        if key not in self._keys:
            raise _missing(key)

    def sample(self) -> tuple[int, float]:
        keys = reversed(self._keys) if self._newest else iter(self._keys)
        return next(keys), 1.0

    def clear(self) -> None:
        self._keys.clear()

    def __len__(self) -> int:
        return len(self._keys)


class Fifo(_Ordered):
    """The oldest item first."""

    _newest = False

    def options(self) -> Options:
        return {"kind": "fifo"}


class Lifo(_Ordered):
    """The newest item first."""

    _newest = True

    def options(self) -> Options:
        return {"kind": "lifo"}


class _Heap(ItemSelector):
    """An indexed binary heap on (sign * priority, update number)."""

    def __init__(self, min_heap: bool) -> None:
        self._min_heap = min_heap
        self._sign = 1.0 if min_heap else -1.0
        self._heap: list[tuple[float, int, int]] = []  # (sign*priority, seq, key)
        self._pos: dict[int, int] = {}
        self._seq = 0

    def _entry(self, key: int, priority: float) -> tuple[float, int, int]:
        self._seq += 1
        return (self._sign * float(priority), self._seq, key)

    def _place(self, index: int, entry: tuple[float, int, int]) -> None:
        self._heap[index] = entry
        self._pos[entry[2]] = index

    def _sift_up(self, index: int) -> None:
        heap = self._heap
        entry = heap[index]
        while index > 0:
            parent = (index - 1) // 2
            if heap[parent] <= entry:
                break
            self._place(index, heap[parent])
            index = parent
        self._place(index, entry)

    def _sift_down(self, index: int) -> None:
        heap = self._heap
        size = len(heap)
        entry = heap[index]
        while True:
            child = 2 * index + 1
            if child >= size:
                break
            if child + 1 < size and heap[child + 1] < heap[child]:
                child += 1
            if entry <= heap[child]:
                break
            self._place(index, heap[child])
            index = child
        self._place(index, entry)

    def insert(self, key: int, priority: float) -> None:
        if key in self._pos:
            raise _duplicate(key)
        self._heap.append(self._entry(key, priority))
        self._pos[key] = len(self._heap) - 1
        self._sift_up(len(self._heap) - 1)

    def delete(self, key: int) -> None:
        index = self._pos.pop(key, None)
        if index is None:
            raise _missing(key)
        last = self._heap.pop()
        if index < len(self._heap):
            self._place(index, last)
            self._sift_up(index)
            self._sift_down(self._pos[last[2]])

    def update(self, key: int, priority: float) -> None:
        index = self._pos.get(key)
        if index is None:
            raise _missing(key)
        self._heap[index] = self._entry(key, priority)
        self._sift_up(index)
        self._sift_down(self._pos[key])

    def sample(self) -> tuple[int, float]:
        return self._heap[0][2], 1.0

    def clear(self) -> None:
        self._heap.clear()
        self._pos.clear()

    def __len__(self) -> int:
        return len(self._heap)


class MaxHeap(_Heap):
    """The item of highest priority first."""

    def __init__(self) -> None:
        super().__init__(min_heap=False)

    def options(self) -> Options:
        return {"kind": "max_heap"}


class MinHeap(_Heap):
    """The item of lowest priority first."""

    def __init__(self) -> None:
        super().__init__(min_heap=True)

    def options(self) -> Options:
        return {"kind": "min_heap"}


def selector_from_options(options: Options) -> ItemSelector:
    """Builds an empty selector from what `ItemSelector.options` returned."""
    kind = options.get("kind")
    if kind == "prioritized":
        return Prioritized(float(options["priority_exponent"]))
    simple: dict[str, type[ItemSelector]] = {
        "uniform": Uniform,
        "fifo": Fifo,
        "lifo": Lifo,
        "max_heap": MaxHeap,
        "min_heap": MinHeap,
    }
    if kind not in simple:
        raise ValueError(f"Unknown selector options: {options!r}.")
    return simple[str(kind)]()
