"""PPOLearner: batches per run, minibatch layout, normalization, argument checks."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.ppo import ppo_clip_agent
from policylib.networks import actor_distribution_network, value_network
from policylib.specs import tensor_spec
from policylib.train import ppo_learner
from policylib.train.ppo_learner_test_utils import FakePPOAgent, create_trajectories
from policylib.trajectories import time_step as ts


@pytest.fixture
def eager_functions():
    """Runs `tf.function`s eagerly, so the fake agent records concrete batches."""
    tf.config.run_functions_eagerly(True)
    yield
    tf.config.run_functions_eagerly(False)


def _learner(tmp_path, agent, dataset_fn, **kwargs):
    return ppo_learner.PPOLearner(
        root_dir=str(tmp_path),
        train_step=tf.Variable(0, dtype=tf.int64),
        agent=agent,
        experience_dataset_fn=dataset_fn,
        normalization_dataset_fn=dataset_fn,
        shuffle_buffer_size=1,  # no shuffling: batches in order
        checkpoint_interval=-1,
        **kwargs,
    )


def _episodes(traj, count):
    return lambda: tf.data.Dataset.from_tensors((traj, ())).repeat(count)


@pytest.mark.usefixtures("eager_functions")
@pytest.mark.parametrize(
    ("num_epochs", "batch", "minibatch_size", "expected_calls"),
    [(1, 1, 5, 6), (2, 2, 5, 24), (1, 1, None, 3), (2, 2, None, 6)],
)
def test_batches_per_run(tmp_path, num_epochs, batch, minibatch_size, expected_calls):
    traj = create_trajectories(n_time_steps=10, batch_size=batch)
    agent = FakePPOAgent()
    learner = _learner(
        tmp_path,
        agent,
        _episodes(traj, 3),
        num_samples=3,
        num_epochs=num_epochs,
        minibatch_size=minibatch_size,
    )
    agent.reset()  # forget the learner's set-up trace
    loss = learner.run()
    assert int(agent.train_called_times.numpy()) == expected_calls
    assert float(loss.loss) == 0.0
    assert int(learner.num_frames_for_training.numpy()) == 3 * batch * 10
    first = agent.experiences[0]
    if minibatch_size:
        # Single steps as length-1 sequences, in collection order.
        assert first.observation.shape == (minibatch_size, 1)
        np.testing.assert_array_equal(
            first.observation[:, 0], np.arange(5, dtype=np.float32)
        )
    else:
        assert first.observation.shape == (batch, 10)


@pytest.mark.usefixtures("eager_functions")
def test_each_run_reads_fresh_data(tmp_path):
    traj = create_trajectories(n_time_steps=4, batch_size=1)
    agent = FakePPOAgent()
    learner = _learner(
        tmp_path, agent, _episodes(traj, 2), num_samples=2, minibatch_size=None
    )
    agent.reset()
    learner.run()
    learner.run()
    assert int(agent.train_called_times.numpy()) == 4
    assert learner.train_step_numpy == 0  # the fake agent does not count steps


def test_argument_checks(tmp_path):
    traj = create_trajectories(n_time_steps=4, batch_size=1)
    with pytest.raises(ValueError, match="shuffle_buffer_size must be provided"):
        ppo_learner.PPOLearner(
            str(tmp_path),
            tf.Variable(0, dtype=tf.int64),
            FakePPOAgent(),
            _episodes(traj, 1),
            _episodes(traj, 1),
            num_samples=1,
            minibatch_size=2,
        )


def _real_agent(train_step, update_normalizers_in_train=False):
    observation_spec = tensor_spec.TensorSpec([2], tf.float32)
    action_spec = tensor_spec.BoundedTensorSpec([1], tf.float32, -1, 1)
    return ppo_clip_agent.PPOClipAgent(
        ts.time_step_spec(observation_spec),
        action_spec,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            observation_spec, action_spec, fc_layer_params=(4,)
        ),
        value_net=value_network.ValueNetwork(observation_spec, fc_layer_params=(4,)),
        normalize_observations=True,
        normalize_rewards=True,
        num_epochs=1,
        train_step_counter=train_step,
        compute_value_and_advantage_in_train=False,
        update_normalizers_in_train=update_normalizers_in_train,
    )


def test_real_ppo_agent_trains_and_updates_normalizers(tmp_path):
    train_step = tf.Variable(0, dtype=tf.int64)
    agent = _real_agent(train_step)
    rng = np.random.default_rng(7)

    def leaf(spec):
        # MID steps, discount 1; floats in (0.1, 0.9): valid actions and scales.
        shape = [2, 5, *spec.shape]
        if spec.dtype.is_integer:
            return tf.ones(shape, spec.dtype)
        return tf.constant(rng.uniform(0.1, 0.9, shape), spec.dtype)

    sample = tf.nest.map_structure(leaf, agent.collect_data_spec)
    experience = agent.preprocess_sequence(sample)
    dataset_fn = lambda: tf.data.Dataset.from_tensors((experience, ())).repeat(2)  # noqa: E731
    learner = ppo_learner.PPOLearner(
        str(tmp_path),
        train_step,
        agent,
        dataset_fn,
        dataset_fn,
        num_samples=2,
        num_epochs=2,
        minibatch_size=4,
        shuffle_buffer_size=8,
        checkpoint_interval=-1,
    )
    before = [v.numpy() for v in agent.actor_net.trainable_variables]
    loss = learner.run()
    assert np.isfinite(float(loss.loss))
    # 2 samples x 10 frames, minibatches of 4, 2 epochs.
    assert learner.train_step_numpy == (20 // 4) * 2
    after = [v.numpy() for v in agent.actor_net.trainable_variables]
    assert any(not np.array_equal(a, b) for a, b in zip(before, after))
    with pytest.raises(ValueError, match="update_normalizers_in_train"):
        _learner(
            tmp_path / "other",
            _real_agent(
                tf.Variable(0, dtype=tf.int64), update_normalizers_in_train=True
            ),
            dataset_fn,
            num_samples=1,
        )
