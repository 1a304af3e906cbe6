import collections

import numpy as np

from policylib.trajectories import policy_step


def test_defaults_and_repr():
    step = policy_step.PolicyStep(np.array([5, 2], np.int32), [0, 1])
    assert step.info == ()
    assert (
        repr(step)
        == "PolicyStep(action=array([5, 2], dtype=int32), state=[0, 1], info=())"
    )
    assert policy_step.PolicyStep._fields == ("action", "state", "info")
    assert step.replace(info=3).info == 3


def test_set_and_get_log_probability():
    info = policy_step.set_log_probability((), 0.5)
    assert isinstance(info, policy_step.PolicyInfo) and info.log_probability == 0.5
    mapping = {"other": 1}
    assert policy_step.set_log_probability(mapping, 0.1) is mapping
    assert policy_step.get_log_probability(mapping) == 0.1
    Info = collections.namedtuple("Info", ["log_probability", "x"])
    assert policy_step.set_log_probability(Info(0, 1), 2).log_probability == 2
    assert policy_step.get_log_probability({}, default_log_probability=-1) == -1
    assert (
        policy_step.get_log_probability(np.zeros(1), default_log_probability=-1) is None
    )
