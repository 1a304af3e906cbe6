"""Evaluating on Gymnasium CartPole-v1: serial and 4 parallel environments agree."""

import functools

import numpy as np
import pytest

from policylib.drivers import py_driver
from policylib.environments import (
    batched_py_environment,
    parallel_py_environment,
    py_environment,
    suite_gym,
    wrappers,
)
from policylib.eval import metric_utils
from policylib.metrics import py_metrics
from policylib.policies import py_tf_eager_policy, random_py_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from tests.environments.cartpole import PoleAnglePolicy
from tests.policies.small_policies import greedy_q

EPISODES = 12
SEED = 100


def _metrics():
    return [
        py_metrics.AverageReturnMetric(buffer_size=EPISODES),
        py_metrics.AverageEpisodeLengthMetric(buffer_size=EPISODES),
        py_metrics.NumberOfEpisodes(),
        py_metrics.EnvironmentSteps(),
    ]


def _serial_returns(policy, episodes, seed):
    """Episode returns by hand: suite_gym.load + PyDriver + AverageReturnMetric."""
    env = suite_gym.load("CartPole-v1")
    returns = []
    for k in range(episodes):
        env.seed(seed + k)
        metric = py_metrics.AverageReturnMetric(buffer_size=1)
        driver = py_driver.PyDriver(env, policy, observers=[metric], max_episodes=1)
        driver.run(env.reset())
        returns.append(float(metric.result()))
    return returns


def test_cartpole_serial_and_four_parallel_envs_agree():
    policy = PoleAnglePolicy(
        suite_gym.load("CartPole-v1").time_step_spec(),
        suite_gym.load("CartPole-v1").action_spec(),
    )
    by_hand = _serial_returns(policy, EPISODES, SEED)
    assert len(set(by_hand)) > 3  # returns depend on the start state

    serial = metric_utils.compute(
        _metrics(), suite_gym.load("CartPole-v1"), policy, EPISODES, seed=SEED
    )
    parallel_env = parallel_py_environment.ParallelPyEnvironment(
        [functools.partial(suite_gym.load, "CartPole-v1")] * 4
    )
    try:
        parallel = metric_utils.compute(
            _metrics(), parallel_env, policy, EPISODES, seed=SEED
        )
    finally:
        parallel_env.close()

    assert serial["NumberOfEpisodes"] == parallel["NumberOfEpisodes"] == EPISODES
    assert serial["AverageReturn"] == pytest.approx(np.mean(by_hand))
    assert parallel["AverageReturn"] == pytest.approx(serial["AverageReturn"])
    assert parallel["AverageEpisodeLength"] == pytest.approx(
        serial["AverageEpisodeLength"]
    )
    assert parallel["EnvironmentSteps"] == serial["EnvironmentSteps"] == sum(by_hand)


def test_tf_policy_through_py_tf_eager_policy_on_cartpole():
    env = suite_gym.load("CartPole-v1")
    q = greedy_q(seed=3)  # 3 actions over a (4,) float observation, int32 actions
    # The CartPole spec is int64 in {0, 1}: the mismatch must be caught up front.
    with pytest.raises(ValueError, match="action_spec"):
        metric_utils.compute(_metrics(), env, py_tf_eager_policy.PyTFEagerPolicy(q), 1)


class _FixedLengthEnv(py_environment.PyEnvironment):
    """Reward 1 per step; every episode lasts `length` steps."""

    def __init__(self, length):
        super().__init__(handle_auto_reset=True)
        self._length = length
        self._t = 0

    def observation_spec(self):
        return array_spec.ArraySpec((), np.float32)

    def action_spec(self):
        return array_spec.BoundedArraySpec((), np.int32, 0, 1)

    def _reset(self):
        self._t = 0
        return ts.restart(np.float32(0))

    def _step(self, action):
        self._t += 1
        if self._t >= self._length:
            return ts.termination(np.float32(self._t), np.float32(1))
        return ts.transition(np.float32(self._t), np.float32(1))


def test_episodes_are_assigned_up_front_not_first_to_finish():
    lengths = [2, 10]
    env = batched_py_environment.BatchedPyEnvironment(
        [_FixedLengthEnv(n) for n in lengths], multithreading=False
    )
    policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=0
    )
    # 4 episodes: 2 per environment, so the mean return is (2 + 2 + 10 + 10) / 4.
    result = metric_utils.compute(_metrics(), env, policy, num_episodes=4)
    assert result["AverageReturn"] == pytest.approx(6.0)
    assert result["NumberOfEpisodes"] == 4
    # Stopping at the first episodes to finish over-counts the short ones:
    # 4 short (return 2) and 1 long (return 10) episodes end first.
    biased = py_metrics.AverageReturnMetric()
    py_driver.PyDriver(env, policy, [biased], max_episodes=4).run(env.reset())
    assert biased.result() == pytest.approx((4 * 2 + 10) / 5)


def test_assign_episodes_round_robin():
    assert metric_utils.assign_episodes(5, 2) == [[0, 2, 4], [1, 3]]
    assert metric_utils.assign_episodes(2, 4) == [[0], [1], [], []]


def test_spec_mismatch_fails_before_the_first_step():
    env = wrappers.RunStats(suite_gym.load("CartPole-v1"))
    wrong = array_spec.ArraySpec((3,), np.float32, name="observation")
    policy = PoleAnglePolicy(ts.time_step_spec(wrong), env.action_spec())
    with pytest.raises(ValueError) as error:
        py_driver.PyDriver(env, policy, observers=[], max_episodes=1)
    message = str(error.value)
    assert "'observation'" in message and "(4,)" in message and "(3,)" in message
    assert (
        "Environment time_step_spec" in message and "Policy time_step_spec" in message
    )
    assert env.total_steps == 0 and env.resets == 0


def test_eager_compute_assigns_episodes_up_front():
    from policylib.environments import tf_py_environment
    from policylib.metrics import tf_metrics
    from policylib.policies import random_tf_policy

    env = tf_py_environment.TFPyEnvironment(
        batched_py_environment.BatchedPyEnvironment(
            [_FixedLengthEnv(n) for n in (2, 10)], multithreading=False
        )
    )
    policy = random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec())
    metrics = [
        tf_metrics.AverageReturnMetric(batch_size=2, buffer_size=10),
        tf_metrics.NumberOfEpisodes(),
    ]
    result = metric_utils.eager_compute(metrics, env, policy, num_episodes=4)
    assert result["NumberOfEpisodes"].numpy() == 4
    assert result["AverageReturn"].numpy() == pytest.approx(6.0)
