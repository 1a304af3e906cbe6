"""suite_envpool and VectorEnvWrapper: vectorised environments as batched PyEnvironments.

The reference for step types around auto-resets is a per-environment run of
the same seeds and actions, written out with TF-Agents' rules: EnvPool
pools of one environment for `suite_envpool`, and `suite_gym` environments
(GymWrapper's own auto-reset) for Gymnasium's vector environments.
"""

from __future__ import annotations

import sys

import gymnasium
import numpy as np
import pytest

from policylib import cli, data
from policylib.base import extras
from policylib.drivers import py_driver
from policylib.environments import (
    env_construction,
    suite_envpool,
    suite_gym,
    tf_py_environment,
    vector_env_wrapper,
)
from policylib.environments.gym_wrapper import spec_from_gym_space
from policylib.errors import UnknownEnvironmentError
from policylib.eval import evaluate, metric_utils
from policylib.metrics import py_metrics
from policylib.policies import random_py_policy
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts

envpool = pytest.importorskip("envpool")
# The raw pools of the reference runs build their spaces from float64 bounds.
pytestmark = pytest.mark.filterwarnings("ignore:.*precision lowered:UserWarning")

FIRST, MID, LAST = (
    int(t) for t in (ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST)
)


def _run(env, actions):
    """Time steps of `reset()` then `step(a)` for each row of `actions`, stacked."""
    steps = [env.reset()]
    steps += [env.step(a) for a in actions]
    return ts.TimeStep(*(np.stack(field) for field in zip(*steps)))


def _envpool_reference(task, seeds, actions, max_episode_steps):
    """Per environment, a pool of one run by TF-Agents' rules (explicit resets).

    After a LAST step the next call resets and ignores its action, with
    reward 0 and discount 1; termination ends with discount 0, truncation
    with discount 1.
    """
    per_env = []
    for i, seed in enumerate(seeds):
        pool = envpool.make_gymnasium(
            task, num_envs=1, seed=seed, max_episode_steps=max_episode_steps
        )
        obs, _ = pool.reset()
        rows = [(FIRST, 0.0, 1.0, obs[0])]
        for action in actions[:, i]:
            if rows[-1][0] == LAST:
                obs, _ = pool.reset()
                rows.append((FIRST, 0.0, 1.0, obs[0]))
                continue
            obs, reward, terminated, truncated, _ = pool.step(np.array([action]))
            kind = LAST if terminated[0] or truncated[0] else MID
            rows.append((kind, float(reward[0]), 0.0 if terminated[0] else 1.0, obs[0]))
        pool.close()
        per_env.append(rows)
    return per_env


def _assert_matches(run, per_env):
    for i, rows in enumerate(per_env):
        kinds, rewards, discounts, observations = (np.array(c) for c in zip(*rows))
        np.testing.assert_array_equal(run.step_type[:, i], kinds, err_msg=f"env {i}")
        np.testing.assert_array_equal(run.reward[:, i], rewards, err_msg=f"env {i}")
        np.testing.assert_array_equal(run.discount[:, i], discounts, err_msg=f"env {i}")
        np.testing.assert_allclose(run.observation[:, i], observations, rtol=1e-6)


def test_specs_come_from_envpool_spaces():
    env = suite_envpool.load("CartPole-v1", num_envs=3, seed=0)
    pool = env.vector_env
    assert env.batched and env.batch_size == 3
    assert env.observation_spec() == spec_from_gym_space(
        pool.single_observation_space, name="observation"
    )
    # The same action spec as Gymnasium's CartPole through suite_gym.
    assert env.action_spec() == suite_gym.load("CartPole-v1").action_spec()
    assert env.time_step_spec().observation.shape == (4,)
    first = env.reset()
    assert first.observation.shape == (3, 4)
    assert first.observation.dtype == np.float32
    np.testing.assert_array_equal(first.step_type, [FIRST] * 3)
    env.close()

    atari = suite_envpool.load("Pong-v5", num_envs=2, seed=0)
    assert atari.observation_spec() == array_spec.BoundedArraySpec(
        (4, 84, 84), np.uint8, 0, 255, "observation"
    )
    assert atari.action_spec() == array_spec.BoundedArraySpec(
        (), np.int64, 0, 5, "action"
    )
    assert atari.reset().observation.shape == (2, 4, 84, 84)
    atari.close()


