"""A `TFPyEnvironment`'s current time step kept in variables between driver runs.

Why: a driver run without a time step (`collect_driver.run()`) starts from
`env.current_time_step()`, whose `numpy_function` is a Python call from the
graph (~80 us; ~200 us with the caches cold, as right after a training step)
for a value the wrapper produced itself at the end of the previous run. With
one-step drivers (SAC's collection) that is a fifth of each collection step.

How it stays true: only a driver's loop (`DriverLoop`) writes the variables:
it marks them stale before its first step and, when the loop ends, stores its
last time step and marks them valid. A graph `current_time_step()` reads them
while valid and asks Python otherwise. Whatever else changes the Python
environment's time step makes them stale: an eager step or reset marks them
stale at once; a graph step or reset outside a driver turns the mirror off for
good when it is traced (no variable op goes into that graph: an op on a
resource would take it out of the order TensorFlow keeps between Python
calls). A loop that fails part way leaves them stale.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import tensorflow as tf

from policylib.trajectories import time_step as ts

__all__ = ["DriverLoop", "StepMirror"]

# Time steps larger than this (batch included) are not mirrored: copying them
# each run would cost more than the Python call it saves.
MAX_BYTES = 1 << 20


def in_usable_graph() -> bool:
    """Tracing a tf.function under eager execution (where the variables live)."""
    return (
        not tf.executing_eagerly()
        and tf.compat.v1.executing_eagerly_outside_functions()
        and not tf.distribute.has_strategy()
    )


class StepMirror:
    """Variables holding one environment's current time step (flattened)."""

    def __init__(self, specs: list[tf.TensorSpec], batch_size: int):
        with tf.init_scope():
            self.values = [
                tf.Variable(
                    tf.zeros([batch_size, *spec.shape.as_list()], spec.dtype),
                    trainable=False,
                    name=f"current_{spec.name or 'leaf'}",
                )
                for spec in specs
            ]
            self.valid = tf.Variable(False, trainable=False, name="current_valid")
            self.enabled = tf.Variable(True, trainable=False, name="mirror_enabled")
        # A graph reads or writes these: from then on eager updates mark them stale.
        self.used = False
        # A graph of the user's own steps the environment: Python alone knows.
        self.off = False
        self._deferring = threading.local()

    @staticmethod
    def build(specs: list[tf.TensorSpec], batch_size: int) -> StepMirror | None:
        """A mirror, or None where variables cannot serve (TF1 graphs, strategies, large steps)."""
        if not tf.executing_eagerly() or tf.distribute.has_strategy():
            return None
        size = sum(
            batch_size * spec.shape.num_elements() * max(spec.dtype.size, 1)
            for spec in specs
        )
        return StepMirror(specs, batch_size) if size <= MAX_BYTES else None

    def serves_this_graph(self) -> bool:
        return not self.off and in_usable_graph()

    @property
    def deferring(self) -> bool:
        """Tracing a driver's loop: its steps leave the mirror to the loop."""
        return getattr(self._deferring, "depth", 0) > 0

    @contextlib.contextmanager
    def defer(self) -> Iterator[None]:
        self._deferring.depth = getattr(self._deferring, "depth", 0) + 1
        try:
            yield
        finally:
            self._deferring.depth -= 1

    def updated(self) -> None:
        """The Python time step changed through a step or reset (eager or traced)."""
        if tf.executing_eagerly():
            if self.used:
                self.valid.assign(False)
        elif not self.deferring and not self.off:
            # A graph of the user's own steps the environment: from now on only
            # Python knows the current time step.
            self.off = True
            with tf.init_scope():
                self.enabled.assign(False)
                self.valid.assign(False)

    def read(self, ask_python: Callable[[], list[tf.Tensor]]) -> list[tf.Tensor]:
        """The current time step (flat): the variables when valid, else Python's.

        The variables are read outside the `tf.cond`, so the cond holds no
        resource and stays ordered with the graph's other Python calls.
        """
        self.used = True
        valid = self.valid.value()
        values = [v.value() for v in self.values]
        return tf.cond(valid, lambda: values, ask_python)

    def mark_stale(self) -> tf.Operation:
        self.used = True
        return self.valid.assign(False, read_value=False)

    def store(self, flat: list[tf.Tensor]) -> tf.Operation:
        """Writes `flat` and marks it valid (unless the mirror was turned off)."""
        self.used = True
        writes = [v.assign(x, read_value=False) for v, x in zip(self.values, flat)]
        with tf.control_dependencies(writes):
            return self.valid.assign(self.enabled.value(), read_value=False)


class DriverLoop:
    """One traced driver loop over `env`: its first time step, its steps, its end.

    Drivers get the first time step here (`current_time_step` / `reset`),
    build their loop inside `stepping()` and pass the loop's last time step
    through `finish`. For environments without a mirror (or outside a
    tf.function) these are the plain environment calls.
    """

    def __init__(self, env: object):
        # The environment itself, not a wrapper forwarding attributes to it.
        mirror = vars(env).get("step_mirror") if hasattr(env, "__dict__") else None
        self._env = env
        self._mirror: StepMirror | None = (
            mirror
            if isinstance(mirror, StepMirror) and mirror.serves_this_graph()
            else None
        )
        self._from_env = False

    def current_time_step(self) -> ts.TimeStep:
        self._from_env = True
        return self._env.current_time_step()  # type: ignore[attr-defined]

    def reset(self) -> ts.TimeStep:
        self._from_env = True
        if self._mirror is None:
            return self._env.reset()  # type: ignore[attr-defined]
        with self._mirror.defer():
            return self._env.reset()  # type: ignore[attr-defined]

    @contextlib.contextmanager
    def stepping(self) -> Iterator[None]:
        """Scope of the loop: marked stale before it, its steps deferred."""
        if self._mirror is None:
            yield
            return
        stale = self._mirror.mark_stale()
        with tf.control_dependencies([stale]), self._mirror.defer():
            yield

    def finish(self, time_step: ts.TimeStep) -> ts.TimeStep:
        """`time_step` (the loop's last), stored when it is the environment's own.

        A loop that started from a caller's time step may have run no step, so
        its last time step need not be the environment's: nothing is stored.
        """
        if self._mirror is None or not self._from_env:
            return time_step
        flat = tf.nest.flatten(time_step)
        with tf.control_dependencies([self._mirror.store(flat)]):
            flat = [tf.identity(x) for x in flat]
        return tf.nest.pack_sequence_as(time_step, flat)
