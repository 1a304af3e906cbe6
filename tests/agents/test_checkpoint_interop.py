"""DqnAgent checkpoints cross between TF-Agents 0.19 and policylib (tf-keras).

Needs POLICYLIB_TF_AGENTS_PYTHON, a Python with tf-agents 0.19 (`.ci/run` sets
one up); skipped without it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = str(Path(__file__).resolve().parents[1] / "fixtures" / "dqn_checkpoint.py")
TFA = os.environ.get("POLICYLIB_TF_AGENTS_PYTHON")


def _run(python: str, mode: str, lib: str, directory: Path) -> dict:
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    if lib == "tf_agents":
        env["PYTHONPATH"] = ""  # TF-Agents' environment must not see policylib
    done = subprocess.run(
        [python, SCRIPT, mode, "--lib", lib, str(directory)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not TFA, reason="set POLICYLIB_TF_AGENTS_PYTHON (.ci/run does)")
@pytest.mark.parametrize(
    "writer, reader", [("tf_agents", "policylib"), ("policylib", "tf_agents")]
)
def test_dqn_checkpoint_restores_across_libraries(tmp_path, writer, reader) -> None:
    python = {"tf_agents": TFA, "policylib": sys.executable}
    written = _run(python[writer], "write", writer, tmp_path)
    read = _run(python[reader], "read", reader, tmp_path)
    assert read["all_matched"] and read["train_step"] == written["train_step"] == 2
    assert read["frames"] == written["frames"] == 4
    np.testing.assert_allclose(read["q_values"], written["q_values"], rtol=1e-6)
