"""TimeStep helpers name the field that cannot be a number."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.trajectories import time_step as ts


@pytest.mark.parametrize("helper", [ts.transition, ts.termination])
def test_none_reward_is_named(helper):
    with pytest.raises(
        ValueError, match="The time step's reward is None; expected a number"
    ):
        helper(np.zeros(2, np.float32), None)


def test_none_discount_is_named():
    with pytest.raises(ValueError, match="The time step's discount is None"):
        ts.transition(np.zeros(2, np.float32), np.float32(1.0), discount=None)


def test_nan_producing_reward_is_named():
    with pytest.raises(ValueError, match="The time step's reward: could not convert"):
        ts.transition(np.zeros(2, np.float32), np.array([1.0, np.nan]))


BAD_HELPER_CALLS = {
    "restart None observation": (
        lambda: ts.restart(None),
        ValueError,
        "restart: observation is None; expected an array or tensor",
    ),
    "transition None observation": (
        lambda: ts.transition(None, 1.0),
        ValueError,
        "transition: observation is None",
    ),
    "restart negative batch size": (
        lambda: ts.restart(np.zeros((2, 2)), batch_size=-1),
        ValueError,
        "restart: batch_size -1 is negative",
    ),
    "restart string batch size": (
        lambda: ts.restart(np.zeros((2, 2)), batch_size="2"),
        TypeError,
        "restart: batch_size must be an int, a list of ints or an int tensor; got '2'",
    ),
    "restart reward_spec not a spec": (
        lambda: ts.restart(np.zeros(3), reward_spec=3),
        TypeError,
        "restart: reward_spec is 3; expected a TensorSpec or ArraySpec",
    ),
    "transition string reward": (
        lambda: ts.transition(np.zeros(3, np.float32), "a"),
        ValueError,
        "The time step's reward 'a' is not a number",
    ),
    "truncation string discount": (
        lambda: ts.truncation(np.zeros(3, np.float32), 1.0, discount="x"),
        ValueError,
        "The time step's discount 'x' is not a number",
    ),
    "transition discount batch differs": (
        lambda: ts.transition(
            np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.ones(3)
        ),
        ValueError,
        r"transition: discount has shape \(3,\), but the reward gives outer dims \(2,\)",
    ),
    "tf transition discount batch differs": (
        lambda: ts.transition(tf.zeros((2, 3)), tf.zeros(2), tf.ones(3)),
        ValueError,
        r"transition: discount has shape \[3\], but the reward gives outer dims \[2\]",
    ),
    "StepType out of range": (
        lambda: ts.StepType(7),
        ValueError,
        r"No known conversion for 7 into StepType \(expected 0, 1 or 2\)",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_HELPER_CALLS))
def test_bad_helper_argument_is_named(case):
    call, error, message = BAD_HELPER_CALLS[case]
    with pytest.raises(error, match=message):
        call()