def test_step_types_around_auto_resets_match_a_per_env_reference_run():
    num_envs, seed, limit = 4, 3, 20
    env = suite_envpool.load(
        "CartPole-v1", num_envs=num_envs, seed=seed, max_episode_steps=limit
    )
    actions = np.random.default_rng(0).integers(0, 2, (150, num_envs))
    run = _run(env, actions)
    env.close()
    seeds = [seed + i for i in range(num_envs)]
    _assert_matches(run, _envpool_reference("CartPole-v1", seeds, actions, limit))

    last = run.step_type == LAST
    # Both endings happen: pole fallen (discount 0) and time limit (discount 1).
    assert (run.discount[last] == 0).any() and (run.discount[last] == 1).any()
    # Every LAST is followed by a FIRST with reward 0 and discount 1, and only there.
    after_last = np.zeros_like(last)
    after_last[1:] = last[:-1]
    after_last[0] = True
    np.testing.assert_array_equal(run.step_type == FIRST, after_last)
    assert (run.reward[after_last] == 0).all() and (run.discount[after_last] == 1).all()
    assert last.sum(axis=0).min() >= 3  # each environment ended several episodes


def test_the_action_after_last_is_ignored():
    env_a = suite_envpool.load("CartPole-v1", num_envs=2, seed=5, max_episode_steps=6)
    env_b = suite_envpool.load("CartPole-v1", num_envs=2, seed=5, max_episode_steps=6)
    actions = np.zeros((8, 2), np.int64)
    run_a = _run(env_a, actions)
    actions[6] = 1  # the call after the LAST of step 6
    run_b = _run(env_b, actions)
    np.testing.assert_array_equal(run_a.step_type[7], [FIRST, FIRST])
    np.testing.assert_array_equal(run_a.observation[7], run_b.observation[7])
    np.testing.assert_array_equal(run_a.observation[8], run_b.observation[8])


def test_seeds_take_effect_at_the_next_reset():
    env = suite_envpool.load("CartPole-v1", num_envs=3, seed=0)
    fresh = suite_envpool.load("CartPole-v1", num_envs=3, seed=7)
    fresh_first = fresh.reset().observation
    env.reset()
    env.step(np.zeros(3, np.int64))
    assert env.seed(7) == [7, 8, 9]
    np.testing.assert_array_equal(env.reset().observation, fresh_first)
    # A None entry keeps that environment's seed (the one it was made with).
    env.seed([None, 8, None])
    first = env.reset().observation
    np.testing.assert_array_equal(first[1], fresh_first[1])
    np.testing.assert_array_equal(
        first[0], suite_envpool.load("CartPole-v1", seed=7).reset().observation[0]
    )
    with pytest.raises(ValueError, match="one seed per environment"):
        env.seed([1, 2])
    with pytest.raises(ValueError, match=r"\[0, 2\*\*31\)"):
        env.seed(-1)
    with pytest.raises(
        ValueError,
        match=r"expected actions of shape \[batch_size=3\] \+ \[\]; got an action of shape \[2\]",
    ):
        env.step(np.zeros(2, np.int64))


