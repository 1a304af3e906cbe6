"""Pick a `tf.distribute` strategy by name, and enter its scope when there is one."""

from __future__ import annotations

import contextlib
from typing import Any

import tensorflow as tf

from policylib.base import arg_checks

__all__ = [
    "DummyContextManager",
    "STRATEGY_NAMES",
    "get_distribution_strategy",
    "strategy_scope_context",
]

# The names `get_distribution_strategy` accepts (case-insensitive).
STRATEGY_NAMES = ("off", "default", "one_device", "mirrored")


def get_distribution_strategy(
    distribution_strategy: str = "default", num_gpus: int = 0, num_packs: int = -1
) -> tf.distribute.Strategy | None:
    """The strategy a benchmark should run under, from a flag-style name.

    Args:
      distribution_strategy: one of `STRATEGY_NAMES`, any case. "off": no
        strategy (None). "one_device": `OneDeviceStrategy` on the CPU, or on
        the GPU when `num_gpus` is 1. "mirrored": `MirroredStrategy` over
        `num_gpus` GPUs (the CPU when 0). "default": "one_device" for at most
        one GPU, "mirrored" for more.
      num_gpus: how many GPUs to use.
      num_packs: when at least 0, the mirrored strategy all-reduces with
        `tf.distribute.NcclAllReduce(num_packs=num_packs)`; -1 keeps its
        default cross-device ops.

    Returns:
      The strategy, or None for "off".

    Raises:
      TypeError: a name that is not a str, or a count that is not an int.
      ValueError: an unknown name (the message lists the valid ones), a
        negative `num_gpus`, or more than one GPU with "off" or "one_device".
    """
    arg_checks.check_kind(
        distribution_strategy, str, "get_distribution_strategy: distribution_strategy"
    )
    gpus = arg_checks.check_int(
        num_gpus, "num_gpus", minimum=0, owner="get_distribution_strategy"
    )
    packs = arg_checks.check_int(
        num_packs, "num_packs", minimum=-1, owner="get_distribution_strategy"
    )
    assert gpus is not None and packs is not None
    name = distribution_strategy.lower()
    if name not in STRATEGY_NAMES:
        raise ValueError(
            f"get_distribution_strategy: unknown distribution_strategy "
            f"{distribution_strategy!r}; expected one of {', '.join(STRATEGY_NAMES)} "
            "(any case)."
        )
    if name == "off":
        if gpus > 1:
            raise ValueError(
                f"get_distribution_strategy: distribution_strategy='off' runs on "
                f"one device, but num_gpus={gpus}."
            )
        return None
    if name == "one_device" or (name == "default" and gpus <= 1):
        if gpus > 1:
            raise ValueError(
                f"get_distribution_strategy: OneDeviceStrategy uses one device, "
                f"but num_gpus={gpus}; use 'mirrored' or 'default'."
            )
        return tf.distribute.OneDeviceStrategy(
            "device:GPU:0" if gpus == 1 else "device:CPU:0"
        )
    # "mirrored", or "default" with several GPUs.
    devices = [f"device:GPU:{i}" for i in range(gpus)] if gpus else ["device:CPU:0"]
    cross_device_ops = (
        tf.distribute.NcclAllReduce(num_packs=packs) if packs >= 0 else None
    )
    return tf.distribute.MirroredStrategy(
        devices=devices, cross_device_ops=cross_device_ops
    )


class DummyContextManager(contextlib.AbstractContextManager):
    """A context that does nothing: the "scope" of running without a strategy."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc_info: Any) -> None:
        return None


def strategy_scope_context(
    strategy: tf.distribute.Strategy | None,
) -> contextlib.AbstractContextManager:
    """`strategy.scope()`, or a no-op context when `strategy` is None.

    Lets one `with` block build variables under a strategy or without one.
    """
    if strategy is None:
        return DummyContextManager()
    return strategy.scope()
