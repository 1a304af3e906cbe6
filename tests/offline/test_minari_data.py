"""Minari data sets (written here with Minari's own writer) as trajectories, and recorded from a policy."""

from __future__ import annotations

import sys

import gymnasium
import numpy as np
import pytest
import tensorflow as tf

from policylib.environments import suite_gym
from policylib.offline import minari_data
from policylib.policies import py_policy, random_py_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

minari = pytest.importorskip("minari")
from minari.data_collector.episode_buffer import EpisodeBuffer  # noqa: E402


@pytest.fixture(autouse=True)
def _local_datasets(tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))


def _collect(env_id: str, dataset_id: str, steps: int, seed: int = 0):
    """Random actions for `steps` steps, written by Minari; the last episode may be cut off.

    Episodes go through `minari.create_dataset_from_buffers` (Minari's own
    writer and format). Its `DataCollector` wrapper would need JAX
    (`minari[create]`), too heavy a test dependency for the same files.
    """
    env = gymnasium.make(env_id)
    env.action_space.seed(seed)
    fields = ("observations", "actions", "rewards", "terminations", "truncations")
    episodes = []
    episode: dict = {}
    observation, _ = env.reset(seed=seed)
    for step in range(steps):
        if not episode:
            episode = {field: [] for field in fields}
            episode["observations"].append(observation)
        action = env.action_space.sample()
        observation, reward, terminated, truncated, _ = env.step(action)
        for field, value in zip(
            fields, (observation, action, reward, terminated, truncated)
        ):
            episode[field].append(value)
        if terminated or truncated or step == steps - 1:
            episodes.append(EpisodeBuffer(id=len(episodes), **episode))
            episode = {}
            observation, _ = env.reset()
    return minari.create_dataset_from_buffers(
        dataset_id,
        episodes,
        env=env_id,
        eval_env=env_id,
        algorithm_name="random",
        author="policylib tests",
        author_email="tests@policylib.invalid",
        code_permalink="tests/offline/test_minari_data.py",
        description=f"{steps} random steps of {env_id}",
    )


def test_pendulum_episodes_become_the_frames_a_driver_writes():
    dataset = _collect("Pendulum-v1", "pendulum/random-v0", 450)
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    assert data.observation_spec.shape == (3,)
    assert data.action_spec.shape == (1,) and data.action_spec.dtype == np.float32
    episodes = list(data.episodes())
    raw = list(dataset.iterate_episodes())
    assert [len(e.step_type) for e in episodes] == [201, 201, 51]
    first, raw_first = episodes[0], raw[0]
    assert first.step_type[0] == ts.StepType.FIRST
    assert (first.step_type[1:200] == ts.StepType.MID).all()
    assert first.step_type[200] == ts.StepType.LAST
    assert first.next_step_type[199] == ts.StepType.LAST
    assert first.next_step_type[200] == ts.StepType.FIRST
    np.testing.assert_allclose(first.observation, raw_first.observations)
    np.testing.assert_allclose(first.action[:200], raw_first.actions)
    np.testing.assert_allclose(first.reward[:200], raw_first.rewards)
    assert (first.discount == 1.0).all()  # Pendulum only truncates
    summary = data.summary()
    assert (summary.episodes, summary.steps) == (3, 450)
    returns = [float(np.sum(e.rewards)) for e in raw]
    assert summary.average_return == pytest.approx(np.mean(returns), rel=1e-5)
    assert summary.min_return == pytest.approx(min(returns), rel=1e-5)


def test_a_termination_ends_the_return():
    dataset = _collect("CartPole-v1", "cartpole/random-v0", 120, seed=3)
    data = minari_data.MinariTrajectories(dataset)
    for episode, raw in zip(data.episodes(), dataset.iterate_episodes()):
        steps = len(raw.rewards)
        expected = np.where(raw.terminations, 0.0, 1.0)
        np.testing.assert_array_equal(episode.discount[:steps], expected)
        assert episode.action.dtype == np.int64
    assert any(raw.terminations[-1] for raw in dataset.iterate_episodes())


