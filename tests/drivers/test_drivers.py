"""PyDriver, TFDriver and the dynamic drivers on the counting mock environment."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.drivers import (
    dynamic_episode_driver,
    dynamic_step_driver,
    py_driver,
    test_utils,
    tf_driver,
)
from policylib.environments import tf_py_environment
from policylib.metrics import py_metrics, tf_metrics


def test_py_driver_counts_steps_and_episodes():
    env = test_utils.PyEnvironmentMock(final_state=3)
    policy = test_utils.PyPolicyMock(env.time_step_spec(), env.action_spec())
    trajectories = []
    steps = py_metrics.EnvironmentSteps()
    driver = py_driver.PyDriver(
        env, policy, [trajectories.append, steps], max_episodes=2
    )
    time_step, _ = driver.run(env.reset())
    # Actions alternate 1, 2 from state 2: each episode is 0 -> 1 -> 3, then a boundary.
    assert [int(t.action) for t in trajectories] == [1, 2, 1, 1, 2, 1]
    assert [int(t.step_type) for t in trajectories] == [0, 1, 2, 0, 1, 2]
    assert steps.result() == 4
    assert time_step.is_first()


def test_py_driver_needs_a_limit():
    env = test_utils.PyEnvironmentMock()
    policy = test_utils.PyPolicyMock(env.time_step_spec(), env.action_spec())
    with pytest.raises(ValueError, match="max_steps"):
        py_driver.PyDriver(env, policy, [], max_steps=0, max_episodes=None)


def _tf_setup():
    env = tf_py_environment.TFPyEnvironment(test_utils.PyEnvironmentMock())
    policy = test_utils.TFPolicyMock(env.time_step_spec(), env.action_spec())
    return env, policy


@pytest.mark.parametrize("disable_tf_function", [False, True])
def test_tf_driver_matches_py_driver(disable_tf_function):
    env, policy = _tf_setup()
    returns = tf_metrics.AverageReturnMetric()
    episodes = tf_metrics.NumberOfEpisodes()
    driver = tf_driver.TFDriver(
        env,
        policy,
        [returns, episodes],
        max_episodes=2,
        disable_tf_function=disable_tf_function,
    )
    driver.run(env.reset(), policy.get_initial_state(1))
    assert episodes.result().numpy() == 2
    assert returns.result().numpy() == pytest.approx(2.0)


def test_dynamic_step_and_episode_drivers():
    env, policy = _tf_setup()
    steps = test_utils.NumStepsObserver()
    dynamic_step_driver.DynamicStepDriver(env, policy, [steps], num_steps=5).run()
    assert steps.num_steps.numpy() == 5
    env, policy = _tf_setup()
    episodes = test_utils.NumEpisodesObserver()
    run = tf.function(
        dynamic_episode_driver.DynamicEpisodeDriver(
            env, policy, [episodes], num_episodes=3
        ).run
    )
    run()
    assert episodes.num_episodes.numpy() == 3


def test_tf_driver_rejects_mismatched_policy():
    env, _ = _tf_setup()
    other = test_utils.TFPolicyMock(
        env.time_step_spec()._replace(
            observation=tf.TensorSpec([2], tf.int32, name="observation")
        ),
        env.action_spec(),
    )
    with pytest.raises(ValueError, match=r"observation.*\(2,\)"):
        tf_driver.TFDriver(env, other, [], max_steps=1)


def test_batched_py_driver_keeps_per_env_state():
    from policylib.environments import batched_py_environment

    env = batched_py_environment.BatchedPyEnvironment(
        [test_utils.PyEnvironmentMock(final_state=f) for f in (2, 5)],
        multithreading=False,
    )
    policy = test_utils.PyPolicyMock(
        env.time_step_spec(),
        env.action_spec(),
        initial_policy_state=np.array([0, 0], np.int32),
    )
    lengths = py_metrics.AverageEpisodeLengthMetric()
    driver = py_driver.PyDriver(env, policy, [lengths], max_steps=12)
    driver.run(env.reset(), np.array([0, 0], np.int32))
    assert lengths.result() > 0


def test_recorder_collects_what_the_driver_saw():
    env, policy = _tf_setup()
    recorder = test_utils.make_replay_buffer(policy)
    driver = dynamic_episode_driver.DynamicEpisodeDriver(
        env, policy, [recorder.add_batch], num_episodes=2
    )
    driver.run()
    traj = recorder.gather_all()
    # Two episodes of 0 -> 1 -> 3 plus the boundary after the first.
    assert traj.step_type.numpy().tolist() == [[0, 1, 2, 0, 1, 2]]
    assert traj.action.numpy().tolist() == [[1, 2, 1, 1, 2, 1]]
