"""Context managers the Actor and Learner share."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import tensorflow as tf


@contextlib.contextmanager
def soft_device_placement() -> Iterator[None]:
    """Lets ops without a kernel on the requested device run elsewhere, inside the block.

    Summary ops have no TPU/GPU kernels for every dtype; without this, writing a
    summary inside a strategy scope can fail placement.
    """
    before = tf.config.get_soft_device_placement()
    tf.config.set_soft_device_placement(True)
    try:
        yield
    finally:
        tf.config.set_soft_device_placement(before)
