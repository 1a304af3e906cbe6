"""train_utils: the train-step variable, staleness summaries, waiting helpers."""

from __future__ import annotations

import os
from unittest import mock

import numpy as np
import pytest
import tensorflow as tf

from policylib import reverb
from policylib.train.utils import train_utils


def test_create_train_step():
    step = train_utils.create_train_step()
    assert step.dtype == tf.int64 and step.shape == () and not step.trainable
    assert step.aggregation == tf.VariableAggregation.ONLY_FIRST_REPLICA


@pytest.mark.parametrize(
    ("collected_at", "expected"),
    [([[200], [200], [200]], (0, 0, 0)), ([[100], [200]], (100, 1, 1))],
)
def test_staleness_summaries(collected_at, expected):
    train_step = train_utils.create_train_step()
    train_step.assign(225)
    fn = train_utils.create_staleness_metrics_after_train_step_fn(
        train_step, train_steps_per_policy_update=100
    )
    info = reverb.SampleInfo(*[None] * len(reverb.SampleInfo._fields))
    info = info._replace(priority=np.array(collected_at, np.int64))
    with mock.patch.object(tf.summary, "scalar") as scalar:
        fn((None, info), None)
    got = {c.kwargs["name"]: int(c.kwargs["data"]) for c in scalar.call_args_list}
    assert got == {
        "staleness/max_train_step_delta_in_batch": expected[0],
        "staleness/max_policy_update_delta_in_batch": expected[1],
        "staleness/num_stale_obserations_in_batch": expected[2],
    }
    assert all(int(c.kwargs["step"]) == 225 for c in scalar.call_args_list)


def test_wait_for_predicate():
    predicate = mock.MagicMock(side_effect=[True, True, False])
    train_utils.wait_for_predicate(predicate, sleep_time_secs=0, num_retries=5)
    assert predicate.call_count == 3
    forever = mock.MagicMock(return_value=True)
    with pytest.raises(TimeoutError, match="after 4 checks"):
        train_utils.wait_for_predicate(forever, sleep_time_secs=0, num_retries=4)
    assert forever.call_count == 4


def test_wait_for_file(tmp_path):
    path = str(tmp_path / "f")
    with pytest.raises(TimeoutError, match="did not appear"):
        train_utils.wait_for_file(path, sleep_time_secs=0, num_retries=2)
    with open(path, "w") as f:
        f.write("x")
    assert train_utils.wait_for_file(path, sleep_time_secs=0, num_retries=1) == path
    empty = str(tmp_path / "empty")
    open(empty, "w").close()
    with pytest.raises(TimeoutError):
        train_utils.wait_for_file(empty, sleep_time_secs=0, num_retries=1)
    assert os.path.exists(empty)
