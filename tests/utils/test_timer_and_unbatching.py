"""`utils.timer.Timer` and `utils.batched_observer_unbatching`."""

from __future__ import annotations

import time

import numpy as np
import pytest

from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import batched_observer_unbatching, timer


def test_timer_sums_the_blocks_and_resets():
    clock = timer.Timer()
    with clock as same:
        time.sleep(0.02)
    assert same is clock
    first = clock.value()
    assert first >= 0.015
    clock.start()
    time.sleep(0.02)
    clock.stop()
    assert clock.value() >= first + 0.015
    clock.reset()
    assert clock.value() == 0.0
    with pytest.raises(RuntimeError, match="without a running start"):
        clock.stop()


def _batched(batch_size: int) -> trajectory.Trajectory:
    return trajectory.Trajectory(
        step_type=np.full(batch_size, ts.StepType.MID, np.int32),
        observation=np.arange(batch_size * 2, dtype=np.float32).reshape(batch_size, 2),
        action=np.arange(batch_size, dtype=np.int64),
        policy_info=(),
        next_step_type=np.full(batch_size, ts.StepType.MID, np.int32),
        reward=np.arange(batch_size, dtype=np.float32),
        discount=np.ones(batch_size, np.float32),
    )


def test_each_entry_goes_to_its_own_observer():
    seen: list[list] = []

    def make_observer():
        mine: list = []
        seen.append(mine)
        return mine.append

    unbatcher = batched_observer_unbatching.BatchedObserverUnbatching(make_observer, 3)
    unbatcher(_batched(3))
    unbatcher(_batched(3))
    assert [len(s) for s in seen] == [2, 2, 2]
    np.testing.assert_array_equal(seen[2][0].observation, [4.0, 5.0])
    assert seen[1][1].action == 1
    with pytest.raises(ValueError, match="batch size is 2; expected 3"):
        unbatcher(_batched(2))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        batched_observer_unbatching.BatchedObserverUnbatching(make_observer, 0)
