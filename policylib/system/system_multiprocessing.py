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
import ast
import multiprocessing
import multiprocessing.pool
import os
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NoReturn, TypeVar

import cloudpickle
import gin

__all__ = [
    "GinStateSaver",
    "ImportHooksStateSaver",
    "MainModuleNotGuardedError",
    "StateSaver",
    "enable_interactive_mode",
    "ensure_main_guarded",
    "get_context",
    "handle_main",
    "handle_test_main",
    "initialized",
]


class StateSaver(metaclass=abc.ABCMeta):
    """Carries global state (gin config, registries) from the parent into workers."""

    @abc.abstractmethod
    def collect_state(self) -> object:
        """Returns the state to send, picklable with cloudpickle."""

    @abc.abstractmethod
    def restore_state(self, state: Any) -> None:
        """Installs `state` in the worker process."""


class GinStateSaver(StateSaver):
    """Sends the parent's gin bindings to workers.

    A binding parses only once its configurable is registered, and a fresh
    worker has not imported the modules that register them yet, so the state
    also names those modules and the worker imports them first.
    """

    def collect_state(self) -> tuple[list[str], str]:
        from gin import config as gin_config

        modules = set()
        for _, selector in gin_config._CONFIG:  # noqa: SLF001 - gin has no public view
            configurable = gin_config._REGISTRY.get_match(selector)  # noqa: SLF001
            module = getattr(configurable, "module", None)
            if module and module not in ("__main__", "__mp_main__"):
                modules.add(module)
        return sorted(modules), gin.config_str()

    def restore_state(self, state: tuple[list[str], str]) -> None:
        import importlib

        modules, bindings = state
        for module in modules:
            importlib.import_module(module)
        with gin.unlock_config():
            gin.parse_config(bindings)


class ImportHooksStateSaver(StateSaver):
    """Sends the parent's own `sys.meta_path` finders to workers.

    A forked worker inherits every import hook of its parent; a ``forkserver``
    or ``spawn`` worker starts with only those that site-packages installs.
    Without this, a worker cannot import a module that the parent reaches
    through a hook it installed at run time (an import alias, a package
    served from an archive), and fails when it unpickles a function from such
    a module. Finders that cannot be pickled are left out; the worker keeps
    its own finders and adds only those of a class it does not have.
    """

    def collect_state(self) -> list[bytes]:
        hooks = []
        for finder in sys.meta_path:
            if isinstance(finder, type):
                continue  # importlib's own finders are classes; workers have them
            try:
                hooks.append(cloudpickle.dumps(finder))
            except Exception:  # noqa: BLE001, S112 - a finder that cannot travel
                continue
        return hooks

    def restore_state(self, state: list[bytes]) -> None:
        present = {type(f) for f in sys.meta_path}
        received = []
        for blob in state:
            try:
                finder = cloudpickle.loads(blob)
            except Exception:  # noqa: BLE001, S112 - its module is missing here
                continue
            if type(finder) not in present:
                received.append(finder)
        sys.meta_path[:0] = received


_R = TypeVar("_R")

# Import hooks first: the modules that gin's bindings need may come through them.
_STATE_SAVERS: list[StateSaver] = [ImportHooksStateSaver(), GinStateSaver()]
_INITIALIZED = [False]


def initialized() -> bool:
    """Whether `handle_main`, `handle_test_main` or interactive mode ran."""
    return _INITIALIZED[0]


def _initialize(extra_state_savers: Sequence[StateSaver]) -> None:
    _STATE_SAVERS.extend(extra_state_savers)
    _INITIALIZED[0] = True


def handle_main(
    parent_main_fn: Callable[..., object],
    *args: Any,
    extra_state_savers: Sequence[StateSaver] = (),
    **kwargs: Any,
) -> NoReturn:
    """Runs `parent_main_fn` with absl's `app.run`, after registering state savers."""
    from absl import app

    _initialize(extra_state_savers)
    app.run(parent_main_fn, *args, **kwargs)


def handle_test_main(
    parent_main_fn: Callable[..., _R],
    *args: Any,
    extra_state_savers: Sequence[StateSaver] = (),
    **kwargs: Any,
) -> _R:
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


class MainModuleNotGuardedError(RuntimeError):
    """A worker process was started from a script's unguarded top-level code."""


_GUARD = 'if __name__ == "__main__":'


