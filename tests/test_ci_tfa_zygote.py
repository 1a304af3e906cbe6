"""The CI gate's fork server (.ci/tfa_zygote.py) starts pytest as a fresh process would.

The gate's figures are only as good as each test file's isolation: a forked
child must see the harness's working directory, environment, `sys.path`, stdio
and absl temp dir, report its exit status, fall back to a real interpreter
where the fork would differ, and die with its launcher.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ZYGOTE = Path(__file__).resolve().parent.parent / ".ci" / "tfa_zygote.py"

PROBE = """
import json, os, random, sys, time
from absl import flags
from absl.testing import absltest  # noqa: F401  (defines test_tmpdir)

def test_probe():
    with open(os.environ["PROBE_OUT"] + ".tmp", "w") as f:
        json.dump({
            "pid": os.getpid(),
            "own_session": os.getsid(0) == os.getpid(),
            "cwd": os.getcwd(),
            "mark": os.environ.get("MARK"),
            "path": sys.path[:2],
            "tmpdir": flags.FLAGS["test_tmpdir"].value,
            "random": random.random(),
        }, f)
    os.replace(os.environ["PROBE_OUT"] + ".tmp", os.environ["PROBE_OUT"])
    print("probe says hello")
    if os.environ.get("PROBE_SLEEP"):
        time.sleep(float(os.environ["PROBE_SLEEP"]))
    assert not os.environ.get("PROBE_FAIL")
"""


@pytest.fixture(scope="module")
def zygote(tmp_path_factory):
    """A running server and its launcher (the gate's `--python`)."""
    tmp = tmp_path_factory.mktemp("zygote")
    sock, launcher = str(tmp / "socket"), str(tmp / "python")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    env.setdefault("TF_USE_LEGACY_KERAS", "0")
    server = subprocess.Popen(
        [sys.executable, str(ZYGOTE), "serve", sock],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout.readline().startswith("tfa-zygote: ready")
        subprocess.run(
            [sys.executable, str(ZYGOTE), "launcher", sock, launcher], check=True
        )
        yield launcher, env
    finally:
        server.terminate()
        server.wait(timeout=30)


def _start(launcher, env, tmp_path, args=None, **extra):
    (tmp_path / "test_probe.py").write_text(PROBE)
    run_env = dict(
        env,
        PROBE_OUT=str(tmp_path / "probe.json"),
        TEST_TMPDIR=str(tmp_path / "absl"),
        MARK="from-the-harness",
        PYTHONPATH=str(tmp_path / "plugins"),
        **extra,
    )
    log = open(tmp_path / "log", "wb")
    command = [launcher, "-m", "pytest", "test_probe.py", "-q", "-s"]
    command += ["-p", "no:cacheprovider"] if args is None else args
    return subprocess.Popen(
        command,
        cwd=tmp_path,
        env=run_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as the harness starts each file
    )


def test_a_forked_child_sees_what_a_fresh_interpreter_would(zygote, tmp_path):
    launcher, env = zygote
    proc = _start(launcher, env, tmp_path)
    assert proc.wait(timeout=120) == 0, (tmp_path / "log").read_text()
    probe = json.loads((tmp_path / "probe.json").read_text())
    assert probe["pid"] != proc.pid  # forked by the server, not run by the launcher
    assert probe["own_session"]
    assert probe["cwd"] == str(tmp_path)
    assert probe["mark"] == "from-the-harness"
    assert probe["path"] == [str(tmp_path), str(tmp_path / "plugins")]
    assert probe["tmpdir"] == str(tmp_path / "absl")
    log = (tmp_path / "log").read_text()
    assert "probe says hello" in log and "1 passed" in log

    again = tmp_path / "again"
    again.mkdir()
    proc = _start(launcher, env, again)
    assert proc.wait(timeout=120) == 0
    second = json.loads((again / "probe.json").read_text())
    assert second["random"] != probe["random"]  # reseeded per child


def test_the_exit_status_comes_back(zygote, tmp_path):
    launcher, env = zygote
    proc = _start(launcher, env, tmp_path, PROBE_FAIL="1")
    assert proc.wait(timeout=120) == 1
    assert "1 failed" in (tmp_path / "log").read_text()


def test_a_different_import_time_environment_runs_a_real_interpreter(zygote, tmp_path):
    launcher, env = zygote
    other = "1" if env["TF_USE_LEGACY_KERAS"] == "0" else "0"
    proc = _start(launcher, env, tmp_path, TF_USE_LEGACY_KERAS=other)
    assert proc.wait(timeout=120) == 0, (tmp_path / "log").read_text()
    probe = json.loads((tmp_path / "probe.json").read_text())
    assert probe["pid"] == proc.pid  # the launcher exec'd the interpreter itself


def test_anything_but_pytest_runs_a_real_interpreter(zygote, tmp_path):
    launcher, _ = zygote
    done = subprocess.run(
        [launcher, "-c", "import sys; print(sys.argv, sys.executable)"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert done.stdout.split() == ["['-c']", sys.executable]


def test_killing_the_launcher_kills_the_child(zygote, tmp_path):
    launcher, env = zygote
    proc = _start(launcher, env, tmp_path, PROBE_SLEEP="120")
    probe_file = tmp_path / "probe.json"
    deadline = time.monotonic() + 120
    while not probe_file.exists():
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.1)
    child = json.loads(probe_file.read_text())["pid"]
    os.killpg(proc.pid, signal.SIGKILL)  # the harness's per-file timeout
    proc.wait()
    deadline = time.monotonic() + 60
    while _alive(child):
        assert time.monotonic() < deadline, "the forked child outlived its launcher"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
