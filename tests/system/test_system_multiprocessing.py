"""The main-script guard check that runs before worker processes start."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

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
