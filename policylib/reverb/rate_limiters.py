"""Rate limiters: when a table lets an insert or a sample through.

A limiter tracks `diff = inserts * samples_per_insert - samples`. An insert
waits while it would push `diff` above `max_diff` (unless the table holds no
more than `min_size_to_sample` items); a sample waits until the table holds
`min_size_to_sample` items and taking it keeps `diff >= min_diff`. The
constructors check their arguments as Reverb's do.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import sys
from typing import Union

__all__ = [
    "MinSize",
    "Queue",
    "RateLimiter",
    "RateLimiterState",
    "SampleToInsertRatio",
    "Stack",
]


class RateLimiter:
    """The general limiter; the subclasses below pick its four numbers."""

    def __init__(
        self,
        samples_per_insert: float,
        min_size_to_sample: int,
        min_diff: float,
        max_diff: float,
    ) -> None:
        if min_size_to_sample < 0:
            raise ValueError(f"min_size_to_sample ({min_size_to_sample}) must be >= 0.")
        if min_diff > max_diff:
            raise ValueError(f"min_diff ({min_diff}) > max_diff ({max_diff}).")
        self.samples_per_insert = float(samples_per_insert)
        self.min_size_to_sample = int(min_size_to_sample)
        self.min_diff = float(min_diff)
        self.max_diff = float(max_diff)

    def config(self) -> dict[str, float]:
        """The four numbers that define the limiter (saved in checkpoints)."""
        return {
            "samples_per_insert": self.samples_per_insert,
            "min_size_to_sample": self.min_size_to_sample,
            "min_diff": self.min_diff,
            "max_diff": self.max_diff,
        }

    @classmethod
    def from_config(cls, config: dict[str, float]) -> RateLimiter:
        """The limiter `config()` describes."""
        return RateLimiter(
            samples_per_insert=config["samples_per_insert"],
            min_size_to_sample=int(config["min_size_to_sample"]),
            min_diff=config["min_diff"],
            max_diff=config["max_diff"],
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"RateLimiter({args})"


class MinSize(RateLimiter):
    """Samples wait until the table holds `min_size_to_sample` items; inserts never."""

    def __init__(self, min_size_to_sample: int) -> None:
        if min_size_to_sample < 1:
            raise ValueError(
                f"min_size_to_sample ({min_size_to_sample}) must be a positive integer."
            )
        super().__init__(
            samples_per_insert=1.0,
            min_size_to_sample=min_size_to_sample,
            min_diff=-sys.float_info.max,
            max_diff=sys.float_info.max,
        )


class SampleToInsertRatio(RateLimiter):
    """Keeps samples per insert near `samples_per_insert` once `min_size_to_sample` is reached.

    `error_buffer` is either one number, the allowed distance from
    `min_size_to_sample * samples_per_insert`, or a (min_diff, max_diff) pair
    used as is.
    """

    def __init__(
        self,
        samples_per_insert: float,
        min_size_to_sample: int,
        error_buffer: Union[float, tuple[float, float]],
    ) -> None:
        if isinstance(error_buffer, (int, float)):
            offset = samples_per_insert * min_size_to_sample
            min_diff, max_diff = offset - error_buffer, offset + error_buffer
        else:
            min_diff, max_diff = error_buffer
        if samples_per_insert <= 0:
            raise ValueError(f"samples_per_insert ({samples_per_insert}) must be > 0")
        if max_diff - min_diff < 2 * max(1.0, samples_per_insert):
            raise ValueError(
                "The size of error_buffer must be >= max(1.0, samples_per_insert) "
                "as smaller values could completely block samples and/or inserts."
            )
        if max_diff < samples_per_insert * min_size_to_sample:
            logging.warning(
                "The range covered by error_buffer is below samples_per_insert * "
                "min_size_to_sample: unless sampling runs concurrently, inserts "
                "block once min_size_to_sample items are in the table."
            )
        if min_diff > samples_per_insert * min_size_to_sample:
            raise ValueError(
                "The range covered by error_buffer is above samples_per_insert * "
                "min_size_to_sample: calls would deadlock once min_size_to_sample "
                "items have been inserted."
            )
        if min_size_to_sample < 1:
            raise ValueError(
                f"min_size_to_sample ({min_size_to_sample}) must be a positive integer."
            )
        super().__init__(samples_per_insert, min_size_to_sample, min_diff, max_diff)


class Queue(RateLimiter):
    """Each item sampled once, at most `size` waiting (use `Table.queue`)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            samples_per_insert=1.0, min_size_to_sample=1, min_diff=0.0, max_diff=size
        )


class Stack(RateLimiter):
    """Like `Queue`, for a Lifo table (use `Table.stack`)."""

    def __init__(self, size: int) -> None:
        super().__init__(
            samples_per_insert=1.0, min_size_to_sample=1, min_diff=0.0, max_diff=size
        )


@dataclasses.dataclass
class RateLimiterState:
    """A table's counts, judged against its limiter (guarded by the table's lock)."""

    limiter: RateLimiter
    inserts: int = 0
    samples: int = 0
    deletes: int = 0

    def can_insert(self, num_inserts: int = 1) -> bool:
        """Whether `num_inserts` more inserts may proceed now."""
        lim = self.limiter
        if self.inserts + num_inserts - self.deletes <= lim.min_size_to_sample:
            return True
        diff = (self.inserts + num_inserts) * lim.samples_per_insert - self.samples
        return diff <= lim.max_diff

    def can_sample(self, num_samples: int = 1) -> bool:
        """Whether `num_samples` more samples may proceed now."""
        lim = self.limiter
        if self.inserts - self.deletes < lim.min_size_to_sample:
            return False
        diff = self.inserts * lim.samples_per_insert - self.samples - num_samples
        return diff >= lim.min_diff

    def samples_allowed(self, at_most: int) -> int:
        """How many of `at_most` more samples may proceed now (no deletes between)."""
        lim = self.limiter
        if self.inserts - self.deletes < lim.min_size_to_sample:
            return 0
        # can_sample(n) holds for every n <= headroom.
        headroom = self.inserts * lim.samples_per_insert - self.samples - lim.min_diff
        if headroom >= at_most:
            return at_most
        return max(0, math.floor(headroom))

    def reset(self) -> None:
        self.inserts = self.samples = self.deletes = 0
