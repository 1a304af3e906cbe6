"""Every policy's `action` and `distribution` name the time-step leaf that does not fit.

Each bad time step is fed to each policy; the error must be TF-Agents' type
(ValueError or TypeError) and its message must name the leaf and the spec.
"""

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import actor_distribution_network, q_network
from policylib.policies import (
    actor_policy,
    batched_py_policy,
    boltzmann_policy,
    epsilon_greedy_policy,
    fixed_policy,
    gaussian_policy,
    greedy_policy,
    py_epsilon_greedy_policy,
    q_policy,
    random_py_policy,
    random_tf_policy,
    scripted_py_policy,
)
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")
CONT = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1, 1, name="action")
TIME_STEP_SPEC = ts.time_step_spec(OBS)


def _tf_policies():
    q = q_policy.QPolicy(TIME_STEP_SPEC, ACT, q_network=q_network.QNetwork(OBS, ACT))
    actor = actor_policy.ActorPolicy(
        TIME_STEP_SPEC,
        CONT,
        actor_network=actor_distribution_network.ActorDistributionNetwork(OBS, CONT),
    )
    return {
        "QPolicy": q,
        "GreedyPolicy": greedy_policy.GreedyPolicy(q),
        "EpsilonGreedyPolicy": epsilon_greedy_policy.EpsilonGreedyPolicy(q, 0.1),
        "BoltzmannPolicy": boltzmann_policy.BoltzmannPolicy(q, temperature=2.0),
        "RandomTFPolicy": random_tf_policy.RandomTFPolicy(TIME_STEP_SPEC, ACT),
        "FixedPolicy": fixed_policy.FixedPolicy(np.int64(1), TIME_STEP_SPEC, ACT),
        "ActorPolicy": actor,
        "GaussianPolicy": gaussian_policy.GaussianPolicy(actor, clip=True),
    }


TF_POLICIES = _tf_policies()
GOOD = ts.restart(tf.ones((2, 4)), 2)
OBS_SPEC_TEXT = r"TensorSpec\(shape=\(4,\), dtype=tf\.float32, name='observation'\)"
BAD_TF_TIME_STEPS = {
    "not a time step": ((1, 2), TypeError, "structures do not match"),
    "extra nesting": (
        GOOD._replace(observation={"a": tf.ones((2, 4))}),
        ValueError,
        "structures do not match",
    ),
    "None observation": (
        GOOD._replace(observation=None),
        ValueError,
        rf"time_step\.observation is None; expected a value for {OBS_SPEC_TEXT}",
    ),
    "observation shape": (
        ts.restart(tf.ones((2, 5)), 2),
        ValueError,
        rf"time_step\.observation has shape \(2, 5\); expected \(outer dims\) \+ \(4,\) for {OBS_SPEC_TEXT}",
    ),
    "NumPy observation shape": (
        GOOD._replace(observation=np.ones((2, 3), np.float32)),
        ValueError,
        r"time_step\.observation has shape \(2, 3\)",
    ),
    "observation dtype": (
        GOOD._replace(observation=tf.ones((2, 4), tf.int32)),
        ValueError,
        rf"time_step\.observation has dtype int32; expected float32 for {OBS_SPEC_TEXT}",
    ),
    "string observation": (
        GOOD._replace(observation=tf.constant([["a"] * 4] * 2)),
        ValueError,
        r"time_step\.observation has dtype string; expected float32",
    ),
    "step type dtype": (
        GOOD._replace(step_type=tf.zeros((2,), tf.float32)),
        ValueError,
        r"time_step\.step_type has dtype float32; expected int32",
    ),
    "batch sizes differ": (
        GOOD._replace(reward=tf.zeros((3,))),
        ValueError,
        r"time_step\.reward has outer \(batch\) dims \[3\], but time_step\.step_type has \[2\]",
    ),
}
# Policies without a distribution raise NotImplementedError once the input is valid.
NO_DISTRIBUTION = {"EpsilonGreedyPolicy", "RandomTFPolicy", "GaussianPolicy"}


