"""graph_reads: which inputs a traced function reads, and its fallback."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import ops

from policylib.policies import py_tf_eager_policy, tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.utils import graph_reads
from tests.policies.small_policies import greedy_q

SPEC = tf.TensorSpec((2,), tf.float32)


@pytest.fixture
def without_private_api(monkeypatch):
    """Removes `Graph._get_function`, as a TensorFlow release might."""
    monkeypatch.delattr(ops.Graph, "_get_function")


def _nested():
    @tf.function
    def inner(a, b):
        return a * 2.0

    @tf.function
    def outer(a, b, c):
        return inner(a, b) + 1.0

    return outer.get_concrete_function(SPEC, SPEC, SPEC)


def test_reads_only_what_reaches_an_output() -> None:
    assert graph_reads.read_inputs(_nested(), 3) == [0]


def test_side_effects_count_as_reads() -> None:
    variable = tf.Variable(0.0)

    @tf.function
    def f(a, b):
        variable.assign(tf.reduce_sum(b))
        return a

    assert graph_reads.read_inputs(f.get_concrete_function(SPEC, SPEC), 2) == [0, 1]


def test_without_the_private_api_every_call_argument_counts(
    without_private_api,
) -> None:
    # `c` is never passed to the call; `b` is, and can no longer be ruled out.
    assert graph_reads.read_inputs(_nested(), 3) == [0, 1]


class _CallingPolicy(tf_policy.TFPolicy):
    """A greedy Q policy whose action runs inside a nested tf.function call."""

    def __init__(self):
        self._inner = greedy_q()
        super().__init__(self._inner.time_step_spec, self._inner.action_spec)
        self._call = tf.function(lambda t: self._inner.action(t).action)

    def _variables(self):
        return self._inner.variables()

    def _action(self, time_step, policy_state, seed):
        return policy_step.PolicyStep(self._call(time_step), policy_state, ())


def _actions(policy) -> list:
    observations = np.random.default_rng(0).uniform(-1, 1, (6, 4)).astype(np.float32)
    return [int(policy.action(ts.restart(o)).action) for o in observations]


def test_wrapper_falls_back_to_feeding_every_leaf(monkeypatch) -> None:
    policy = _CallingPolicy()
    fast = py_tf_eager_policy.PyTFEagerPolicy(policy)
    expected = _actions(fast)
    assert fast._traced[True][0] == [3]  # only the observation is fed

    monkeypatch.delattr(ops.Graph, "_get_function")
    slow = py_tf_eager_policy.PyTFEagerPolicy(policy)
    assert _actions(slow) == expected
    assert slow._traced[True][0] == [0, 1, 2, 3]
