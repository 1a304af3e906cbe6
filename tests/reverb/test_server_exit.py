"""A process whose `Server` was never stopped still exits promptly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from policylib import reverb

_LIVE_SERVER = """
import numpy as np
from policylib import reverb
server = reverb.Server([reverb.Table.queue("q", 10)])
client = reverb.Client(f"localhost:{server.port}")
client.insert(np.int32(1), {"q": 1.0})
print("served", flush=True)
"""


@pytest.mark.parametrize(
    "ending, returncode",
    [("", 0), ("raise RuntimeError('boom')", 1), ("del server", 0)],
)
def test_exit_with_a_live_server_does_not_hang(ending: str, returncode: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", _LIVE_SERVER + ending],
        capture_output=True,
        text=True,
        timeout=60,  # A hang fails here instead of stalling the suite.
    )
    assert result.stdout.strip() == "served", result.stderr
    assert result.returncode == returncode, result.stderr


def test_platform_checkpointers_lib_is_reverbs_path(tmp_path: Path) -> None:
    checkpointer = reverb.platform.checkpointers_lib.DefaultCheckpointer(
        path=str(tmp_path)
    )
    assert isinstance(checkpointer, reverb.checkpointers.CheckpointerBase)
    assert reverb.platform.checkpointers_lib is reverb.checkpointers