def test_windows_stay_inside_episodes_and_are_seeded():
    _collect("Pendulum-v1", "pendulum/random-v0", 450)
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    once = data.as_dataset(batch_size=64, shuffle=False, repeat=False)
    batches = list(once)
    assert sum(int(b.step_type.shape[0]) for b in batches) == 450  # one per step
    for batch in batches:
        assert batch.step_type.shape[1] == 2
        assert not batch.is_boundary()[:, 0].numpy().any()
        # The second frame follows the first: same episode, next step.
        assert (batch.next_step_type[:, 0] == batch.step_type[:, 1]).numpy().all()
    a = next(iter(data.as_dataset(batch_size=8, seed=5)))
    b = next(iter(data.as_dataset(batch_size=8, seed=5)))
    np.testing.assert_array_equal(a.observation.numpy(), b.observation.numpy())
    with pytest.raises(ValueError, match="has 300 frames"):
        data.as_dataset(batch_size=1, num_steps=300)


def test_one_frame_windows_leave_out_each_episodes_final_frame():
    _collect("Pendulum-v1", "pendulum/random-v0", 250)
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    frames = list(data.as_dataset(1000, num_steps=1, shuffle=False, repeat=False))[0]
    assert frames.step_type.shape == (250, 1)  # one per step: 200 + 50
    assert not (frames.step_type.numpy() == ts.StepType.LAST).any()
    single = list(data.as_dataset(1000, num_steps=None, shuffle=False, repeat=False))[0]
    assert single.step_type.shape == (250,)  # no time dim
    np.testing.assert_array_equal(single.action.numpy(), frames.action.numpy()[:, 0])


def test_the_replay_buffer_holds_every_frame_in_order():
    _collect("Pendulum-v1", "pendulum/random-v0", 250)
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    buffer = data.to_replay_buffer()
    assert int(buffer.num_frames()) == 201 + 51
    stored = buffer.gather_all()
    frames = list(data.episodes())
    np.testing.assert_allclose(
        stored.observation.numpy()[0],
        np.concatenate([f.observation for f in frames]),
    )


def test_bad_input_is_named():
    _collect("Pendulum-v1", "pendulum/random-v0", 20)
    with pytest.raises(
        ValueError, match=r"No local Minari data set 'nope-v0'.*pendulum/random-v0"
    ):
        minari_data.MinariTrajectories("nope-v0")
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    raw = next(iter(data.dataset.iterate_episodes()))
    short = type(raw)(
        id=raw.id,
        observations=raw.observations[:-1],
        actions=raw.actions,
        rewards=raw.rewards,
        terminations=raw.terminations,
        truncations=raw.truncations,
        infos=raw.infos,
    )
    with pytest.raises(
        ValueError, match=r"episode 0: observation .* expected \(21, 3\)"
    ):
        minari_data.episode_trajectory(short, data.observation_spec, data.action_spec)


def test_cql_sac_trains_on_the_windows():
    from policylib.agents.cql import cql_sac_agent
    from policylib.agents.ddpg import critic_network
    from policylib.agents.sac import tanh_normal_projection_network
    from policylib.networks import actor_distribution_network
    from policylib.specs import tensor_spec

    _collect("Pendulum-v1", "pendulum/random-v0", 220)
    data = minari_data.MinariTrajectories("pendulum/random-v0")
    observation_spec = tensor_spec.from_spec(data.observation_spec)
    action_spec = tensor_spec.from_spec(data.action_spec)
    agent = cql_sac_agent.CqlSacAgent(
        tensor_spec.from_spec(data.time_step_spec),
        action_spec,
        critic_network=critic_network.CriticNetwork(
            (observation_spec, action_spec), joint_fc_layer_params=(8,)
        ),
        actor_network=actor_distribution_network.ActorDistributionNetwork(
            observation_spec,
            action_spec,
            fc_layer_params=(8,),
            continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
        ),
        actor_optimizer=tf.keras.optimizers.Adam(1e-3),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3),
        alpha_optimizer=tf.keras.optimizers.Adam(1e-3),
        cql_alpha=1.0,
        num_cql_samples=2,
        include_critic_entropy_term=False,
        use_lagrange_cql_alpha=False,
        random_seed=0,
    )
    assert agent.collect_data_spec.observation == data.trajectory_spec.observation
    experience = next(iter(data.as_dataset(batch_size=16, seed=0)))
    loss = agent.train(experience).loss
    assert np.isfinite(loss.numpy())


def test_without_minari_one_line_names_the_extra(monkeypatch):
    from policylib.base import extras

    monkeypatch.setitem(sys.modules, "minari", None)
    with pytest.raises(extras.MissingExtraError, match=r"policylib\[offline\]"):
        minari_data.MinariTrajectories("pendulum/random-v0")


