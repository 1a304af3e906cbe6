"""Every file and directory a save writes gets the modes a plain write would.

The saves run in a child process that sets its own umask (the umask is
process-wide, so the test process keeps its own), once under 022 and once
under 027; the child reports each path's mode and the test compares it with
0666/0777 less that umask.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import pytest

from policylib.base import file_modes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

_CHILD = textwrap.dedent(
    """
    import json, os, sys

    root, umask, with_litert = sys.argv[1], int(sys.argv[2], 8), sys.argv[3] == "1"
    os.umask(umask)
    import tensorflow as tf
    from policylib.policies import async_policy_saver, policy_loader, policy_saver
    from policylib.specs import tensor_spec
    from policylib.utils import common
    from tests.policies.small_policies import greedy_q

    policy = greedy_q()
    saver = policy_saver.PolicySaver(policy, train_step=tf.Variable(3, dtype=tf.int64))
    saver.save(os.path.join(root, "saved"))
    saver.save(os.path.join(root, "saved"))  # Replacing a save, too.
    saver.save_checkpoint(os.path.join(root, "checkpoint"))
    policy_loader.materialize_saved_model(
        os.path.join(root, "saved"),
        os.path.join(root, "checkpoint"),
        os.path.join(root, "materialized"),
    )
    background = async_policy_saver.AsyncPolicySaver(saver)
    background.save(os.path.join(root, "async"), blocking=True)
    background.close()
    checkpointer = common.Checkpointer(
        os.path.join(root, "train", "ckpt"), policy=policy, step=tf.Variable(1)
    )
    checkpointer.save(1)
    common.save_spec(policy.time_step_spec, os.path.join(root, "spec", "ts.spec"))
    tensor_spec.to_pbtxt_file(
        os.path.join(root, "pbtxt", "specs.pbtxt"), policy.time_step_spec
    )
    if with_litert:
        from policylib.export import litert

        litert.export(policy, os.path.join(root, "litert"))
    modes = {}
    for directory, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(directory, name)
            modes[os.path.relpath(path, root)] = [
                os.path.isdir(path), os.stat(path).st_mode & 0o7777
            ]
    print(json.dumps(modes))
    """
)


def _saved_modes(root: str, umask: int) -> dict[str, list]:
    with_litert = importlib.util.find_spec("ai_edge_litert") is not None
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            _CHILD,
            root,
            oct(umask)[2:],
            "1" if with_litert else "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_saved_file_has_the_usual_mode(tmp_path, umask: int) -> None:
    modes = _saved_modes(str(tmp_path), umask)
    expected = {"saved/policy_specs.pbtxt", "materialized/policy_specs.pbtxt"}
    assert expected <= set(modes)
    assert "checkpoint/variables" in modes and "train" in modes
    wrong = {
        path: oct(mode)
        for path, (is_dir, mode) in modes.items()
        if mode != (0o777 if is_dir else 0o666) & ~umask
    }
    assert wrong == {}, f"umask {oct(umask)}: {wrong}"


def test_umask_is_read_without_changing_it() -> None:
    before = os.umask(0o022)
    try:
        assert file_modes.umask() == 0o022
        assert file_modes.default_file_mode() == 0o644
        assert file_modes.default_directory_mode() == 0o755
        assert os.umask(0o022) == 0o022  # Still what was set.
    finally:
        os.umask(before)


def test_replacing_a_pbtxt_keeps_its_mode(tmp_path) -> None:
    import tensorflow as tf

    from policylib.specs import tensor_spec

    path = str(tmp_path / "specs.pbtxt")
    tensor_spec.to_pbtxt_file(path, tf.TensorSpec((2,), tf.float32))
    os.chmod(path, 0o640)
    tensor_spec.to_pbtxt_file(path, tf.TensorSpec((3,), tf.float32))
    assert os.stat(path).st_mode & 0o7777 == 0o640
    assert tensor_spec.from_pbtxt_file(path).shape == (3,)
