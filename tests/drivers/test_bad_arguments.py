"""Drivers and `metric_utils` name the argument that is wrong."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.drivers import (
    dynamic_episode_driver,
    dynamic_step_driver,
    py_driver,
    tf_driver,
)
from policylib.environments import random_py_environment, tf_py_environment
from policylib.eval import metric_utils
from policylib.metrics import py_metrics, tf_metrics
from policylib.policies import random_py_policy, random_tf_policy
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

OBS = array_spec.ArraySpec((4,), np.float32)
ACT = array_spec.BoundedArraySpec((), np.int64, 0, 1)


def _py_env():
    return random_py_environment.RandomPyEnvironment(
        OBS, ACT, min_duration=2, max_duration=4, seed=0
    )


PY_ENV = _py_env()
TF_ENV = tf_py_environment.TFPyEnvironment(_py_env())
PY_POLICY = random_py_policy.RandomPyPolicy(PY_ENV.time_step_spec(), ACT, seed=0)
TF_POLICY = random_tf_policy.RandomTFPolicy(
    TF_ENV.time_step_spec(), TF_ENV.action_spec()
)
OTHER_PY_POLICY = random_py_policy.RandomPyPolicy(
    ts.time_step_spec(array_spec.ArraySpec((3,), np.float32)), ACT
)
OTHER_TF_POLICY = random_tf_policy.RandomTFPolicy(
    ts.time_step_spec(tensor_spec.TensorSpec((3,), tf.float32)), TF_ENV.action_spec()
)
RETURN = py_metrics.AverageReturnMetric

CASES = {
    "PyDriver env": (
        lambda: py_driver.PyDriver(object(), PY_POLICY, [], max_steps=1),
        TypeError,
        "PyDriver: env must be a PyEnvironment, got object",
    ),
    "PyDriver TF env": (
        lambda: py_driver.PyDriver(TF_ENV, PY_POLICY, [], max_steps=1),
        TypeError,
        "A TFEnvironment is run by DynamicStepDriver or TFDriver",
    ),
    "PyDriver TF policy": (
        lambda: py_driver.PyDriver(PY_ENV, TF_POLICY, [], max_steps=1),
        TypeError,
        "PyDriver: policy must be a PyPolicy, got RandomTFPolicy.*PyTFEagerPolicy",
    ),
    "PyDriver no limit": (
        lambda: py_driver.PyDriver(PY_ENV, PY_POLICY, []),
        ValueError,
        "Either `max_steps` or `max_episodes` should be greater than 0",
    ),
    "PyDriver negative max_steps": (
        lambda: py_driver.PyDriver(PY_ENV, PY_POLICY, [], max_steps=-1),
        ValueError,
        "PyDriver: max_steps must be at least 0, got -1",
    ),
    "PyDriver string max_episodes": (
        lambda: py_driver.PyDriver(PY_ENV, PY_POLICY, [], max_episodes="2"),
        TypeError,
        "PyDriver: max_episodes must be an int, got '2'",
    ),
    "PyDriver observer not callable": (
        lambda: py_driver.PyDriver(PY_ENV, PY_POLICY, [print, 3], max_steps=1),
        TypeError,
        r"PyDriver: observers\[1\] is not callable: int 3",
    ),
    "PyDriver specs differ": (
        lambda: py_driver.PyDriver(PY_ENV, OTHER_PY_POLICY, [], max_steps=1),
        ValueError,
        r"'observation': environment has shape \(4,\) float32, policy expects shape \(3,\)",
    ),
    "PyDriver.run bad time step": (
        lambda: py_driver.PyDriver(PY_ENV, PY_POLICY, [], max_steps=1).run((1, 2)),
        TypeError,
        "RandomPyPolicy.action takes a TimeStep; got tuple",
    ),
    "DynamicStepDriver py env": (
        lambda: dynamic_step_driver.DynamicStepDriver(PY_ENV, TF_POLICY),
        TypeError,
        "DynamicStepDriver: env must be a TFEnvironment.*TFPyEnvironment",
    ),
    "DynamicStepDriver py policy": (
        lambda: dynamic_step_driver.DynamicStepDriver(TF_ENV, PY_POLICY),
        TypeError,
        "DynamicStepDriver: policy must be a TFPolicy, got RandomPyPolicy",
    ),
    "DynamicStepDriver num_steps": (
        lambda: dynamic_step_driver.DynamicStepDriver(TF_ENV, TF_POLICY, num_steps=-1),
        ValueError,
        "DynamicStepDriver: num_steps must be at least 0, got -1",
    ),
    "DynamicStepDriver transition observer": (
        lambda: dynamic_step_driver.DynamicStepDriver(
            TF_ENV, TF_POLICY, transition_observers=[None]
        ),
        TypeError,
        r"DynamicStepDriver: transition_observers\[0\] is not callable",
    ),
    "DynamicStepDriver specs differ": (
        lambda: dynamic_step_driver.DynamicStepDriver(TF_ENV, OTHER_TF_POLICY),
        ValueError,
        "The environment's time_step_spec does not match the policy's",
    ),
    "DynamicEpisodeDriver num_episodes": (
        lambda: dynamic_episode_driver.DynamicEpisodeDriver(
            TF_ENV, TF_POLICY, num_episodes=1.5
        ),
        TypeError,
        "DynamicEpisodeDriver: num_episodes must be an int, got 1.5",
    ),
    "TFDriver py policy": (
        lambda: tf_driver.TFDriver(TF_ENV, PY_POLICY, [], max_steps=1),
        TypeError,
        "TFDriver: policy must be a TFPolicy",
    ),
    "compute metrics None": (
        lambda: metric_utils.compute(None, PY_ENV, PY_POLICY),
        TypeError,
        "compute: metrics must be a list of metrics, got None",
    ),
    "compute not a metric": (
        lambda: metric_utils.compute([RETURN(), object()], PY_ENV, PY_POLICY),
        TypeError,
        r"compute: metrics\[1\] is not a metric",
    ),
    "compute TF metric": (
        lambda: metric_utils.compute(
            [tf_metrics.AverageReturnMetric()], PY_ENV, PY_POLICY
        ),
        TypeError,
        r"compute: metrics\[0\] \(AverageReturnMetric\) is a TF metric; use eager_compute",
    ),
    "compute TF env": (
        lambda: metric_utils.compute([RETURN()], TF_ENV, PY_POLICY),
        TypeError,
        "compute: environment must be a PyEnvironment.*eager_compute",
    ),
    "compute TF policy": (
        lambda: metric_utils.compute([RETURN()], PY_ENV, TF_POLICY),
        TypeError,
        "compute: policy must be a PyPolicy, got RandomTFPolicy",
    ),
    "compute num_episodes 0": (
        lambda: metric_utils.compute([RETURN()], PY_ENV, PY_POLICY, num_episodes=0),
        ValueError,
        "compute: num_episodes must be positive, got 0",
    ),
    "compute num_episodes string": (
        lambda: metric_utils.compute([RETURN()], PY_ENV, PY_POLICY, num_episodes="3"),
        TypeError,
        "compute: num_episodes must be an int, got '3'",
    ),
    "compute specs differ": (
        lambda: metric_utils.compute([RETURN()], PY_ENV, OTHER_PY_POLICY),
        ValueError,
        "The environment's time_step_spec does not match the policy's",
    ),
    "eager_compute py metric": (
        lambda: metric_utils.eager_compute([RETURN()], TF_ENV, TF_POLICY),
        TypeError,
        r"eager_compute: metrics\[0\] \(AverageReturnMetric\) is a Python metric; use compute",
    ),
    "eager_compute py env": (
        lambda: metric_utils.eager_compute(
            [tf_metrics.AverageReturnMetric()], PY_ENV, TF_POLICY
        ),
        TypeError,
        "eager_compute: env must be a TFEnvironment",
    ),
    "py metric buffer_size": (
        lambda: py_metrics.AverageReturnMetric(buffer_size=0),
        ValueError,
        "AverageReturn: buffer_size must be positive, got 0",
    ),
    "TF metric buffer_size": (
        lambda: tf_metrics.AverageEpisodeLengthMetric(buffer_size="10"),
        TypeError,
        "AverageEpisodeLength: buffer_size must be an int",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_is_named(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_good_arguments_still_run():
    result = metric_utils.compute([RETURN()], PY_ENV, PY_POLICY, num_episodes=2)
    assert np.isfinite(result["AverageReturn"])
    driver = py_driver.PyDriver(PY_ENV, PY_POLICY, None, max_steps=3)
    driver.run(PY_ENV.reset())


def test_a_policy_without_a_time_step_spec_runs_in_any_environment():
    """TF-Agents' `RandomPyPolicy(time_step_spec=None, ...)`: only actions are checked."""
    policy = random_py_policy.RandomPyPolicy(None, ACT, seed=0)
    result = metric_utils.compute([RETURN()], PY_ENV, policy, num_episodes=2)
    assert np.isfinite(result["AverageReturn"])
    wrong_action = random_py_policy.RandomPyPolicy(
        None, array_spec.BoundedArraySpec((2,), np.int64, 0, 1)
    )
    with pytest.raises(ValueError, match="action_spec does not match"):
        py_driver.PyDriver(PY_ENV, wrong_action, None, max_steps=3)
