"""`TFPyEnvironment`: a Python environment exposed as a TensorFlow environment.

Each `reset`, `step` and `current_time_step` runs the Python environment
inside `tf.numpy_function`, so it works eagerly, in `tf.function` and in TF1
graphs. Unbatched environments are wrapped in a `BatchedPyEnvironment` of one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from multiprocessing import pool as mp_pool
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.environments import (
    batched_py_environment,
    py_environment,
    step_mirror,
    tf_environment,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["TFPyEnvironment"]


_CONCURRENT = (
    "Detected concurrent execution of TFPyEnvironment ops. Make sure the "
    "appropriate step_state is passed to step()."
)


@gin.configurable
class TFPyEnvironment(tf_environment.TFEnvironment):
    """Runs a `PyEnvironment` from TensorFlow ops.

    Args:
      environment: a `PyEnvironment`, or a callable that builds one (built in
        the isolation thread when `isolation` is set).
      check_dims: check in `step` that every action's leading dim is the
        batch size.
      isolation: False: call the Python environment from whichever thread runs
        the op. True: call it from one dedicated thread. A
        `multiprocessing.pool.Pool` (or `ThreadPool`): call it through that pool.

    Raises:
      TypeError: `environment` is not (and does not build) a `PyEnvironment`,
        or `isolation` is not a bool or a pool.
    """

    def __init__(
        self,
        environment: py_environment.PyEnvironment
        | Callable[[], py_environment.PyEnvironment],
        check_dims: bool = False,
        isolation: bool | mp_pool.Pool = False,
    ):
        self._pool: mp_pool.Pool | None
        if isinstance(isolation, mp_pool.Pool):
            self._pool = isolation
        elif isinstance(isolation, bool):
            self._pool = mp_pool.ThreadPool(1) if isolation else None
        else:
            raise TypeError(
                "isolation should be True, False, or an instance of a "
                f"multiprocessing Pool or ThreadPool. Saw: {isolation!r}"
            )
        if callable(environment) and not isinstance(
            environment, py_environment.PyEnvironment
        ):
            environment = self._execute(environment)
        if not isinstance(environment, py_environment.PyEnvironment):
            raise TypeError(
                "Environment should implement py_environment.PyEnvironment; got "
                f"{type(environment).__name__}."
            )
        if not environment.batched:
            environment = batched_py_environment.BatchedPyEnvironment(
                [environment], multithreading=self._pool is None
            )
        self._env = environment
        self._check_dims = check_dims
        super().__init__(
            tensor_spec.from_spec(environment.time_step_spec()),
            tensor_spec.from_spec(environment.action_spec()),
            environment.batch_size or 1,
        )
        self._flat_time_step_specs = tf.nest.flatten(self.time_step_spec())
        self._flat_np_dtypes = [
            np.dtype(s.dtype.as_numpy_dtype) for s in self._flat_time_step_specs
        ]
        # Per-step shortcuts: a one-leaf action spec; a time step spec whose
        # observation and reward are single leaves.
        self._single_action = not tf.nest.is_nested(self.action_spec())
        step_spec = self.time_step_spec()
        self._four_leaves = not (
            tf.nest.is_nested(step_spec.observation)
            or tf.nest.is_nested(step_spec.reward)
        )
        self._time_step: ts.TimeStep | None = None
        # The current time step in variables for graph readers (see step_mirror).
        self.step_mirror = step_mirror.StepMirror.build(
            self._flat_time_step_specs, self.batch_size
        )
        self._render_shape: tuple[int, ...] | None = None
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        # Only called for names not found normally: forward to the Python env.
        if name.startswith("__") or "_env" not in self.__dict__:
            raise AttributeError(name)
        return getattr(self.__dict__["_env"], name)

    @property
    def pyenv(self) -> py_environment.PyEnvironment:
        """The (batched) Python environment this runs."""
        return self._env

    def close(self) -> None:
        """Closes the Python environment and the isolation pool, if any."""
        self._env.close()
        if self._pool is not None:
            self._pool.close()
            self._pool.join()
            self._pool = None

    def _execute(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            return fn(*args)
        return self._pool.apply(fn, args)

    def _flat_outputs(self, time_step: ts.TimeStep) -> list[np.ndarray]:
        # A TimeStep of four leaves flattens in field order (the common case,
        # without tf.nest).
        leaves: Any = time_step
        if not (
            self._four_leaves
            and type(time_step) is ts.TimeStep
            and all(type(leaf) is np.ndarray for leaf in time_step)
        ):
            leaves = tf.nest.flatten(time_step)  # e.g. a list observation's element
        return [
            value
            if type(value) is np.ndarray and value.dtype == dtype
            else np.asarray(value, dtype=dtype)
            for value, dtype in zip(leaves, self._flat_np_dtypes)
        ]

    def _to_time_step(self, flat: list[tf.Tensor]) -> ts.TimeStep:
        """Names the numpy_function outputs and, in graphs, sets their shapes."""
        named = []
        for value, spec in zip(flat, self._flat_time_step_specs):
            value = tf.identity(value, name=spec.name)
            if not tf.executing_eagerly():
                value.set_shape(
                    tf.TensorShape([self.batch_size]).concatenate(spec.shape)
                )
            named.append(value)
        return tf.nest.pack_sequence_as(self.time_step_spec(), named)

    def _current_time_step(self) -> ts.TimeStep:
        eager = tf.executing_eagerly()  # eager callers on several threads take turns

        def current() -> list[np.ndarray]:
            with common.exclusive(self._lock, _CONCURRENT, wait=eager):
                if self._time_step is None:
                    self._time_step = self._env.reset()
                return self._flat_outputs(self._time_step)

        def ask_python() -> list[tf.Tensor]:
            return tf.numpy_function(
                lambda: self._execute(current),
                [],
                [s.dtype for s in self._flat_time_step_specs],
                name="current_time_step_py_func",
            )

        with tf.name_scope("current_time_step"):
            mirror = self.step_mirror
            if mirror is not None and mirror.serves_this_graph():
                flat = mirror.read(ask_python)
            else:
                flat = ask_python()
        return self._to_time_step(flat)

    def _reset(self) -> ts.TimeStep:
        eager = tf.executing_eagerly()

        def reset() -> list[np.ndarray]:
            with common.exclusive(self._lock, _CONCURRENT, wait=eager):
                self._time_step = self._env.reset()
                return self._flat_outputs(self._time_step)

        with tf.name_scope("reset"):
            flat = tf.numpy_function(
                lambda: self._execute(reset),
                [],
                [s.dtype for s in self._flat_time_step_specs],
                name="reset_py_func",
            )
        if self.step_mirror is not None:
            self.step_mirror.updated()
        return self._to_time_step(flat)

    def _step(self, actions: types.NestedTensor) -> ts.TimeStep:
        eager = tf.executing_eagerly()

        def step(*flat_actions: np.ndarray) -> list[np.ndarray]:
            with common.exclusive(self._lock, _CONCURRENT, wait=eager):
                action = (
                    flat_actions[0]
                    if self._single_action
                    else tf.nest.pack_sequence_as(
                        self.action_spec(), list(flat_actions)
                    )
                )
                self._time_step = self._env.step(action)
                return self._flat_outputs(self._time_step)

        with tf.name_scope("step"):
            spec: Any = self.action_spec()
            if isinstance(actions, (list, tuple)) and not tf.nest.is_nested(spec):
                # A single-leaf spec: a list wraps one action (`step([1])`, which
                # TF-Agents flattens to its leaf) or is a value (`step([0, 1])`).
                flat = tf.nest.flatten(actions)
                actions = (
                    flat[0]
                    if len(flat) == 1
                    else tf.convert_to_tensor(actions, dtype=spec.dtype)
                )
            nest_utils.assert_same_structure(
                actions,
                self.action_spec(),
                message="TFPyEnvironment.step: action and action_spec structures do not match",
            )
            _check_no_none_action(actions, self.action_spec())
            flat_actions = [tf.identity(a) for a in tf.nest.flatten(actions)]
            for action, spec in zip(flat_actions, tf.nest.flatten(self.action_spec())):
                _check_action_shape(action, spec, self.batch_size)
                _check_batch_dim(action, spec, self._env.batch_size)
            if self._check_dims:
                for action in flat_actions:
                    outer = None if action.shape.rank in (None, 0) else action.shape[0]
                    if action.shape.rank == 0 or (
                        outer is not None and outer != self.batch_size
                    ):
                        raise ValueError(
                            "Expected actions whose major dimension is batch_size "
                            f"({self.batch_size}), but saw action with shape "
                            f"{action.shape}:\n   {action}"
                        )
            flat = tf.numpy_function(
                lambda *a: self._execute(step, *a),
                flat_actions,
                [s.dtype for s in self._flat_time_step_specs],
                name="step_py_func",
            )
        if self.step_mirror is not None:
            self.step_mirror.updated()
        return self._to_time_step(flat)

    def render(self, mode: str = "rgb_array") -> tf.Tensor:
        """The environments' images as a uint8 tensor ([batch, height, width, 3]).

        `mode='human'` also draws to a window and returns zeros of that shape.
        """
        if self._render_shape is None:
            self.current_time_step()
            self._render_shape = np.shape(self._execute(self._env.render, "rgb_array"))
        shape = self._render_shape

        def render(mode: bytes | str) -> np.ndarray:
            mode = mode.decode() if isinstance(mode, bytes) else str(mode)
            if mode == "human":
                self._env.render(mode)
                return np.zeros(shape, np.uint8)
            return np.asarray(self._env.render(mode)).astype(np.uint8, copy=False)

        image = tf.numpy_function(
            lambda m: self._execute(render, m), [mode], tf.uint8, name="render_py_func"
        )
        if not tf.executing_eagerly():
            image.set_shape(shape)
        return image


def _check_no_none_action(
    actions: types.NestedTensor, action_spec: types.NestedTensorSpec
) -> None:
    """Raises ValueError naming the action leaf that is None."""
    if all(value is not None for value in tf.nest.flatten(actions)):
        return
    for path, value in nest_utils.flatten_with_joined_paths(actions):
        if value is None:
            spec = dict(nest_utils.flatten_with_joined_paths(action_spec)).get(path)
            where = f"action.{path}" if path else "action"
            raise ValueError(
                f"TFPyEnvironment.step: {where} is None; expected a tensor for {spec}."
            )


def _check_batch_dim(
    action: tf.Tensor, spec: tf.TensorSpec, batch_size: int | None
) -> None:
    """Raises ValueError for an action that cannot be a batch of `batch_size`.

    Only what the Python side would refuse anyway is checked here, where the
    message can name it (inside a graph it would be an opaque op error): a
    known leading dim other than `batch_size`, or an unbatched action for a
    batch of several (a batch of one takes one, as in TF-Agents).
    """
    rank, spec_rank = action.shape.rank, spec.shape.rank
    if rank is None or spec_rank is None or batch_size is None:
        return
    if rank == spec_rank + 1:
        outer = action.shape[0]
        if outer is not None and outer != batch_size:
            raise ValueError(
                f"TFPyEnvironment.step: an action has a batch dim of {outer} (shape "
                f"{action.shape}); expected batch_size={batch_size} for {spec}."
            )
    elif rank == spec_rank and batch_size != 1:
        if rank == 0 or action.shape[0] != batch_size:
            raise ValueError(
                f"TFPyEnvironment.step: an action of shape {action.shape} has no "
                f"batch dim; expected [batch_size={batch_size}] + {spec.shape} for "
                f"{spec} (only a batch of one takes an unbatched action)."
            )


def _check_action_shape(
    action: tf.Tensor, spec: tf.TensorSpec, batch_size: int | None
) -> None:
    """Raises ValueError unless `action` is `spec`-shaped, with or without a batch dim."""
    rank, spec_rank = action.shape.rank, spec.shape.rank
    if rank is None:
        return
    fits = (rank == spec_rank and action.shape.is_compatible_with(spec.shape)) or (
        rank == spec_rank + 1 and action.shape[1:].is_compatible_with(spec.shape)
    )
    if not fits:
        raise ValueError(
            f"TFPyEnvironment.step: an action has shape {action.shape}; expected "
            f"[batch_size={batch_size}] + {spec.shape} for {spec}."
        )
