"""`ParallelPyEnvironment`: environments stepped in worker processes, as one batch.

Each environment lives in its own process (`ProcessPyEnvironment`), built there
from a constructor that is pickled with cloudpickle (lambdas and
`functools.partial` work). Calls are messages over a pipe; a worker that raises
sends its traceback back, and a worker that dies (killed, crashed, out of
memory) is noticed while the parent waits, and reported with its exit code
instead of hanging.
"""

from __future__ import annotations

import atexit
import multiprocessing.process
import time
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection
from typing import Any, cast

import cloudpickle
import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.environments import batched_py_environment, py_environment
from policylib.system import system_multiprocessing
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["EnvironmentWorkerError", "ParallelPyEnvironment", "ProcessPyEnvironment"]

EnvConstructor = Callable[[], py_environment.PyEnvironment]
Promise = Callable[[], Any]

_POLL_SECONDS = 0.1
_JOIN_SECONDS = 5.0

# Messages between the parent and a worker.
_READY, _ACCESS, _CALL, _RESULT, _EXCEPTION, _CLOSE = range(1, 7)


class EnvironmentWorkerError(RuntimeError):
    """An environment worker process raised, or died."""


def _worker(conn: Connection, pickled_constructor: bytes, flatten: bool) -> None:
    """The loop of a worker process: build the environment, then serve calls."""
    try:
        env = cloudpickle.loads(pickled_constructor)()
        action_spec = env.action_spec()
        conn.send(_READY)
        while True:
            try:
                message, payload = conn.recv()
            except (EOFError, KeyboardInterrupt):
                break
            if message == _ACCESS:
                conn.send((_RESULT, getattr(env, payload)))
            elif message == _CALL:
                name, args, kwargs = payload
                if flatten and name == "step":
                    args = (tf.nest.pack_sequence_as(action_spec, list(args[0])),)
                result = getattr(env, name)(*args, **kwargs)
                if flatten and name in ("step", "reset"):
                    result = tf.nest.flatten(result)
                conn.send((_RESULT, result))
            elif message == _CLOSE:
                env.close()
                break
            else:
                raise KeyError(f"Received message of unknown type {message}")
    except Exception:  # noqa: BLE001 - every error goes back to the parent
        try:
            conn.send((_EXCEPTION, traceback.format_exc()))
        except OSError:
            pass
    finally:
        conn.close()


