"""`evaluate`: per-episode results, the same for any number of environments."""

import dataclasses
import json
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import tensorflow as tf

from policylib import data
from policylib.environments import suite_gym
from policylib.errors import NotAPolicyError, UnknownEnvironmentError
from policylib.eval import EvalResult, episode_runner, evaluate, evaluation
from policylib.networks import q_network
from policylib.policies import greedy_policy, policy_loader, policy_saver, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.environments.cartpole import PoleAnglePolicy


def _cartpole_by_hand(episodes, seed):
    """(returns, lengths) of PoleAnglePolicy on CartPole-v1, one seeded episode at a time."""
    env = suite_gym.load("CartPole-v1")
    policy = PoleAnglePolicy(env.time_step_spec(), env.action_spec())
    returns, lengths = [], []
    for k in range(episodes):
        env.seed(seed + k)
        time_step, ret, n = env.reset(), 0.0, 0
        while not time_step.is_last():
            time_step = env.step(policy.action(time_step).action)
            ret += float(time_step.reward)
            n += 1
        returns.append(ret)
        lengths.append(n)
    env.close()
    return returns, lengths


def _pole_policy():
    env = suite_gym.load("CartPole-v1")
    policy = PoleAnglePolicy(env.time_step_spec(), env.action_spec())
    env.close()
    return policy


def test_per_episode_results_match_by_hand_for_one_and_four_envs():
    expected_returns, expected_lengths = _cartpole_by_hand(10, seed=7)
    assert len(set(expected_returns)) > 3  # the episodes differ
    for num_envs in (1, 4):
        result = evaluate(
            _pole_policy(), "CartPole-v1", 10, num_envs=num_envs, seed=7, progress=False
        )
        assert list(result.returns) == expected_returns
        assert list(result.lengths) == expected_lengths
        assert result.mean_return == pytest.approx(np.mean(expected_returns))
        assert result.std_return == pytest.approx(np.std(expected_returns))
        assert result.min_return == min(expected_returns)
        assert result.max_return == max(expected_returns)
        assert result.mean_length == pytest.approx(np.mean(expected_lengths))
        assert result.steps_per_s > 0 and result.wall_time_s > 0


def test_env_as_instance_and_constructor():
    expected, _ = _cartpole_by_hand(3, seed=1)
    env = suite_gym.load("CartPole-v1")
    by_instance = evaluate(_pole_policy(), env, 3, seed=1, progress=False)
    by_constructor = evaluate(
        _pole_policy(),
        lambda: suite_gym.load("CartPole-v1"),
        3,
        num_envs=2,
        seed=1,
        progress=False,
    )
    assert list(by_instance.returns) == expected == list(by_constructor.returns)
    # Named by the Gymnasium id under its wrappers, not by the outer wrapper.
    assert by_instance.env_name == "CartPole-v1" == by_constructor.env_name
    assert by_constructor.num_envs == 2 and by_instance.num_envs == 1
    env.step(np.int64(0))  # an environment passed in is not closed
    with pytest.raises(
        ValueError,
        match="num_envs=2 needs a Gymnasium id or an environment constructor",
    ):
        evaluate(_pole_policy(), env, 3, num_envs=2)
    env.close()


def test_progress_shows_loading_then_counts_episodes_only(capsys, monkeypatch):
    import time

    from policylib.export import policy_source

    real_load = policy_source.PolicySource._load

    def slow_load(self):
        time.sleep(1.0)  # a slow load, as a large SavedModel's
        return real_load(self)

    monkeypatch.setattr(policy_source.PolicySource, "_load", slow_load)
    bars = []
    real_progress = evaluation._Progress

    class Recording(real_progress):
        def __init__(self, *args):
            super().__init__(*args)
            bars.append(self._bar)

    monkeypatch.setattr(evaluation, "_Progress", Recording)
    start = time.time()  # tqdm's clock
    evaluate(data.cartpole_dqn_path(), "CartPole-v1", 2, max_steps=5, seed=0)
    err = capsys.readouterr().err
    assert "Evaluating (CartPole-v1): loading policy" in err
    # The clock restarted when the episodes did: the 1 s load is not in the
    # bar's elapsed time, so not in its episodes/s either.
    bar = bars[0]
    assert bar.n == 2
    assert bar.start_t - start >= 1.0


def test_max_steps_cuts_episodes():
    result = evaluate(
        _pole_policy(),
        "CartPole-v1",
        4,
        num_envs=2,
        seed=0,
        max_steps=5,
        progress=False,
    )
    assert result.lengths == (5, 5, 5, 5)
    assert result.returns == (5.0, 5.0, 5.0, 5.0)


def test_tf_policy_and_saved_policy(tmp_path):
    obs = tensor_spec.TensorSpec((4,), tf.float32)
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)
    tf.keras.utils.set_random_seed(3)
    net = q_network.QNetwork(obs, act, fc_layer_params=(8,))
    policy = greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    )
    policy_saver.PolicySaver(policy, batch_size=None).save(str(tmp_path / "saved"))
    live = evaluate(policy, "CartPole-v1", 4, seed=2, progress=False)
    saved = evaluate(
        tmp_path / "saved", "CartPole-v1", 4, num_envs=4, seed=2, progress=False
    )
    assert live.returns == saved.returns
    assert live.lengths == saved.lengths


def test_shipped_policy_reaches_475():
    result = evaluate(
        data.cartpole_dqn_path(),
        "CartPole-v1",
        8,
        num_envs=4,
        seed=10_000,
        progress=False,
    )
    assert result.mean_return >= 475


