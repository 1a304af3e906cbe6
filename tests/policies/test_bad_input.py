"""Bad time steps and wrong wrapped objects get errors naming the leaf and its spec."""

import numpy as np
import pytest
import tensorflow as tf

from policylib import data
from policylib.networks import q_network
from policylib.policies import policy_loader, py_tf_eager_policy, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")


@pytest.fixture(scope="module")
def q():
    return q_policy.QPolicy(
        ts.time_step_spec(OBS), ACT, q_network=q_network.QNetwork(OBS, ACT)
    )


@pytest.mark.parametrize("leaf", ["observation", "step_type", "reward", "discount"])
@pytest.mark.parametrize("method", ["action", "distribution"])
def test_tf_policy_names_a_none_leaf(q, leaf, method):
    time_step = ts.restart(tf.ones((2, 4)), 2)._replace(**{leaf: None})
    with pytest.raises(
        ValueError,
        match=rf"{method}: time_step\.{leaf} is None; expected a value for (Bounded)?TensorSpec\(",
    ):
        getattr(q, method)(time_step)


def test_py_tf_eager_policy_wraps_only_policies():
    with pytest.raises(
        TypeError,
        match="PyTFEagerPolicy wraps a TFPolicy; got object, which has no time_step_spec",
    ):
        py_tf_eager_policy.PyTFEagerPolicy(object())


@pytest.fixture(scope="module")
def wrappers(q):
    return {
        "PyTFEagerPolicy": py_tf_eager_policy.PyTFEagerPolicy(q),
        "SavedModelPyTFEagerPolicy": policy_loader.load(data.cartpole_dqn_path()),
    }


@pytest.mark.parametrize("name", ["PyTFEagerPolicy", "SavedModelPyTFEagerPolicy"])
def test_py_wrappers_name_the_leaf(wrappers, name):
    policy = wrappers[name]
    good = ts.restart(np.ones(4, np.float32))
    with pytest.raises(
        ValueError, match=r"time_step\.observation is None; expected an array for"
    ):
        policy.action(good._replace(observation=None))
    with pytest.raises(
        ValueError,
        match=r"time_step\.observation has dtype <U1, which does not fit its spec",
    ):
        policy.action(good._replace(observation=np.array(list("abcd"))))
    with pytest.raises(
        ValueError,
        match=r"\(time_step\.observation: shape \(3,\), expected \(4,\) or \[B\] \+ \(4,\)\)",
    ):
        policy.action(good._replace(observation=np.ones(3, np.float32)))
    with pytest.raises(
        ValueError, match=r"\(time_step\.observation: shape \(2, 5\), expected"
    ):
        policy.action(ts.restart(np.ones((2, 5), np.float32), 2))
    with pytest.raises(ValueError, match="its structure differs"):
        policy.action((1, 2))
    # A float64 observation is a same-kind cast: accepted.
    assert policy.action(good._replace(observation=np.ones(4))).action.shape == ()