class _ConstantPolicy(py_policy.PyPolicy):
    """Always the same torque: what was recorded is then known exactly."""

    def __init__(self, time_step_spec, action_spec, torque):
        super().__init__(time_step_spec, action_spec)
        self._torque = np.float32(torque)
        self.calls = 0

    def _action(self, time_step, policy_state):
        assert time_step.observation.shape == (3,)  # unbatched
        self.calls += 1
        return policy_step.PolicyStep(np.full((1,), self._torque, np.float32), ())


def _pendulum_policy(torque=1.0):
    env = suite_gym.load("Pendulum-v1")
    return _ConstantPolicy(env.time_step_spec(), env.action_spec(), torque)


def test_a_policy_is_recorded_step_by_step_the_last_episode_truncated():
    policy = _pendulum_policy(torque=1.0)
    data = minari_data.record_dataset(
        "pendulum/constant-v0", "Pendulum-v1", policy, 450, seed=3, author="tests"
    )
    assert policy.calls == 450
    episodes = list(data.dataset.iterate_episodes())
    assert [len(e.rewards) for e in episodes] == [200, 200, 50]
    assert all(e.truncations[-1] and not e.terminations.any() for e in episodes)
    np.testing.assert_array_equal(
        np.concatenate([e.actions for e in episodes]), np.ones((450, 1), np.float32)
    )
    # The first reset is seeded: the same start as gymnasium's with that seed.
    start, _ = gymnasium.make("Pendulum-v1").reset(seed=3)
    np.testing.assert_allclose(episodes[0].observations[0], start)
    summary = data.summary()
    assert (summary.episodes, summary.steps) == (3, 450)
    assert data.dataset.storage.metadata["algorithm_name"] == (
        "policylib.offline.record_dataset"
    )


def test_exploration_noise_is_seeded_and_stays_in_bounds():
    def actions(dataset_id, seed, **noise):
        data = minari_data.record_dataset(
            dataset_id, "Pendulum-v1", _pendulum_policy(1.9), 300, seed=seed, **noise
        )
        return np.concatenate([e.actions for e in data.dataset.iterate_episodes()])

    noisy = actions("pendulum/noisy-v0", 0, action_noise=0.5)
    assert np.all((noisy >= -2) & (noisy <= 2)) and (noisy == 2).any()  # clipped
    assert 0.3 < np.std(noisy[noisy < 2]) < 0.6
    np.testing.assert_array_equal(
        noisy, actions("pendulum/noisy-again-v0", 0, action_noise=0.5)
    )
    assert not np.array_equal(
        noisy, actions("pendulum/noisy-1-v0", 1, action_noise=0.5)
    )
    mixed = actions("pendulum/mixed-v0", 0, random_action_prob=0.5)
    share = np.mean(mixed != np.float32(1.9))
    assert 0.4 < share < 0.6, share


def test_recording_refuses_bad_arguments_and_never_overwrites():
    policy = _pendulum_policy()
    minari_data.record_dataset("pendulum/constant-v0", "Pendulum-v1", policy, 5)
    with pytest.raises(ValueError, match="'pendulum/constant-v0' exists already"):
        minari_data.record_dataset("pendulum/constant-v0", "Pendulum-v1", policy, 5)
    assert minari_data.MinariTrajectories("pendulum/constant-v0").summary().steps == 5
    with pytest.raises(TypeError, match="needs a py policy.*got str"):
        minari_data.record_dataset("x/y-v0", "Pendulum-v1", "policy_dir", 5)
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        minari_data.record_dataset("x/y-v0", "Pendulum-v1", policy, 0)
    with pytest.raises(ValueError, match="random_action_prob in"):
        minari_data.record_dataset(
            "x/y-v0", "Pendulum-v1", policy, 5, random_action_prob=2
        )
    cartpole = suite_gym.load("CartPole-v1")
    random = random_py_policy.RandomPyPolicy(
        cartpole.time_step_spec(), cartpole.action_spec()
    )
    with pytest.raises(
        ValueError, match="needs a continuous.*CartPole-v1 has Discrete"
    ):
        minari_data.record_dataset("x/y-v0", "CartPole-v1", random, 5, action_noise=0.1)