def test_driver_and_metrics_see_the_reference_episodes():
    num_envs, seed, limit = 4, 11, 25
    env = suite_envpool.load(
        "CartPole-v1", num_envs=num_envs, seed=seed, max_episode_steps=limit
    )
    policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=0, outer_dims=(num_envs,)
    )
    episodes = py_metrics.NumberOfEpisodes()
    env_steps = py_metrics.EnvironmentSteps()
    average = py_metrics.AverageReturnMetric(buffer_size=1000, batch_size=num_envs)
    actions = []
    driver = py_driver.PyDriver(
        env,
        policy,
        observers=[episodes, env_steps, average, lambda t: actions.append(t.action)],
        max_steps=300,
    )
    driver.run(env.reset())
    env.close()

    per_env = _envpool_reference(
        "CartPole-v1", [seed + i for i in range(num_envs)], np.stack(actions), limit
    )
    returns, steps = [], 0
    for rows in per_env:
        total = 0.0
        for kind, reward, _, _ in rows[1:]:
            steps += kind != FIRST
            total += reward
            if kind == LAST:
                returns.append(total)
                total = 0.0
    assert episodes.result() == len(returns) > 10
    assert env_steps.result() == steps >= 300
    assert average.result() == pytest.approx(np.mean(returns))


def test_metric_utils_compute_counts_the_episodes_asked_for():
    env = suite_envpool.load("CartPole-v1", num_envs=3, seed=0, max_episode_steps=15)
    policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=0, outer_dims=(3,)
    )
    results = metric_utils.compute(
        [py_metrics.NumberOfEpisodes(), py_metrics.AverageEpisodeLengthMetric()],
        env,
        policy,
        num_episodes=7,
        seed=4,
    )
    assert results["NumberOfEpisodes"] == 7
    assert 0 < results["AverageEpisodeLength"] <= 15
    assert env.vector_env.config["env_seed"] == [4, 5, 6]  # episodes 0, 1, 2


def test_tf_py_environment_runs_the_pool():
    import tensorflow as tf

    tf_env = tf_py_environment.TFPyEnvironment(
        suite_envpool.load("CartPole-v1", num_envs=3, seed=2, max_episode_steps=10)
    )
    assert tf_env.batch_size == 3
    actions = np.random.default_rng(1).integers(0, 2, (25, 3))
    steps = [tf_env.reset()]
    steps += [tf_env.step(tf.constant(a)) for a in actions]
    py_run = _run(
        suite_envpool.load("CartPole-v1", num_envs=3, seed=2, max_episode_steps=10),
        actions,
    )
    np.testing.assert_array_equal(
        np.stack([s.step_type.numpy() for s in steps]), py_run.step_type
    )
    np.testing.assert_array_equal(
        np.stack([s.observation.numpy() for s in steps]), py_run.observation
    )
    assert (py_run.step_type == FIRST).sum() > 3


def test_tf_driver_and_metrics_see_the_reference_episodes():
    """DynamicEpisodeDriver and TF metrics over TFPyEnvironment, as in training."""
    from policylib.drivers import dynamic_episode_driver
    from policylib.metrics import tf_metrics
    from policylib.policies import fixed_policy

    seeds, limit = [4, 5, 6], 30
    tf_env = tf_py_environment.TFPyEnvironment(
        suite_envpool.load("CartPole-v1", num_envs=3, seed=4, max_episode_steps=limit)
    )
    push_left = fixed_policy.FixedPolicy(
        np.int64(0), tf_env.time_step_spec(), tf_env.action_spec()
    )
    episodes = tf_metrics.NumberOfEpisodes()
    average = tf_metrics.AverageReturnMetric(batch_size=3, buffer_size=100)
    dynamic_episode_driver.DynamicEpisodeDriver(
        tf_env, push_left, observers=[episodes, average], num_episodes=7
    ).run()

    # The driver counts an episode at its boundary (the call after its LAST),
    # so it stops at the seventh boundary; the metrics count the LASTs by then.
    per_env = _envpool_reference(
        "CartPole-v1", seeds, np.zeros((60, 3), np.int64), limit
    )
    ended = []  # (call, return)
    for rows in per_env:
        total = 0.0
        for call, (kind, reward, _, _) in enumerate(rows):
            total = 0.0 if kind == FIRST else total + reward
            if kind == LAST:
                ended.append((call, total))
    ended.sort()
    stop = ended[6][0] + 1
    expected = [r for call, r in ended if call <= stop]
    assert int(episodes.result()) == len(expected) >= 7
    assert float(average.result()) == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("mode,num_envs", [("sync", 3), ("async", 2)])
