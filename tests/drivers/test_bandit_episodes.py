"""The drivers on bandit environments: every step is a one-step episode."""

import functools

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import environment_utilities as eu
from policylib.bandits.environments import random_bandit_environment
from policylib.bandits.environments import stationary_stochastic_py_environment as sspe
from policylib.drivers import dynamic_episode_driver, dynamic_step_driver
from policylib.environments import tf_py_environment, wrappers
from policylib.policies import random_tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

tfd = tfp.distributions


def _py_env(batch_size: int = 4) -> sspe.StationaryStochasticPyEnvironment:
    fns = eu.sliding_linear_reward_fn_generator(3, 2, 0.01)
    return sspe.StationaryStochasticPyEnvironment(
        functools.partial(eu.context_sampling_fn, batch_size=batch_size, context_dim=3),
        fns,
        batch_size=batch_size,
    )


def _tf_env() -> random_bandit_environment.RandomBanditEnvironment:
    return random_bandit_environment.RandomBanditEnvironment(
        tfd.Independent(tfd.Normal(tf.zeros([4, 3]), 1.0), 1),
        tfd.Normal(tf.zeros([4]), 1.0),
        action_spec=tensor_spec.BoundedTensorSpec([], tf.int32, 0, 1),
    )


def test_bandit_envs_are_recognised_through_wrappers():
    py_env = _py_env()
    assert dynamic_step_driver.is_bandit_env(py_env)
    assert dynamic_step_driver.is_bandit_env(tf_py_environment.TFPyEnvironment(py_env))
    wrapped = wrappers.PyEnvironmentBaseWrapper(py_env)
    assert dynamic_step_driver.is_bandit_env(tf_py_environment.TFPyEnvironment(wrapped))
    assert dynamic_step_driver.is_bandit_env(_tf_env())
    assert not dynamic_step_driver.is_bandit_env(object())


def _run(driver_cls, env, **count):
    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    seen = []
    driver = driver_cls(env, policy, observers=[seen.append], **count)
    driver.run()
    return seen


def test_step_driver_takes_num_steps_steps_each_starting_first():
    env = tf_py_environment.TFPyEnvironment(_py_env(batch_size=4))
    seen = _run(dynamic_step_driver.DynamicStepDriver, env, num_steps=12)
    # Each step of the batch of 4 counts: 12 steps are 3 iterations (an
    # endless loop before bandit envs were recognised: every step is LAST).
    assert len(seen) == 3
    for traj in seen:
        np.testing.assert_array_equal(traj.step_type, [ts.StepType.FIRST] * 4)
        np.testing.assert_array_equal(traj.next_step_type, [ts.StepType.LAST] * 4)


def test_episode_driver_counts_each_step_as_an_episode():
    seen = _run(dynamic_episode_driver.DynamicEpisodeDriver, _tf_env(), num_episodes=8)
    assert len(seen) == 2
    assert all((traj.step_type.numpy() == ts.StepType.FIRST).all() for traj in seen)
