"""The records a `Table` keeps and hands out: items, sampled items, checkpoint state."""

from __future__ import annotations

import dataclasses
import threading

import numpy as np

from policylib.reverb import item_selectors
from policylib.reverb.replay_sample import SampleInfo

__all__ = ["Item", "PackedColumns", "SampledItem", "TableState", "pack_columns"]

# One (dtype, shape) tuple per column: what a packed record's bytes hold.
Layout = tuple[tuple[np.dtype, tuple[int, ...]], ...]


class PackedColumns:
    """An item's columns as one byte string, for stacking many items at once.

    Stacking a batch of items column by column costs a NumPy call per column;
    joining their packed records is one `bytes.join`, and each column is then
    a strided view of the result. `layout` is interned: items whose columns
    have the same dtypes and shapes share one layout object, so a batch is
    checked for uniformity with `is`.
    """

    __slots__ = ("data", "layout")

    def __init__(self, layout: Layout, data: bytes) -> None:
        self.layout = layout
        self.data = data


_LAYOUTS: dict[Layout, Layout] = {}
_LAYOUTS_LOCK = threading.Lock()


def pack_columns(columns: list[np.ndarray]) -> PackedColumns | None:
    """`columns` packed (C order), or None when a column holds Python objects."""
    if any(column.dtype.hasobject for column in columns):
        return None
    layout: Layout = tuple((column.dtype, column.shape) for column in columns)
    with _LAYOUTS_LOCK:
        layout = _LAYOUTS.setdefault(layout, layout)
    return PackedColumns(layout, b"".join(column.tobytes() for column in columns))


@dataclasses.dataclass
class Item:
    """One table entry: its flattened trajectory columns and bookkeeping.

    Attributes:
      key: unique key within the table.
      priority: used by Prioritized and heap selectors.
      columns: the trajectory's leaves in flattening order, each with its time
        dimension (unless the column was squeezed by the writer).
      episode_ids: the episodes the item's steps came from (for `num_episodes`).
      times_sampled: how often it has been sampled.
    """

    key: int
    priority: float
    columns: list[np.ndarray]
    episode_ids: tuple[int, ...] = ()
    times_sampled: int = 0
    # `columns` packed, made on the item's first sample (columns never change).
    packed: PackedColumns | None = dataclasses.field(
        default=None, compare=False, repr=False
    )


@dataclasses.dataclass
class TableState:
    """A table's settings, counts and items, as a checkpoint holds them."""

    name: str
    sampler: item_selectors.Options
    remover: item_selectors.Options
    max_size: int
    max_times_sampled: int
    rate_limiter: dict[str, float]
    inserts: int
    samples: int
    deletes: int
    num_deleted_episodes: int
    num_unique_samples: int
    items: list[Item]


class SampledItem:
    """A sampled item's columns and its `SampleInfo`."""

    __slots__ = ("columns", "info", "packed")

    def __init__(
        self,
        info: SampleInfo,
        columns: list[np.ndarray],
        packed: PackedColumns | None = None,
    ) -> None:
        self.info = info
        self.columns = columns
        self.packed = packed  # Set for items sampled in this process.
