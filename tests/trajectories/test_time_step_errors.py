"""TimeStep helpers name the field that cannot be a number."""

import numpy as np
import pytest

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
