"""Run a callable every N-th call: in graphs (a variable counter) or eagerly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from policylib.typing import types
from policylib.utils.variables import create_variable

__all__ = [
    "EagerPeriodically",
    "Periodically",
    "periodically",
]


class Periodically(tf.Module):
    """Runs `body` every `period`-th call, counting in a variable (graph-safe)."""

    def __init__(
        self, body: Callable, period: types.Int | None, name: str = "periodically"
    ):
        super().__init__(name=name)
        if not callable(body):
            raise TypeError("body must be callable.")
        self._body = body
        self._period = period
        self._counter = create_variable(self.name + "/counter", 0)

    def __call__(self) -> tf.Operation | tf.Tensor:
        if self._period is None:
            return tf.no_op()
        if isinstance(self._period, int) and self._period == 1:
            return self._body()
        period = tf.cast(self._period, self._counter.dtype)
        remainder = tf.math.mod(self._counter.assign_add(1), period)
        return tf.cond(tf.equal(remainder, 0), self._body, tf.no_op)


class EagerPeriodically:
    """Runs `body` every `period`-th call, counting in Python (eager)."""

    def __init__(self, body: Callable, period: int | None):
        if not callable(body):
            raise TypeError("body must be callable.")
        self._body = body
        self._period = period
        self._counter = 0

    def __call__(self) -> Any:
        if self._period is None:
            return tf.no_op()
        if self._period == 1:
            return self._body()
        self._counter += 1
        if self._counter % self._period == 0:
            return self._body()
        return None


def periodically(
    body: Callable, period: Any, name: str = "periodically"
) -> Periodically | EagerPeriodically | tf.Operation:
    """A callable running `body` every `period` calls (None: never; 1: always).

    Eagerly, returns the callable (a variable-backed one when `period` is a
    `tf.Variable`); in TF1 graph mode, returns the op of one call.
    """
    if tf.executing_eagerly():
        if isinstance(period, tf.Variable):
            return Periodically(body, period, name)
        return EagerPeriodically(body, period)
    return Periodically(body, period, name)()