class ProcessPyEnvironment:
    """One environment in a worker process.

    Args:
      env_constructor: builds the environment (called in the worker).
      flatten: exchange flat lists instead of nests (faster to pickle).
      timeout: seconds to wait for one answer (None: no limit); a worker that
        takes longer is stopped and reported, by `name`, with what it ran.
      name: how errors name this worker (e.g. "worker 2").
    """

    def __init__(
        self,
        env_constructor: EnvConstructor,
        flatten: bool = False,
        timeout: float | None = None,
        name: str = "worker",
    ):
        self._pickled_constructor = cloudpickle.dumps(env_constructor)
        self._flatten = flatten
        self._timeout = timeout
        self._name = name
        self._conn: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._last_call = "start"
        self._observation_spec: types.NestedArraySpec | None = None
        self._action_spec: types.NestedArraySpec | None = None
        self._time_step_spec: ts.TimeStep | None = None

    def start(self, wait_to_start: bool = True) -> None:
        """Starts the worker; with `wait_to_start`, waits until its environment is built."""
        context = system_multiprocessing.get_context()
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(
            target=_worker,
            args=(child_conn, self._pickled_constructor, self._flatten),
            daemon=True,
        )
        self._process.start()
        # Only the worker may hold its end: once it exits, recv here sees EOF.
        child_conn.close()
        atexit.register(self.close)
        if wait_to_start:
            self.wait_start()

    def wait_start(self) -> None:
        """Waits until the worker built its environment.

        Raises:
          EnvironmentWorkerError: the constructor raised, or the worker died.
        """
        self._last_call = "the environment constructor"
        message = self._recv()
        if message != _READY:
            self.close()
            raise EnvironmentWorkerError(
                f"Environment worker sent {message!r} instead of ready."
            )

    def observation_spec(self) -> types.NestedArraySpec:
        if self._observation_spec is None:
            self._observation_spec = self.call("observation_spec")()
        return self._observation_spec

    def action_spec(self) -> types.NestedArraySpec:
        if self._action_spec is None:
            self._action_spec = self.call("action_spec")()
        return self._action_spec

    def time_step_spec(self) -> ts.TimeStep:
        if self._time_step_spec is None:
            self._time_step_spec = self.call("time_step_spec")()
        return self._time_step_spec

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return self.access(name)

    def access(self, name: str) -> Any:
        """The value of attribute `name` of the environment in the worker."""
        self._send(_ACCESS, name, f"attribute {name!r}")
        return self._receive()

    def call(self, name: str, *args: Any, **kwargs: Any) -> Promise:
        """Calls method `name` in the worker; returns a function that waits for the result."""
        self._send(_CALL, (name, args, kwargs), f"{name}()")
        return self._receive

    def step(self, action: types.NestedArray, blocking: bool = True) -> Any:
        promise = self.call("step", action)
        return promise() if blocking else promise

    def reset(self, blocking: bool = True) -> Any:
        promise = self.call("reset")
        return promise() if blocking else promise

    def render(self, mode: str = "rgb_array", blocking: bool = True) -> Any:
        if mode != "rgb_array":
            raise NotImplementedError(
                f"Only rgb_array rendering mode is supported. Got {mode}"
            )
        promise = self.call("render")
        return promise() if blocking else promise

    def close(self) -> None:
        """Asks the worker to close its environment and exit; kills it if it does not."""
        atexit.unregister(self.close)
        if self._conn is not None:
            try:
                self._conn.send((_CLOSE, None))
            except OSError:
                pass
            self._conn.close()
            self._conn = None
        if self._process is not None:
            self._process.join(_JOIN_SECONDS)
            if self._process.is_alive():
                self._process.terminate()
                self._process.join(_JOIN_SECONDS)

    def _died(self) -> EnvironmentWorkerError:
        process = self._process
        if process is not None:
            process.join(_JOIN_SECONDS)
        code = None if process is None else process.exitcode
        pid = None if process is None else process.pid
        return EnvironmentWorkerError(
            f"Environment {self._name} process (pid {pid}) died with exit code {code} "
            f"while running {self._last_call}."
        )

    def _timed_out(self) -> EnvironmentWorkerError:
        pid = None if self._process is None else self._process.pid
        error = EnvironmentWorkerError(
            f"Environment {self._name} process (pid {pid}) did not answer within "
            f"{self._timeout:g} s while running {self._last_call}; it was stopped."
        )
        if self._process is not None:
            self._process.kill()
            self._process.join(_JOIN_SECONDS)
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        return error

    def _send(self, message: int, payload: object, what: str) -> None:
        if self._conn is None:
            raise EnvironmentWorkerError(
                f"Environment worker is not running (closed or never started); "
                f"cannot run {what}."
            )
        self._last_call = what
        try:
            self._conn.send((message, payload))
        except OSError as e:
            raise self._died() from e

    def _recv(self) -> Any:
        """The next message, noticing a dead worker instead of waiting forever."""
        conn = self._conn
        if conn is None:
            raise EnvironmentWorkerError("Environment worker is closed.")
        # Started with the connection.
        process = cast(multiprocessing.process.BaseProcess, self._process)
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        try:
            while not conn.poll(_POLL_SECONDS):
                if not process.is_alive():
                    if conn.poll(0):
                        break
                    raise self._died()
                if deadline is not None and time.monotonic() > deadline:
                    raise self._timed_out()
            received = conn.recv()
        except (EOFError, OSError) as e:
            raise self._died() from e
        if isinstance(received, tuple) and received and received[0] == _EXCEPTION:
            raise EnvironmentWorkerError(
                f"Error in environment process while running {self._last_call}:\n"
                f"{received[1]}"
            )
        return received

    def _receive(self) -> Any:
        message, payload = self._recv()
        if message != _RESULT:
            self.close()
            raise KeyError(f"Received message of unexpected type {message}")
        return payload


