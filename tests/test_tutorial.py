"""The Python half of TF-Agents' policies tutorial prints the same formats."""

import re
import runpy
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "py_policies_tutorial.py"

SCRIPTED_OUTPUT = """Executing scripted policy...
PolicyStep(action=array([5, 2], dtype=int32), state=[0, 1], info=())
PolicyStep(action=array([1, 2], dtype=int32), state=[2, 1], info=())
PolicyStep(action=array([1, 2], dtype=int32), state=[2, 2], info=())
Resetting my_scripted_py_policy...
PolicyStep(action=array([5, 2], dtype=int32), state=[0, 1], info=())
"""

RANDOM_LINE = re.compile(
    r"^PolicyStep\(action=array\(\[ *(-?\d+), +(-?\d+)\], dtype=int32\), state=\(\), info=\(\)\)$"
)


def test_python_policies_tutorial(capsys):
    runpy.run_path(str(EXAMPLE), run_name="__main__")
    lines = capsys.readouterr().out.splitlines(keepends=True)
    for line in lines[:2]:
        match = RANDOM_LINE.match(line.rstrip("\n"))
        assert match, line
        assert all(-10 <= int(v) <= 10 for v in match.groups())
    assert "".join(lines[2:]) == SCRIPTED_OUTPUT
