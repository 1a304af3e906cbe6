"""Multiprocessing contexts for environment worker processes.

TF-Agents refuses to hand out a context until the program calls
`handle_main`. policylib does not: `get_context()` works anywhere (scripts,
tests, notebooks), so `ParallelPyEnvironment` needs no start-up ritual. The
`handle_*` functions remain, so TF-Agents programs run unchanged, and still
register extra `StateSaver`s.

The default start method is ``forkserver`` where the platform has it (a fork of
a process that runs TensorFlow can deadlock; a fresh interpreter per worker is
slow), otherwise ``spawn``. Worker targets are pickled with cloudpickle (a
TensorFlow Probability dependency), so lambdas and closures work as
environment constructors.
"""

from __future__ import annotations

import abc
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any

import cloudpickle
import gin

__all__ = [
    "StateSaver",
    "enable_interactive_mode",
    "get_context",
    "handle_main",
    "handle_test_main",
    "initialized",
]


class StateSaver(metaclass=abc.ABCMeta):
    """Carries global state (gin config, registries) from the parent into workers."""

    @abc.abstractmethod
    def collect_state(self) -> Any:
        """Returns the state to send, picklable with cloudpickle."""

    @abc.abstractmethod
    def restore_state(self, state: Any) -> None:
        """Installs `state` in the worker process."""


class GinStateSaver(StateSaver):
    """Sends the parent's gin bindings to workers."""

    def collect_state(self) -> str:
        return gin.config_str()

    def restore_state(self, state: str) -> None:
        with gin.unlock_config():
            gin.parse_config(state)


_STATE_SAVERS: list[StateSaver] = [GinStateSaver()]
_INITIALIZED = [False]


def initialized() -> bool:
    """Whether `handle_main`, `handle_test_main` or interactive mode ran."""
    return _INITIALIZED[0]


def _initialize(extra_state_savers: Sequence[StateSaver]) -> None:
    _STATE_SAVERS.extend(extra_state_savers)
    _INITIALIZED[0] = True


def handle_main(
    parent_main_fn: Callable[..., Any],
    *args: Any,
    extra_state_savers: Sequence[StateSaver] = (),
    **kwargs: Any,
) -> Any:
    """Runs `parent_main_fn` with absl's `app.run`, after registering state savers."""
    from absl import app

    _initialize(extra_state_savers)
    return app.run(parent_main_fn, *args, **kwargs)


def handle_test_main(
    parent_main_fn: Callable[..., Any],
    *args: Any,
    extra_state_savers: Sequence[StateSaver] = (),
    **kwargs: Any,
) -> Any:
    """Runs a test main (e.g. `tf.test.main`), after registering state savers."""
    _initialize(extra_state_savers)
    return parent_main_fn(*args, **kwargs)


def enable_interactive_mode(
    extra_state_savers: Sequence[StateSaver] | None = None,
) -> None:
    """Registers state savers from a notebook or console.

    Raises:
      ValueError: multiprocessing was already initialized.
    """
    if _INITIALIZED[0]:
        raise ValueError("Multiprocessing already initialized")
    _initialize(extra_state_savers or ())


def default_start_method() -> str:
    """``forkserver`` where available, else ``spawn``."""
    methods = multiprocessing.get_all_start_methods()
    return "forkserver" if "forkserver" in methods else "spawn"


class _TargetWithState:
    """A picklable worker target that first restores the parent's global state."""

    def __init__(self, target: Callable[..., Any]):
        self._target = cloudpickle.dumps(target)
        self._states = []
        for saver in _STATE_SAVERS:
            try:
                self._states.append(cloudpickle.dumps(saver.collect_state()))
            except Exception:  # noqa: BLE001 - a state that cannot travel is skipped
                self._states.append(None)
        self._savers = cloudpickle.dumps(list(_STATE_SAVERS))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        savers = cloudpickle.loads(self._savers)
        for saver, state in zip(savers, self._states):
            if state is not None:
                saver.restore_state(cloudpickle.loads(state))
        return cloudpickle.loads(self._target)(*args, **kwargs)


class _Context:
    """A multiprocessing context whose `Process` targets carry global state."""

    def __init__(self, context: multiprocessing.context.BaseContext):
        self._context = context

    def Process(  # noqa: N802 - multiprocessing's name
        self,
        group: None = None,
        target: Callable[..., Any] | None = None,
        name: str | None = None,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> multiprocessing.process.BaseProcess:
        if target is not None:
            target = _TargetWithState(target)
        return self._context.Process(
            group=group,
            target=target,
            name=name,
            args=tuple(args),
            kwargs=kwargs or {},
            daemon=daemon,
        )

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


# Imported once by the fork server, so each worker forks with it loaded
# instead of importing TensorFlow again (seconds per worker).
_FORKSERVER_PRELOAD = ["policylib.environments.parallel_py_environment"]


def get_context(method: str | None = None) -> _Context:
    """A multiprocessing context (`default_start_method()` when `method` is None)."""
    context = multiprocessing.get_context(method or default_start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(_FORKSERVER_PRELOAD)
    return _Context(context)
