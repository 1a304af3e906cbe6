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


# A dataset iterator whose prefetch thread is still sampling when the script
# ends: after `server.stop()`, `repeat()` opens a new stream that waits for the
# gone server; without a server stop, the sample waits for the rate limiter.
# Either wait must end at exit, or finalizing the iterator waits forever.
# `Counter().flat_map(...)` (TF-Agents' PPOLearner) opens a new stream each
# time one ends, without end: streams opened at exit must fail rather than end,
# or the prefetch thread calls into Python while it finalizes.
_PREFETCHING_DATASET = """
import faulthandler
faulthandler.dump_traceback_later(75, exit=True)  # A hang shows every thread's stack.
import numpy as np
import tensorflow as tf
from policylib import reverb
server = reverb.Server([reverb.Table.queue("q", 10)])
address = f"localhost:{server.port}"
client = reverb.Client(address)
for i in range(3):
    client.insert(np.int32(i), {"q": 1.0})
def stream(_=None):
    return reverb.TimestepDataset(
        address, "q", tf.int32, tf.TensorShape([]), max_in_flight_samples_per_worker=1,
        rate_limiter_timeout_ms=TIMEOUT_MS,
    )
dataset = PIPELINE.prefetch(2)
iterator = iter(dataset)
print(int(next(iterator).data), flush=True)
"""


_REPEAT = "stream().repeat()"
_COUNTER = "tf.data.experimental.Counter().flat_map(stream)"


@pytest.mark.parametrize(
    "pipeline, timeout_ms, ending",
    [
        (_REPEAT, 1000, "server.stop()"),
        (_REPEAT, -1, ""),
        (_REPEAT, -1, "server.stop()"),
        (_COUNTER, -1, ""),
        (_COUNTER, 1000, "server.stop()"),
    ],
)
def test_exit_with_a_prefetching_dataset_does_not_hang(
    pipeline: str, timeout_ms: int, ending: str
) -> None:
    script = _PREFETCHING_DATASET.replace("TIMEOUT_MS", str(timeout_ms))
    script = script.replace("PIPELINE", pipeline) + ending
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=90,  # A hang fails here instead of stalling the suite.
    )
    assert result.stdout.strip() == "0", result.stderr
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_platform_checkpointers_lib_is_reverbs_path(tmp_path: Path) -> None:
    checkpointer = reverb.platform.checkpointers_lib.DefaultCheckpointer(
        path=str(tmp_path)
    )
    assert isinstance(checkpointer, reverb.checkpointers.CheckpointerBase)
    assert reverb.platform.checkpointers_lib is reverb.checkpointers