def ensure_main_guarded(start_method: str) -> None:
    """Raises if a process started now would run the main script's code again.

    With ``spawn`` and ``forkserver`` each new process imports the main
    script before it runs its target. A script that starts processes from
    unguarded top-level code therefore runs again in every worker, which then
    tries to start workers of its own. Python only notices this inside the
    worker, so the parent sees a worker that died. This check looks, in the
    parent, at the line of the main script being run: if it is outside an
    `if __name__ == "__main__":` block, it raises before any process starts.
    Inside a worker that is importing the main script it raises too.

    Raises:
      MainModuleNotGuardedError: the script needs the guard.
    """
    if start_method == "fork":
        return
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise MainModuleNotGuardedError(
            "A worker process is importing the main script, and the script's "
            "top-level code starts worker processes again. Put the script's "
            f"code under `{_GUARD}`."
        )
    line = _unguarded_main_line()
    if line is not None:
        path, lineno = line
        raise MainModuleNotGuardedError(
            f"policylib starts worker processes with {start_method!r}, which "
            f"import the main script {os.path.basename(path)!r} again, so each "
            f"worker would run the script's top-level code, including line "
            f"{lineno}, which starts the workers. Move the code that runs the "
            f"script (at least line {lineno}) under `{_GUARD}` in {path}."
        )


def _unguarded_main_line() -> tuple[str, int] | None:
    """(path, line) of the main script's unguarded top-level line running now.

    None when workers would not import the main script (an interactive
    session, a notebook, `python -m pytest`), when the main script is not
    running its top-level code, or when the line is under the guard.
    """
    main = sys.modules.get("__main__")
    spec_name = getattr(getattr(main, "__spec__", None), "name", None)
    path = getattr(main, "__file__", None)
    if main is None or path is None:
        return None
    if spec_name is not None and (
        spec_name == "__main__" or spec_name.endswith(".__main__")
    ):
        return None  # multiprocessing does not import a package's __main__
    frame: types.FrameType | None = sys._getframe(1)  # noqa: SLF001 - the only witness
    while frame is not None and not (
        frame.f_globals is vars(main) and frame.f_code.co_name == "<module>"
    ):
        frame = frame.f_back
    if frame is None or not _same_file(frame.f_code.co_filename, path):
        return None
    lineno = frame.f_lineno
    try:
        with open(path, encoding="utf-8") as f:
            tree = ast.parse(f.read(), filename=path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            if node.body[0].lineno <= lineno <= (node.body[-1].end_lineno or lineno):
                return None
    return path, lineno


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _is_main_test(test: ast.expr) -> bool:
    """Whether `test` is `__name__ == "__main__"` (either way round)."""
    if not (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
    ):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    constants = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and constants == ["__main__"]


class _TargetWithState:
    """A picklable worker target that first restores the parent's global state."""

    def __init__(self, target: Callable[..., object]):
        self._target = cloudpickle.dumps(target)
        self._states = []
        for saver in _STATE_SAVERS:
            try:
                self._states.append(cloudpickle.dumps(saver.collect_state()))
            except Exception:  # noqa: BLE001 - a state that cannot travel is skipped
                self._states.append(None)
        self._savers = cloudpickle.dumps(list(_STATE_SAVERS))

    def __call__(self, *args: Any, **kwargs: Any) -> object:
        savers = cloudpickle.loads(self._savers)
        for saver, state in zip(savers, self._states):
            if state is not None:
                saver.restore_state(cloudpickle.loads(state))
        return cloudpickle.loads(self._target)(*args, **kwargs)


class _Context:
    """A multiprocessing context whose `Process` targets carry global state."""

    def __init__(self, context: multiprocessing.context.BaseContext):
        self._context: Any = context  # a concrete context: it has `Process`

    def Process(  # noqa: N802 - multiprocessing's name
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Sequence[object] = (),
        kwargs: Mapping[str, object] | None = None,
        *,
        daemon: bool | None = None,
    ) -> multiprocessing.process.BaseProcess:
        ensure_main_guarded(self._context.get_start_method())
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

    def Pool(  # noqa: N802 - multiprocessing's name
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Sequence[object] = (),
        maxtasksperchild: int | None = None,
    ) -> multiprocessing.pool.Pool:
        """A process pool whose workers start through `Process` (with state)."""
        return multiprocessing.pool.Pool(
            processes, initializer, tuple(initargs), maxtasksperchild, context=self
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
