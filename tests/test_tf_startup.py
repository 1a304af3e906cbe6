"""TensorFlow's native start-up lines stay off stderr once policylib is imported."""

import os
import subprocess
import sys

import pytest

from policylib import _tf_startup

# Lines TensorFlow 2.21 prints on a CPU-only machine (thread ids and times vary).
ROUTINE = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796310529.806377    5874 cudart_stub.cc:31] Could not find cuda "
    "drivers on your machine, GPU will not be used.",
    "I0000 00:00:1796310529.928261    5874 cpu_feature_guard.cc:227] This TensorFlow "
    "binary is optimized to use available CPU instructions in performance-critical "
    "operations.",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild "
    "TensorFlow with the appropriate compiler flags.",
    "E0000 00:00:1796310535.666760    5874 cuda_platform.cc:52] failed call to cuInit: "
    "INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)",
    "I0000 00:00:1796028145.396317   22267 port.cc:153] oneDNN custom operations are on.",
]
KEPT = [
    "W0000 00:00:1796310807.928084    8427 some_op.cc:364] A real warning.",
    "E0000 00:00:1796310535.666760    5874 gpu_device.cc:52] Out of memory.",
    "Traceback (most recent call last):",
    "UserWarning: something a user should see",
]


@pytest.mark.parametrize("line", ROUTINE)
def test_routine_lines_are_recognised(line):
    assert _tf_startup.is_routine(line)


@pytest.mark.parametrize("line", KEPT)
def test_other_lines_are_kept(line):
    assert not _tf_startup.is_routine(line)


def _run(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != _tf_startup.OPT_OUT}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=environment,
    )


CODE = (
    "import sys\n"
    "import policylib\n"
    "import tensorflow as tf\n"
    "print(int(tf.constant(2) * 3))\n"
    "print('after', file=sys.stderr)\n"
)


def test_importing_tensorflow_after_policylib_prints_nothing_routine():
    done = _run(CODE)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "6\n"
    assert done.stderr == "after\n"


def test_the_opt_out_shows_tensorflow_s_lines():
    done = _run(CODE, **{_tf_startup.OPT_OUT: "1"})
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert lines[-1] == "after"
    # What TensorFlow prints itself (on a CPU-only machine: the cuInit error).
    assert any(_tf_startup.is_routine(line) for line in lines[:-1]), done.stderr


def test_tensorflow_is_still_its_own_module():
    done = _run(
        "import policylib, tensorflow as tf, importlib.machinery as m\n"
        "print(type(tf.__loader__).__name__, type(tf.__spec__.loader).__name__)\n"
        "print(tf.config.list_logical_devices('CPU')[0].device_type)\n"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["SourceFileLoader", "SourceFileLoader", "CPU"]
