import numpy as np
import pytest

from policylib.policies import scripted_py_policy
from policylib.specs import array_spec

SPEC = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)


def _policy(script, spec=SPEC):
    return scripted_py_policy.ScriptedPyPolicy(None, spec, script)


def test_plays_script_with_repeats_and_skips():
    policy = _policy(
        [(1, [5, 2]), (0, [0, 0]), (2, np.array([1, 2], np.int32)), (1, [3, 4])]
    )
    state = policy.get_initial_state()
    seen = []
    for _ in range(4):
        step = policy.action(None, state)
        seen.append((step.action.tolist(), list(step.state)))
        state = step.state
    assert seen == [
        ([5, 2], [0, 1]),
        ([1, 2], [2, 1]),
        ([1, 2], [2, 2]),
        ([3, 4], [3, 1]),
    ]
    with pytest.raises(ValueError, match="Episode is longer than"):
        policy.action(None, state)


def test_arrays_of_the_right_dtype_are_returned_as_is():
    action = np.array([1, 1], np.int32)
    step = _policy([(1, action)]).action(None, [0, 0])
    assert step.action is action


def test_out_of_bounds_entry_names_index_and_values():
    policy = _policy([(1, [1, 1]), (1, [15, 2])])
    state = policy.action(None, policy.get_initial_state()).state
    with pytest.raises(
        ValueError, match=r"action_script\[1\].*\[15, 2\] outside the bounds"
    ):
        policy.action(None, state)


def test_wrong_structure_names_index():
    policy = _policy([(1, [np.zeros(2, np.int32)])], spec=[SPEC, SPEC])
    with pytest.raises(ValueError, match=r"action_script\[0\].*structure"):
        policy.action(None, policy.get_initial_state())


def test_bad_script_entries_rejected_at_construction():
    with pytest.raises(ValueError, match="negative repeat count"):
        _policy([(-1, [0, 0])])
    with pytest.raises(ValueError, match=r"\(num_repeats, action\) pair"):
        _policy([[0, 0, 0]])
