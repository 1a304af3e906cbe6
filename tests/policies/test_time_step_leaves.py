"""time_step_leaves: the per-leaf conversion and checks behind PyTFEagerPolicy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import time_step_leaves
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from tests.policies.small_policies import greedy_q


def _leaves() -> time_step_leaves.TimeStepLeaves:
    return time_step_leaves.TimeStepLeaves(
        ts.time_step_spec(array_spec.ArraySpec((2,), np.float32, "obs"))
    )


def test_to_tensor_casts_same_kind_and_names_the_leaf_otherwise() -> None:
    leaves = _leaves()
    assert leaves.paths == ["step_type", "reward", "discount", "observation"]
    tensor = leaves.to_tensor(np.ones(2, np.float64), 3)
    assert tensor.dtype == tf.float32
    with pytest.raises(ValueError, match="time_step.observation has dtype complex"):
        leaves.to_tensor(np.ones(2, np.complex64), 3)
    with pytest.raises(ValueError, match="time_step.reward is None"):
        leaves.to_tensor(None, 1)


def test_check_unread_checks_shape_against_the_batch_of_read_leaves() -> None:
    leaves = _leaves()
    batched: list = [
        np.zeros(3, np.int32),
        np.zeros(3, np.float32),
        None,
        np.zeros((3, 2)),
    ]
    with pytest.raises(ValueError, match="time_step.discount is None"):
        leaves.check_unread(batched, 3, [1, 2], add_batch=False)
    batched[2] = np.ones(4, np.float32)  # batch 4, the observation has 3
    with pytest.raises(ValueError, match=r"time_step.discount has shape \(4,\)"):
        leaves.check_unread(batched, 3, [1, 2], add_batch=False)
    batched[2] = np.ones(3, np.float32)
    leaves.check_unread(batched, 3, [1, 2], add_batch=False)


def test_fill_puts_zeros_where_no_leaf_is_given() -> None:
    leaves = _leaves()
    step = leaves.fill([tf.ones([5, 2])], [3], [5])
    assert isinstance(step, ts.TimeStep)
    assert step.reward.shape == (5,) and float(tf.reduce_sum(step.reward)) == 0.0
    assert float(tf.reduce_sum(step.observation)) == 10.0


def test_trace_on_read_keeps_the_full_trace_only_when_every_leaf_is_read() -> None:
    leaves = _leaves()
    specs = leaves.input_specs([None])
    calls: list[list[int]] = []

    def trace(indices: list[int]) -> Any:
        calls.append(indices)
        return tf.function(
            lambda *t: tf.cast(t[-1], tf.float32) * 2.0
        ).get_concrete_function(*[specs[i] for i in indices])

    used, _ = time_step_leaves.trace_on_read(trace, len(leaves), None)
    assert used == [3] and calls == [[0, 1, 2, 3], [3]]
    calls.clear()
    used, _ = time_step_leaves.trace_on_read(trace, len(leaves), [])
    assert used == [0] and calls == [[0]]  # one leaf kept for the batch size
    assert time_step_leaves.loaded_action_reads(greedy_q(), len(leaves)) is None
