"""A save killed (SIGKILL) at any point leaves the earlier save loadable, acting as before.

A child process saves a new policy into a directory that holds an earlier
save and is killed at evenly spread points of the save (see
interrupted_save_child.py). Afterwards the directory loads and acts exactly
as the earlier policy, or, when the kill came after the swap, exactly as the
new one: never a mixture and never an error.
"""

import os
import shutil
import subprocess
import sys
from concurrent import futures
from pathlib import Path

import numpy as np
import pytest

from policylib.policies import policy_loader, policy_saver
from tests.policies import interrupted_save_child as child

CHILD = Path(__file__).with_name("interrupted_save_child.py")
ROOT = Path(__file__).resolve().parents[2]
POINTS = 3  # kill points per kind of save, spread over the whole save

pytestmark = pytest.mark.skipif(
    os.environ.get("TF_USE_LEGACY_KERAS") == "1",
    reason="the save path is the same under tf-keras; run once, under Keras 3",
)


def _run_child(mode, target, actions, kill_at):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, str(CHILD), mode, str(target), str(actions), str(kill_at)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def _actions(path):
    return policy_loader.load(str(path)).action(child.probes()).action


@pytest.fixture(scope="module")
def earlier(tmp_path_factory):
    """A full save of the earlier policy and its actions on the probes."""
    path = tmp_path_factory.mktemp("earlier") / "policy"
    old = child.policy(seed=1)
    policy_saver.PolicySaver(old, batch_size=None).save(str(path))
    return path, old.action(child.probes()).action.numpy()


@pytest.mark.parametrize("mode", ["save", "checkpoint", "async"])
def test_killed_saves_lose_nothing(mode, earlier, tmp_path):
    source, old_actions = earlier
    dry = tmp_path / "dry"
    shutil.copytree(source, dry)
    done = _run_child(mode, dry, tmp_path / "new.npy", 0)
    assert done.returncode == 0, done.stderr[-2000:]
    total = int(done.stdout.split()[-1])
    new_actions = np.load(tmp_path / "new.npy")
    assert not np.array_equal(new_actions, old_actions)
    np.testing.assert_array_equal(_actions(dry), new_actions)  # the save works unkilled

    points = sorted({max(1, total * i // (POINTS + 1)) for i in range(1, POINTS + 1)})

    def kill_at(point):
        target = tmp_path / f"killed_{point}"
        shutil.copytree(source, target)
        result = _run_child(mode, target, tmp_path / f"new_{point}.npy", point)
        return point, target, result

    outcomes = {"earlier": 0, "new": 0}
    with futures.ThreadPoolExecutor(2) as pool:
        for point, target, result in pool.map(kill_at, points):
            assert result.returncode == -9, (
                point,
                result.returncode,
                result.stderr[-2000:],
            )
            acted = _actions(target)
            if np.array_equal(acted, old_actions):
                outcomes["earlier"] += 1
            else:
                np.testing.assert_array_equal(
                    acted, new_actions, err_msg=f"kill point {point}"
                )
                outcomes["new"] += 1
            # A later save into the same directory still works.
            policy_saver.PolicySaver(child.policy(seed=1), batch_size=None).save(
                str(target)
            )
            np.testing.assert_array_equal(_actions(target), old_actions)
    assert sum(outcomes.values()) == len(points) == POINTS
    assert outcomes["earlier"] >= len(points) // 2, outcomes  # most points are mid-save
