import numpy as np
import pytest

from policylib.policies import random_py_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts


def test_bounds_and_repeatability():
    spec = {
        "move": array_spec.BoundedArraySpec((2,), np.int32, -10, 10),
        "force": array_spec.BoundedArraySpec((3,), np.float32, [-1.0, 0.0, 5.0], 6.0),
    }
    a = random_py_policy.RandomPyPolicy(None, spec, seed=11)
    b = random_py_policy.RandomPyPolicy(None, spec, seed=11)
    for _ in range(50):
        x, y = a.action(None).action, b.action(None).action
        np.testing.assert_array_equal(x["move"], y["move"])
        assert x["move"].dtype == np.int32 and np.all(np.abs(x["move"]) <= 10)
        assert np.all(x["force"] >= [-1.0, 0.0, 5.0]) and np.all(x["force"] <= 6.0)


def test_outer_dims_inferred_from_observation():
    tss = ts.time_step_spec(array_spec.ArraySpec((1,), np.int32))
    policy = random_py_policy.RandomPyPolicy(
        tss, array_spec.BoundedArraySpec((2,), np.int64, 0, 3)
    )
    step = policy.action(ts.restart(np.zeros((4, 1), np.int32), batch_size=4))
    assert step.action.shape == (4, 2)
    assert policy.action(ts.restart(np.zeros(1, np.int32))).action.shape == (2,)


def test_fixed_outer_dims_and_info_sampling():
    policy = random_py_policy.RandomPyPolicy(
        None,
        array_spec.BoundedArraySpec((), np.int32, 0, 1),
        info_spec={"p": array_spec.BoundedArraySpec((), np.float32, 0, 1)},
        outer_dims=(5,),
        seed=0,
    )
    step = policy.action(None)
    assert step.action.shape == (5,) and step.info["p"].shape == (5,)


def test_mask_only_picks_valid_actions_and_each_of_them():
    spec = array_spec.BoundedArraySpec((), np.int64, -2, 2)
    mask = np.array([[0, 1, 0, 1, 1]] * 500)
    policy = random_py_policy.RandomPyPolicy(
        ts.time_step_spec(array_spec.ArraySpec((1,), np.float32)),
        spec,
        observation_and_action_constraint_splitter=lambda obs: (obs, mask),
        seed=3,
    )
    action = policy.action(ts.restart(np.zeros((500, 1), np.float32), 500)).action
    assert action.dtype == np.int64 and action.shape == (500,)
    assert set(np.unique(action)) == {-1, 1, 2}


def test_mask_errors_are_clear():
    with pytest.raises(NotImplementedError, match=r"shape \(\) or \(1,\)"):
        random_py_policy.RandomPyPolicy(
            None,
            array_spec.BoundedArraySpec((2,), np.int32, 0, 1),
            observation_and_action_constraint_splitter=lambda o: (o, o),
        )
    policy = random_py_policy.RandomPyPolicy(
        ts.time_step_spec(array_spec.ArraySpec((1,), np.float32)),
        array_spec.BoundedArraySpec((), np.int32, 0, 2),
        observation_and_action_constraint_splitter=lambda obs: (
            obs,
            np.array([[1, 0]]),
        ),
    )
    with pytest.raises(ValueError, match="number of actions 3"):
        policy.action(ts.restart(np.zeros((1, 1), np.float32), 1))
