"""`TableInfo` and `RateLimiterInfo`: what `Client.server_info` reports."""

from __future__ import annotations

import dataclasses

__all__ = ["RateLimiterInfo", "TableInfo"]


@dataclasses.dataclass(frozen=True)
class RateLimiterInfo:
    """A table's rate limiter: its four numbers and its counts."""

    samples_per_insert: float
    min_diff: float
    max_diff: float
    min_size_to_sample: int
    insert_count: int = 0
    sample_count: int = 0
    delete_count: int = 0


@dataclasses.dataclass(frozen=True)
class TableInfo:
    """A table's configuration and state, with Reverb's field names.

    `sampler_options` and `remover_options` are dicts (Reverb has protos) that
    `item_selectors.selector_from_options` turns back into selectors;
    `table_worker_time` is always None (policylib has no table worker).
    """

    name: str
    sampler_options: dict
    remover_options: dict
    max_size: int
    max_times_sampled: int
    rate_limiter_info: RateLimiterInfo
    signature: object | None
    current_size: int
    num_episodes: int
    num_deleted_episodes: int
    num_unique_samples: int
    table_worker_time: object | None = None