def test_result_is_frozen_and_serializes():
    result = EvalResult(
        returns=(1.0, 3.0), lengths=(1, 3), wall_time_s=2.0, env_name="E", seed=5
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.returns = ()  # type: ignore[misc]
    as_dict = json.loads(json.dumps(result.to_dict()))
    assert as_dict["mean_return"] == 2.0 and as_dict["std_return"] == 1.0
    assert as_dict["steps_per_s"] == 2.0 and as_dict["returns"] == [1.0, 3.0]
    assert result.summary() == "Mean return: 2.00 ± 1.00 over 2 episodes (E)"


def test_bad_input():
    policy = _pole_policy()
    with pytest.raises(
        ValueError, match="num_episodes must be a positive integer; got 0"
    ):
        evaluate(policy, "CartPole-v1", 0)
    with pytest.raises(ValueError, match="num_envs must be a positive integer"):
        evaluate(policy, "CartPole-v1", 2, num_envs=0)
    with pytest.raises(ValueError, match="max_steps must be a positive integer"):
        evaluate(policy, "CartPole-v1", 2, max_steps=0)
    with pytest.raises(UnknownEnvironmentError, match="'NoSuchEnv-v0'"):
        evaluate(policy, "NoSuchEnv-v0", 2)
    with pytest.raises(NotAPolicyError, match="no such file or directory"):
        evaluate("/nonexistent/policy", "CartPole-v1", 2)
    with pytest.raises(
        TypeError, match="policy must be a PyPolicy, a TFPolicy or the path"
    ):
        evaluate(object(), "CartPole-v1", 2)
    with pytest.raises(TypeError, match="env must be a Gymnasium id"):
        evaluate(policy, 42, 2)
    with pytest.raises(TypeError, match="returned 'int', not a PyEnvironment"):
        evaluate(policy, lambda: 42, 2)
    with pytest.raises(
        ValueError, match="'observation': environment has shape \\(6,\\)"
    ):
        evaluate(data.cartpole_dqn_path(), "Acrobot-v1", 2)


def test_recorder_ignores_hidden_and_boundary_steps():
    seen = []
    recorder = episode_runner.EpisodeRecorder(on_episode=lambda *e: seen.append(e))
    from policylib.trajectories import trajectory

    def step(step_type, next_step_type, reward):
        return trajectory.Trajectory(
            step_type=np.array(step_type),
            observation=(),
            action=(),
            policy_info=(),
            next_step_type=np.array(next_step_type),
            reward=np.array(reward, np.float32),
            discount=np.ones(len(reward), np.float32),
        )

    recorder(step([0, 0], [1, 2], [1.0, 2.0]))  # env 1 ends after one step
    recorder(step([1, 2], [2, 0], [3.0, 0.0]))  # env 0 ends; env 1 is a boundary
    assert seen == [(1, 2.0, 1), (0, 4.0, 2)]
    with pytest.raises(ValueError, match="one scalar reward per step"):
        recorder(step([1, 1], [1, 1], [[1.0, 2.0], [1.0, 2.0]]))


class _ThreeWay(gymnasium.Env):
    """Reward 1 when the action equals the sign class of the first observation; 6 steps."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (4,), np.float32)
    action_space = gymnasium.spaces.Discrete(3)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        self._obs = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        return self._obs, {}

    def step(self, action):
        reward = float(int(action) == int(np.digitize(self._obs[0], [-0.33, 0.33])))
        self._t += 1
        self._obs = self.np_random.uniform(-1, 1, 4).astype(np.float32)
        return self._obs, reward, self._t >= 6, False, {}


def test_a_policy_tf_agents_saved(tmp_path):
    """The TF-Agents 0.19 greedy Q fixture (int32 actions in [0, 2]) on a matching env."""
    fixture = Path(__file__).parents[1] / "fixtures" / "tf_agents_0_19" / "greedy_q"

    def make():
        return suite_gym.wrap_env(
            _ThreeWay(), spec_dtype_map={gymnasium.spaces.Discrete: np.int32}
        )

    by_hand = []
    policy = policy_loader.load(str(fixture))
    for k in range(6):
        env = make()
        env.seed(5 + k)
        time_step, ret = env.reset(), 0.0
        while not time_step.is_last():
            time_step = env.step(policy.action(time_step).action)
            ret += float(time_step.reward)
        by_hand.append(ret)
    result = evaluate(fixture, make, 6, num_envs=3, seed=5, progress=False)
    assert list(result.returns) == by_hand
    assert result.lengths == (6,) * 6


def test_a_batched_environment_passed_in():
    from policylib.environments import batched_py_environment

    expected, _ = _cartpole_by_hand(6, seed=3)
    env = batched_py_environment.BatchedPyEnvironment(
        [suite_gym.load("CartPole-v1") for _ in range(3)], multithreading=False
    )
    result = evaluate(_pole_policy(), env, 6, seed=3, progress=False)
    assert list(result.returns) == expected
    with pytest.raises(ValueError, match="max_steps needs unbatched environments"):
        evaluate(_pole_policy(), env, 6, max_steps=5)
    env.close()


def test_backend_is_one_enum_that_the_cli_shares_and_strings_convert_once():
    from policylib import cli

    assert cli.Backend is evaluation.Backend
    by_name = evaluate(
        _pole_policy(), "CartPole-v1", 2, seed=1, backend="serial", progress=False
    )
    by_enum = evaluate(
        _pole_policy(),
        "CartPole-v1",
        2,
        seed=1,
        backend=evaluation.Backend.SERIAL,
        progress=False,
    )
    assert by_name.backend is by_enum.backend is evaluation.Backend.SERIAL
    assert by_name.returns == by_enum.returns
    assert by_name.to_dict()["backend"] == "serial"  # JSON keeps the plain name
    with pytest.raises(ValueError, match='backend="serial" runs one worker'):
        evaluate(_pole_policy(), "CartPole-v1", 2, num_workers=2, backend="serial")