@gin.configurable
class ParallelPyEnvironment(batched_py_environment.EnvironmentBatch):
    """A batch of environments, each in its own process, stepped concurrently.

    Args:
      env_constructors: one callable per environment that builds it.
      start_serially: start one worker at a time (False starts all, then waits).
      blocking: wait for each worker in turn (False sends to all, then waits).
      flatten: exchange flat lists with workers instead of nests.
      timeout: seconds a worker may take to answer one call (None: no
        limit); past it the worker is stopped and an `EnvironmentWorkerError`
        names it ("worker 2") and the call it hung in.

    Raises:
      TypeError: a constructor is not callable (an environment was passed).
      ValueError: the environments' specs differ.
    """

    _envs: list[ProcessPyEnvironment]

    def __init__(
        self,
        env_constructors: Sequence[EnvConstructor],
        start_serially: bool = True,
        blocking: bool = False,
        flatten: bool = False,
        timeout: float | None = None,
    ):
        super().__init__()
        if not env_constructors or not all(callable(c) for c in env_constructors):
            raise TypeError(
                "Found non-callable `env_constructors` in `ParallelPyEnvironment` "
                "__init__ call. Did you accidentally pass in environment instances "
                f"instead of constructors? Got: {env_constructors}"
            )
        self._envs = [
            ProcessPyEnvironment(
                c, flatten=flatten, timeout=timeout, name=f"worker {i}"
            )
            for i, c in enumerate(env_constructors)
        ]
        self._blocking = blocking
        self._flatten = flatten
        self._start_serially = start_serially
        self._parallel_execution = True
        self.start()
        try:
            self._action_spec, self._observation_spec, self._time_step_spec = (
                batched_py_environment.common_specs(self._envs)
            )
        except Exception:
            self.close()
            raise

    def start(self) -> None:
        """Starts all workers (see `start_serially`)."""
        try:
            for env in self._envs:
                env.start(wait_to_start=self._start_serially)
            if not self._start_serially:
                for env in self._envs:
                    env.wait_start()
        except Exception:
            self.close()
            raise

    @property
    def envs(self) -> list[ProcessPyEnvironment]:
        return self._envs

    def _gather(self, promises: list[Any]) -> list[Any]:
        return promises if self._blocking else [promise() for promise in promises]

    def _stack(self, time_steps: list[ts.TimeStep]) -> ts.TimeStep:
        if self._flatten:
            return nest_utils.fast_map_structure_flatten(
                lambda *arrays: np.stack(arrays), self._time_step_spec, *time_steps
            )
        return nest_utils.fast_map_structure(
            lambda *arrays: np.stack(arrays), *time_steps
        )

    def _unstack_actions(
        self, batched_actions: types.NestedArray
    ) -> list[types.NestedArray]:
        flat = tf.nest.flatten(batched_actions)
        try:
            per_env: list[types.NestedArray] = list(zip(*flat))
        except TypeError:  # A 0-d leaf: zip's "iteration over a 0-d array".
            raise ValueError(
                "ParallelPyEnvironment.step: an action has no batch dim; expected "
                f"a leading dim of batch_size={len(self._envs)}. Got: {batched_actions!r:.200}"
            ) from None
        if self._flatten:
            return per_env
        return [tf.nest.pack_sequence_as(batched_actions, list(a)) for a in per_env]

    def _reset(self) -> ts.TimeStep:
        return self._stack(self._gather([e.reset(self._blocking) for e in self._envs]))

    def _step(self, actions: types.NestedArray) -> ts.TimeStep:
        per_env = self._unstack_actions(actions)
        if len(per_env) != len(self._envs):
            raise ValueError(
                f"Expected actions for {len(self._envs)} environments, got "
                f"{len(per_env)} (the actions' leading dim)."
            )
        return self._stack(
            self._gather(
                [e.step(a, self._blocking) for e, a in zip(self._envs, per_env)]
            )
        )

    def seed(  # type: ignore[override]  # one seed per environment, as TF-Agents
        self, seeds: Sequence[types.Seed | None]
    ) -> list[Any]:
        """Seeds each environment; a None entry leaves that one as it is.

        Raises:
          ValueError: not one seed per environment.
        """
        if len(seeds) != len(self._envs):
            raise ValueError(
                "Number of seeds should match the number of parallel_envs: "
                f"{len(seeds)} vs {len(self._envs)}."
            )
        promises = [
            (env.call("seed", s) if s is not None else (lambda: None))
            for s, env in zip(seeds, self._envs)
        ]
        return [promise() for promise in promises]

    def render(self, mode: str = "rgb_array") -> types.NestedArray:
        if mode != "rgb_array":
            raise NotImplementedError(
                f"Only rgb_array rendering mode is supported. Got {mode}"
            )
        images = self._gather(
            [e.render(mode, blocking=self._blocking) for e in self._envs]
        )
        return nest_utils.stack_nested_arrays(images)

    def get_info(self) -> types.NestedArray:
        return nest_utils.stack_nested_arrays(
            [promise() for promise in [e.call("get_info") for e in self._envs]]
        )

    def close(self) -> None:
        """Closes every worker."""
        for env in self._envs:
            env.close()
