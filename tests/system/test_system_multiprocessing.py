"""The main-script guard check that runs before worker processes start."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import gin
import pytest

from policylib.system import system_multiprocessing as smp


@pytest.mark.parametrize(
    "test, is_guard",
    [
        ('__name__ == "__main__"', True),
        ("'__main__' == __name__", True),
        ('__name__ != "__main__"', False),
        ('__file__ == "__main__"', False),
        ("__name__ == '__mp_main__'", False),
    ],
)
def test_guard_expressions(test: str, is_guard: bool) -> None:
    assert smp._is_main_test(ast.parse(test, mode="eval").body) is is_guard


def test_fork_is_never_checked() -> None:
    smp.ensure_main_guarded("fork")


def test_under_pytest_nothing_is_reimported() -> None:
    smp.ensure_main_guarded("forkserver")
    smp.ensure_main_guarded("spawn")


SCRIPT = """
from policylib.system import system_multiprocessing as smp

def start():
    smp.ensure_main_guarded("spawn")
    print("started")

try:
    if "__main__" == __name__:
        start()
except RuntimeError:
    raise
{tail}
"""


@pytest.mark.parametrize(
    "tail, starts",
    [("", 1), ("start()", None), ("if __name__ == '__main__':\n    start()", 2)],
    ids=["guarded-in-try", "unguarded-call-through-a-function", "second-guard"],
)
def test_scripts(tmp_path, tail: str, starts: int | None) -> None:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(SCRIPT.format(tail=tail)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120
    )
    if starts is not None:
        assert done.returncode == 0, done.stderr
        assert done.stdout.count("started") == starts
    else:
        assert done.returncode == 1
        assert "MainModuleNotGuardedError" in done.stderr
        assert "line 13" in done.stderr and "script.py" in done.stderr


def test_pool_workers_see_the_parents_import_hooks() -> None:
    """A forkserver worker unpickles a function from a hook-served module.

    Without the parent's hooks the worker fails to unpickle the task and
    multiprocessing's pool waits for it for ever; the timeout turns that
    into a failure within a minute.
    """
    import importlib

    from tests.system import _hooked_import

    finder = _hooked_import.HookedModuleFinder()
    sys.meta_path.insert(0, finder)
    try:
        module = importlib.import_module(_hooked_import.NAME)
        with smp.get_context("forkserver").Pool(2) as pool:
            got = pool.map_async(module.square, [1, 2, 3]).get(timeout=60)
        assert got == [1, 4, 9]
    finally:
        sys.meta_path.remove(finder)
        sys.modules.pop(_hooked_import.NAME, None)


def test_pool_workers_get_the_parents_gin_bindings() -> None:
    import gin

    with gin.unlock_config():
        gin.parse_config("policylib_test_pool_value.x = 5")
    try:
        with smp.get_context("forkserver").Pool(1) as pool:
            got = pool.apply_async(_bound_value).get(timeout=60)
        assert got == 5
    finally:
        gin.clear_config()


@gin.configurable("policylib_test_pool_value")
def _pool_value(x: int = 0) -> int:
    return x


def _bound_value() -> int:
    return _pool_value()