@pytest.mark.parametrize("bad", sorted(BAD_TF_TIME_STEPS))
@pytest.mark.parametrize("name", sorted(TF_POLICIES))
def test_tf_policy_action_and_distribution_name_the_leaf(name, bad):
    policy = TF_POLICIES[name]
    time_step, error, message = BAD_TF_TIME_STEPS[bad]
    methods = (
        ["action"] if name == "EpsilonGreedyPolicy" else ["action", "distribution"]
    )
    for method in methods:
        with pytest.raises(error, match=message) as raised:
            getattr(policy, method)(time_step)
        assert str(raised.value).startswith(method) or "structures" in str(raised.value)
        assert not isinstance(raised.value, tf.errors.OpError)


@pytest.mark.parametrize("name", sorted(TF_POLICIES))
def test_a_good_time_step_still_acts(name):
    policy = TF_POLICIES[name]
    step = policy.action(GOOD)
    assert step.action.shape[0] == 2
    if name not in NO_DISTRIBUTION:
        policy.distribution(GOOD)


A_OBS = array_spec.ArraySpec((4,), np.float32, name="obs")
A_ACT = array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")
A_TIME_STEP_SPEC = ts.time_step_spec(A_OBS)


def _py_policies():
    random = random_py_policy.RandomPyPolicy(A_TIME_STEP_SPEC, A_ACT, seed=0)
    return {
        "RandomPyPolicy": random,
        "ScriptedPyPolicy": scripted_py_policy.ScriptedPyPolicy(
            A_TIME_STEP_SPEC, A_ACT, [(100, np.int64(1))]
        ),
        "py EpsilonGreedyPolicy": py_epsilon_greedy_policy.EpsilonGreedyPolicy(
            random, 0.5
        ),
        "BatchedPyPolicy": batched_py_policy.BatchedPyPolicy(
            [
                random_py_policy.RandomPyPolicy(A_TIME_STEP_SPEC, A_ACT, seed=i)
                for i in range(2)
            ]
        ),
    }


PY_POLICIES = _py_policies()
A_GOOD = ts.restart(np.zeros((2, 4), np.float32), 2)
A_SPEC_TEXT = r"ArraySpec\(shape=\(4,\), dtype=dtype\('float32'\), name='obs'\)"
BAD_PY_TIME_STEPS = {
    "not a time step": ((1, 2), TypeError, r"\.action takes a TimeStep; got tuple"),
    "None observation": (
        A_GOOD._replace(observation=None),
        ValueError,
        rf"action: time_step\.observation is None; expected a value for {A_SPEC_TEXT}",
    ),
    "observation shape": (
        A_GOOD._replace(observation=np.zeros((2, 5), np.float32)),
        ValueError,
        r"time_step\.observation has shape \(2, 5\); expected \(outer dims\) \+ \(4,\)",
    ),
    "string observation": (
        A_GOOD._replace(observation=np.array([list("abcd")] * 2)),
        ValueError,
        r"time_step\.observation has dtype str32; expected float32",
    ),
    "float step type": (
        A_GOOD._replace(step_type=np.zeros(2, np.float32)),
        ValueError,
        r"time_step\.step_type has dtype float32; expected int32",
    ),
    "batch sizes differ": (
        ts.restart(np.zeros((2, 4), np.float32), 3),
        ValueError,
        r"time_step\.observation has outer \(batch\) dims \[2\], but time_step\.step_type has \[3\]",
    ),
}


@pytest.mark.parametrize("bad", sorted(BAD_PY_TIME_STEPS))
@pytest.mark.parametrize("name", sorted(PY_POLICIES))
def test_py_policy_action_names_the_leaf(name, bad):
    policy = PY_POLICIES[name]
    time_step, error, message = BAD_PY_TIME_STEPS[bad]
    with pytest.raises(error, match=message):
        policy.action(time_step, policy.get_initial_state(2))


@pytest.mark.parametrize("name", sorted(PY_POLICIES))
def test_py_policy_accepts_good_and_same_kind_inputs(name):
    policy = PY_POLICIES[name]
    # float64 observations and Python-int step types are the same kind: accepted.
    time_step = A_GOOD._replace(observation=np.zeros((2, 4)))
    assert np.shape(policy.action(time_step, policy.get_initial_state(2)).action)[
        -1:
    ] in (
        (2,),
        (),
    )


def test_a_policy_built_without_a_time_step_spec_takes_anything():
    policy = random_py_policy.RandomPyPolicy(None, A_ACT, outer_dims=(3,), seed=0)
    assert policy.action(None).action.shape == (3,)
