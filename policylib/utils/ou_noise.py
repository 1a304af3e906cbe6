"""Ornstein-Uhlenbeck exploration noise, as a variable-backed process."""

from __future__ import annotations

import tensorflow as tf

from policylib.typing import types

__all__ = [
    "OUProcess",
    "ornstein_uhlenbeck_process",
]


class OUProcess(tf.Module):
    """Ornstein-Uhlenbeck noise: each call returns `x <- (1 - damping) * x + N(0, stddev^2)`.

    Args:
      initial_value: initial `x` (a tensor, or a callable returning one).
      damping: pull towards 0 per step.
      stddev: standard deviation of the increments.
      seed: op seed.
      scope: name scope of the state variable.
    """

    def __init__(
        self,
        initial_value: types.Tensor,
        damping: types.Float = 0.15,
        stddev: types.Float = 0.2,
        seed: int | None = None,
        scope: str = "ornstein_uhlenbeck_noise",
    ):
        super().__init__()
        self._damping = damping
        self._stddev = stddev
        self._seed = seed
        with tf.name_scope(scope):
            self._x = tf.Variable(initial_value=initial_value, trainable=False)

    def __call__(self) -> tf.Tensor:
        noise = tf.random.normal(
            shape=self._x.shape,
            stddev=self._stddev,
            dtype=self._x.dtype,
            seed=self._seed,
        )
        return self._x.assign((1.0 - self._damping) * self._x + noise)


def ornstein_uhlenbeck_process(
    initial_value: types.Tensor,
    damping: float = 0.15,
    stddev: float = 0.2,
    seed: int | None = None,
    scope: str = "ornstein_uhlenbeck_noise",
) -> OUProcess | tf.Tensor:
    """An `OUProcess` (eager), or the op of one step of it (TF1 graph mode)."""
    process = OUProcess(initial_value, damping, stddev, seed, scope)
    return process if tf.executing_eagerly() else process()
