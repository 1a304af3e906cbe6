"""The records a `Table` keeps and hands out: items, sampled items, checkpoint state."""

from __future__ import annotations

import dataclasses

import numpy as np

from policylib.reverb import item_selectors
from policylib.reverb.replay_sample import SampleInfo

__all__ = ["Item", "SampledItem", "TableState"]


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

    __slots__ = ("columns", "info")

    def __init__(self, info: SampleInfo, columns: list[np.ndarray]) -> None:
        self.info = info
        self.columns = columns
