import numpy as np
import pytest
import tensorflow as tf

from policylib.policies import py_policy
from policylib.specs import array_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts


class _Counter(py_policy.PyPolicy):
    """Adds one to its state each call and emits the observation sum."""

    def __init__(self):
        super().__init__(
            ts.time_step_spec(array_spec.ArraySpec((2,), np.float32)),
            array_spec.ArraySpec((), np.float32),
            policy_state_spec=array_spec.ArraySpec((), np.int32),
        )

    def _action(self, time_step, policy_state, seed=None):
        return policy_step.PolicyStep(time_step.observation.sum(-1), policy_state + 1)


def test_template_calls_hooks_and_initial_state():
    policy = _Counter()
    state = policy.get_initial_state(batch_size=3)
    assert state.shape == (3,) and state.dtype == np.int32
    step = policy.action(ts.restart(np.ones((3, 2), np.float32), batch_size=3), state)
    np.testing.assert_array_equal(step.action, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(step.state, [1, 1, 1])


def test_derived_specs():
    policy = _Counter()
    assert policy.trajectory_spec.action == policy.action_spec
    assert policy.trajectory_spec.reward == policy.time_step_spec.reward
    assert policy.collect_data_spec is policy.trajectory_spec
    assert policy.policy_step_spec.state == array_spec.ArraySpec((), np.int32)


def test_tensor_specs_become_array_specs():
    class _Const(py_policy.PyPolicy):
        def _action(self, time_step, policy_state, seed=None):
            return policy_step.PolicyStep(np.int32(0))

    policy = _Const(
        ts.time_step_spec(tf.TensorSpec((1,), tf.float32)), tf.TensorSpec((), tf.int32)
    )
    assert policy.action_spec == array_spec.ArraySpec((), np.int32)
    assert isinstance(policy.time_step_spec.observation, array_spec.ArraySpec)


def test_overriding_public_methods_is_refused():
    class _Rogue(_Counter):
        def action(self, time_step, policy_state=(), seed=None):  # noqa: D401
            return None

    with pytest.raises(
        ValueError, match="_Rogue overrides public members of PyPolicy.*: action"
    ):
        _Rogue()
