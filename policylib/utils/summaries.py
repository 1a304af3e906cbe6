"""TensorBoard summaries agents write (no-ops unless a default writer is set).

writer = tf.summary.create_file_writer("logs")
with writer.as_default():
    agent.train(experience)          # losses, and more with debug_summaries
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["generate_tensor_summaries", "summarize_scalar_dict"]


def summarize_scalar_dict(
    name_data: dict[str, Any], step: Any, name_scope: str = "Losses/"
) -> None:
    """One scalar summary per entry that is not None, under `name_scope`."""
    if not name_data:
        return
    with tf.name_scope(name_scope):
        for name, data in name_data.items():
            if data is not None:
                tf.summary.scalar(name=name, data=data, step=step)


def generate_tensor_summaries(tag: str, tensor: Any, step: Any) -> None:
    """Histogram, mean, mean of absolute values, max and min of `tensor`, under `tag`."""
    with tf.name_scope(tag):
        tf.summary.histogram(name="histogram", data=tensor, step=step)
        tf.summary.scalar(name="mean", data=tf.reduce_mean(tensor), step=step)
        tf.summary.scalar(
            name="mean_abs", data=tf.reduce_mean(tf.abs(tensor)), step=step
        )
        tf.summary.scalar(name="max", data=tf.reduce_max(tensor), step=step)
        tf.summary.scalar(name="min", data=tf.reduce_min(tensor), step=step)
