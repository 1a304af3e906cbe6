"""What a sample returns: the item's data and `SampleInfo` about it."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["ReplaySample", "SampleInfo"]


class SampleInfo(NamedTuple):
    """Details of one sampled item, as Reverb reports them.

    Fields:
      key: the item's key (pass it to `mutate_priorities`).
      probability: the probability of selecting it at sampling time.
      table_size: the number of items in the table at sampling time.
      priority: its priority at sampling time.
      times_sampled: how often it has been sampled, this time included.
    """

    key: object
    probability: object
    table_size: object
    priority: object
    times_sampled: object

    @classmethod
    def tf_dtypes(cls) -> SampleInfo:
        """Dtypes of the fields as TensorFlow datasets emit them."""
        import tensorflow as tf

        return cls(tf.uint64, tf.double, tf.int64, tf.double, tf.int32)

    @classmethod
    def tf_shapes(cls) -> SampleInfo:
        """Shapes of the fields (all scalars)."""
        import tensorflow as tf

        return cls(*[tf.TensorShape([]) for _ in range(5)])

    @classmethod
    def zeros(cls) -> SampleInfo:
        """A SampleInfo of Python zeros."""
        return cls(0, 0.0, 0, 0.0, 0)


class ReplaySample(NamedTuple):
    """A sampled item (or one time step of it) and its `SampleInfo`."""

    info: SampleInfo
    data: object
