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


TF_EXAMPLE = EXAMPLE.parent / "tf_policies_tutorial.py"

DISTRIBUTION_LINES = [
    'tfp.distributions.Deterministic("Deterministic", batch_shape=[2, 3], event_shape=[], '
    "dtype=float32)",
    'tfp.distributions.MultivariateNormalDiag("MultivariateNormalDiag", batch_shape=[2], '
    "event_shape=[3], dtype=float32)",
    'tfp.distributions.Categorical("Categorical", batch_shape=[2], event_shape=[], dtype=int32)',
    'tfp.distributions.Deterministic("Deterministic", batch_shape=[2], event_shape=[], '
    "dtype=int32)",
]


def test_tensorflow_policies_tutorial(capsys):
    runpy.run_path(str(TF_EXAMPLE), run_name="__main__")
    out = capsys.readouterr().out
    assert out.count("Action:") == 5 and out.count("Action distribution:") == 4
    distribution_lines = [line for line in out.splitlines() if line.startswith("tfp.")]
    assert distribution_lines == DISTRIBUTION_LINES
    assert "shape=(2,), dtype=float32)" in out  # the random action
    assert out.count("shape=(2, 3), dtype=float32)") == 2  # actor actions
    assert out.count("shape=(2,), dtype=int32)") == 2  # Q and greedy actions
    # ActorPolicy clips to the spec [-1, 1].
    values = [
        float(v)
        for v in re.findall(r"-?\d+\.\d+(?:e[-+]\d+)?", out.split("Action:")[3])
    ]
    assert values and all(-1.0 <= v <= 1.0 for v in values)
