"""TensorBoard summaries (no-ops unless a default writer is set).

    writer = tf.summary.create_file_writer("logs")
    with writer.as_default():
        agent.train(experience)          # losses, and more with debug_summaries

TensorFlow's summary ops come from the TensorBoard package, an optional
extra (`pip install 'policylib[tensorboard]'`). Without it, summaries are
skipped while no writer is set (training needs none), and writing them fails
with one line naming the install.
"""

from __future__ import annotations

import functools
import importlib.util
from typing import Any

import tensorflow as tf

from policylib.base import extras
from policylib.typing import types

__all__ = [
    "generate_tensor_summaries",
    "histogram",
    "int64_step",
    "scalar",
    "summarize_scalar_dict",
]


@functools.cache
def _tensorboard_installed() -> bool:
    return importlib.util.find_spec("tensorboard") is not None


def _enabled() -> bool:
    """Whether to emit summary ops: TensorBoard is installed, or a writer needs them.

    Raises:
      MissingExtraError: a default writer is set but TensorBoard is missing.
    """
    if _tensorboard_installed():
        return True
    recording = tf.get_static_value(tf.summary.should_record_summaries())
    if recording is not None and not recording:
        return False  # no default writer: nothing would be written anyway
    raise extras.missing(
        "tensorboard", extra="tensorboard", feature="TensorBoard summaries"
    )


def int64_step(step: types.Int) -> types.Int:
    """`step` as TensorFlow's summary ops take it: an int64 (a Python int is kept).

    TF-Agents' tutorials count train steps in an int32 `tf.Variable(0)`;
    `tf.summary` refuses any step that is not int64, so it is cast here.
    """
    dtype = getattr(step, "dtype", None)
    if dtype is not None and tf.as_dtype(dtype) != tf.int64:
        return tf.cast(step, tf.int64)
    return step


def scalar(name: str, data: types.Tensor, step: types.Int) -> Any:
    """`tf.summary.scalar`, skipped without TensorBoard and writer."""
    if not _enabled():
        return None
    return tf.summary.scalar(name=name, data=data, step=int64_step(step))


def histogram(name: str, data: types.Tensor, step: types.Int) -> Any:
    """`tf.summary.histogram`, skipped without TensorBoard and writer."""
    if not _enabled():
        return None
    return tf.summary.histogram(name=name, data=data, step=int64_step(step))


def summarize_scalar_dict(
    name_data: dict[str, types.Tensor | None],
    step: types.Int,
    name_scope: str = "Losses/",
) -> None:
    """One scalar summary per entry that is not None, under `name_scope`."""
    if not name_data or not _enabled():
        return
    step = int64_step(step)
    with tf.name_scope(name_scope):
        for name, data in name_data.items():
            if data is not None:
                tf.summary.scalar(name=name, data=data, step=step)


def generate_tensor_summaries(tag: str, tensor: types.Tensor, step: types.Int) -> None:
    """Histogram, mean, mean of absolute values, max and min of `tensor`, under `tag`."""
    if not _enabled():
        return
    step = int64_step(step)
    with tf.name_scope(tag):
        tf.summary.histogram(name="histogram", data=tensor, step=step)
        tf.summary.scalar(name="mean", data=tf.reduce_mean(tensor), step=step)
        tf.summary.scalar(
            name="mean_abs", data=tf.reduce_mean(tf.abs(tensor)), step=step
        )
        tf.summary.scalar(name="max", data=tf.reduce_max(tensor), step=step)
        tf.summary.scalar(name="min", data=tf.reduce_min(tensor), step=step)