def test_gymnasium_vector_envs_match_suite_gym(mode, num_envs):
    seed, limit = 0, 12
    env = vector_env_wrapper.load(
        "CartPole-v1", num_envs, seed=seed, vectorization_mode=mode,
        max_episode_steps=limit,
    )  # fmt: skip
    assert env.batch_size == num_envs
    single = suite_gym.load("CartPole-v1", max_episode_steps=limit)
    assert env.time_step_spec() == single.time_step_spec()
    assert env.action_spec() == single.action_spec()
    actions = np.random.default_rng(2).integers(0, 2, (40, num_envs))
    run = _run(env, actions)
    env.close()
    for i in range(num_envs):
        reference = suite_gym.load(
            "CartPole-v1", max_episode_steps=limit, seed=seed + i
        )
        expected = _run(reference, actions[:, i])
        np.testing.assert_array_equal(run.step_type[:, i], expected.step_type)
        np.testing.assert_array_equal(run.reward[:, i], expected.reward)
        np.testing.assert_array_equal(run.discount[:, i], expected.discount)
        np.testing.assert_array_equal(run.observation[:, i], expected.observation)
    assert (run.step_type == FIRST)[1:].sum() >= num_envs


def test_vector_envs_that_reset_in_the_same_step_are_refused():
    vec = gymnasium.make_vec(
        "CartPole-v1",
        num_envs=2,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP},
    )
    with pytest.raises(ValueError, match="needs 'NextStep'"):
        vector_env_wrapper.VectorEnvWrapper(vec)
    vec.close()


def test_evaluate_with_an_envpool_id(capsys):
    policy = lambda: random_py_policy.RandomPyPolicy(  # noqa: E731
        suite_gym.load("CartPole-v1").time_step_spec(),
        suite_gym.load("CartPole-v1").action_spec(),
        seed=3,
        outer_dims=(2,),
    )
    one, two = (
        evaluate(policy(), "envpool:CartPole-v1", 5, num_envs=2, seed=s, progress=False)
        for s in (0, 0)
    )
    assert one.returns == two.returns and one.num_episodes == 5
    assert one.env_name == "envpool:CartPole-v1" and one.num_envs == 2
    other = evaluate(
        policy(), "envpool:CartPole-v1", 5, num_envs=2, seed=1, progress=False
    )
    assert other.returns != one.returns

    status = cli.main(
        ["evaluate", data.cartpole_dqn_path(), "--env", "envpool:CartPole-v1",
         "--episodes", "3", "--num-envs", "2", "--seed", "0", "--max-steps", "40",
         "--quiet"]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0
    assert "Mean return: 40.00 ± 0.00 over 3 episodes (envpool:CartPole-v1)" in out


def test_unknown_tasks_and_a_missing_envpool_fail_with_one_line(capsys, monkeypatch):
    with pytest.raises(UnknownEnvironmentError, match="Gymnasium has 'Taxi-v4'"):
        suite_envpool.load("Taxi-v4")
    with pytest.raises(UnknownEnvironmentError, match="EnvPool has 'Pong-v5'"):
        env_construction.check_id("envpool:ALE/Pong-v5")
    assert cli.main(["evaluate", "--env", "envpool:NoSuchTask-v0", "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == "policylib: error: EnvPool has no task 'NoSuchTask-v0'.\n"
    assert (
        cli.main(["evaluate", "--env", "envpool:CartPole-v1", "--video", "v.gif"]) == 2
    )
    assert "record with --env CartPole-v1" in capsys.readouterr().err

    monkeypatch.setitem(sys.modules, "envpool", None)
    with pytest.raises(extras.MissingExtraError, match=r"policylib\[envpool\]"):
        env_construction.env_constructor("envpool:CartPole-v1")
