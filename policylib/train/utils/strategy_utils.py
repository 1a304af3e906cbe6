"""Pick a `tf.distribute.Strategy` for training: default, mirrored, or TPU."""

from __future__ import annotations

import logging

# `compat.v2`: the module TF-Agents' scripts and tests patch (`tf.compat.v2.distribute`
# is a module object of its own, not `tf.distribute`).
import tensorflow.compat.v2 as tf
from absl import flags

__all__ = ["get_strategy"]

_log = logging.getLogger(__name__)


def _define_flags() -> None:
    """Defines `--tpu` and `--use_gpu`, which TF-Agents' training scripts read.

    Skipped for a flag some other module has already defined, so importing
    this next to TF-Agents (or twice under another name) does not clash.
    """
    if "tpu" not in flags.FLAGS:
        flags.DEFINE_string("tpu", None, "Address of the TPU to train on.")
    if "use_gpu" not in flags.FLAGS:
        flags.DEFINE_bool(
            "use_gpu", False, "Train with a MirroredStrategy over local GPUs."
        )


_define_flags()


def get_strategy(tpu: str | bool | None, use_gpu: bool) -> tf.distribute.Strategy:
    """A distribution strategy for the devices asked for.

    Args:
      tpu: address of a TPU (worker name or `grpc://` address); falsy for none.
      use_gpu: mirror training over the local accelerators (a
        `MirroredStrategy`; on a machine without GPUs it mirrors over the CPU).

    Returns:
      A `TPUStrategy` for `tpu`, a `MirroredStrategy` for `use_gpu`, else the
      default strategy (no distribution).

    Raises:
      ValueError: both `tpu` and `use_gpu` are set, or no TPU answers at `tpu`.
    """
    if tpu and use_gpu:
        raise ValueError(
            f"get_strategy: give a TPU address or use_gpu=True, not both (tpu={tpu!r})."
        )
    if not tpu and not use_gpu:
        return tf.distribute.get_strategy()
    _log.info("Logical devices: %s", tf.config.list_logical_devices())
    if tpu:
        strategy = _tpu_strategy(str(tpu))
    else:
        strategy = tf.distribute.MirroredStrategy()
    _log.info("Logical devices with the strategy: %s", tf.config.list_logical_devices())
    return strategy


def _tpu_strategy(address: str) -> tf.distribute.Strategy:
    """Connects to the TPU at `address` and returns its strategy, or says why not."""
    try:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(tpu=address)
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
    except Exception as e:  # noqa: BLE001 - any failure means "no TPU here"
        first_line = (
            str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        )
        raise ValueError(
            f"get_strategy: no TPU available at tpu={address!r} ({first_line}); "
            "pass tpu=None to train on CPU/GPU."
        ) from None
    return tf.distribute.TPUStrategy(resolver)
