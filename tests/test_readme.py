"""The README's evaluation example: the same mean for 1 and 4 environments, and its guard.

tests/test_doc_commands.py runs every block of the README (and of docs/) as
pasted; these tests check what the evaluation example promises, on a policy
whose returns vary from episode to episode (the shipped one always scores 500).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import q_network
from policylib.policies import greedy_policy, policy_saver, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

README = Path(__file__).resolve().parents[1] / "README.md"
GUARD = 'if __name__ == "__main__":'


def python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


SHIPPED = "data.cartpole_dqn_path()"


def evaluation_block(policy_dir: Path) -> str:
    """The README's evaluation example, evaluating the policy in `policy_dir`."""
    (block,) = [b for b in python_blocks() if "metric_utils.compute" in b]
    assert block.count(SHIPPED) == 1, block
    return block.replace(SHIPPED, repr(str(policy_dir)))


def unguarded(block: str) -> str:
    """The block with its guarded body moved to top level, behind a marker print."""
    head, body = block.split(GUARD)
    body = body.split("\n", 1)[1]  # drop the rest of the guard line (its comment)
    return head + 'print("script body ran")\n' + textwrap.dedent(body)


@pytest.fixture(scope="module")
def cartpole_policy_dir(tmp_path_factory) -> Path:
    """A saved greedy CartPole policy that pushes the way the pole leans.

    A linear Q network with Q = (-angle, angle): deterministic, and its
    episode returns vary with the start state, so means are comparable.
    """
    obs = tensor_spec.BoundedTensorSpec((4,), tf.float32, -5, 5, name="observation")
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")
    net = q_network.QNetwork(obs, act, fc_layer_params=None)
    net.create_variables()
    kernel = np.zeros((4, 2), np.float32)
    kernel[2] = [-1.0, 1.0]
    net.layers[-1].set_weights([kernel, np.zeros(2, np.float32)])
    policy = greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    )
    directory = tmp_path_factory.mktemp("readme") / "saved_policy"
    policy_saver.PolicySaver(policy).save(str(directory))
    return directory


def run_in_process(code: str, cwd: Path) -> str:
    out = io.StringIO()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out):
            exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    finally:
        os.chdir(previous)
    return out.getvalue()


def run_script(code: str, cwd: Path) -> subprocess.CompletedProcess:
    script = cwd / "evaluate.py"
    script.write_text(code)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_evaluation_example_same_mean_with_1_and_4_environments(
    cartpole_policy_dir,
) -> None:
    block = evaluation_block(cartpole_policy_dir)
    assert "* 4" in block
    four = run_in_process(block, cartpole_policy_dir.parent)
    one = run_in_process(block.replace("* 4", "* 1"), cartpole_policy_dir.parent)
    assert re.fullmatch(r"Average return: \d+\.\d\d\n", four), four
    assert one == four


def test_evaluation_example_as_a_script_with_the_guard(cartpole_policy_dir) -> None:
    done = run_script(evaluation_block(cartpole_policy_dir), cartpole_policy_dir.parent)
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(re.findall(r"Average return: \d", done.stdout)) == 1, done.stdout


def test_evaluation_example_as_a_script_without_the_guard(cartpole_policy_dir) -> None:
    done = run_script(
        unguarded(evaluation_block(cartpole_policy_dir)), cartpole_policy_dir.parent
    )
    assert done.returncode != 0
    assert done.stdout.count("script body ran") == 1, done.stdout
    assert "Average return" not in done.stdout
    last = done.stderr.strip().splitlines()
    error = [line for line in last if line.startswith("policylib.")]
    assert error and "MainModuleNotGuardedError" in error[-1], done.stderr[-3000:]
    assert GUARD in error[-1] and "evaluate.py" in error[-1]
    assert "died with exit code" not in done.stderr
