"""ClassificationBanditEnvironment: rewards by (label, action), optimal arms, bad input."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.environments import (
    classification_environment,
    dataset_utilities,
    environment_utilities,
)

tfd = tfp.distributions
ClassificationBanditEnvironment = (
    classification_environment.ClassificationBanditEnvironment
)


def _fixed_rewards(table) -> tfd.Distribution:
    """A reward distribution that always returns `table` ([classes, actions])."""
    return tfd.Independent(
        tfd.Deterministic(tf.constant(table, tf.float32)), reinterpreted_batch_ndims=2
    )


def _mod3_dataset(n: int = 30) -> tf.data.Dataset:
    """Contexts `[i, 2 i]` (int32) labelled `i % 3`, in order."""
    i = np.arange(n, dtype=np.int32)
    return tf.data.Dataset.from_tensor_slices((np.stack([i, 2 * i], axis=1), i % 3))


def test_batched_table_lookup_picks_row_and_col_per_table():
    tables = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    picked = classification_environment._batched_table_lookup(tables, [2, 0], [1, 3])
    np.testing.assert_array_equal(picked.numpy(), [tables[0, 2, 1], tables[1, 0, 3]])


def test_specs_follow_dataset_and_reward_table():
    env = ClassificationBanditEnvironment(
        _mod3_dataset(), _fixed_rewards(np.zeros([3, 5])), batch_size=4
    )
    assert env.batch_size == 4
    assert env.observation_spec().shape == (2,)
    assert env.observation_spec().dtype == tf.int32
    assert env.action_spec().dtype == tf.int32
    assert (env.action_spec().minimum, env.action_spec().maximum) == (0, 4)
    observation = env.reset().observation
    assert observation.shape == (4, 2) and observation.dtype == tf.int32
    # Unshuffled: the first batch is the first four contexts.
    np.testing.assert_array_equal(observation.numpy(), [[0, 0], [1, 2], [2, 4], [3, 6]])


def test_reward_is_table_entry_of_label_and_action():
    # Class c pays 1 for action c and 0 otherwise; action 3 always pays 0.5.
    table = np.concatenate([np.eye(3), np.full([3, 1], 0.5)], axis=1)
    env = ClassificationBanditEnvironment(
        _mod3_dataset().shuffle(30, seed=1), _fixed_rewards(table), batch_size=6
    )
    time_step = env.reset()
    for _ in range(5):
        label = time_step.observation[:, 0] % 3
        time_step = env.step(label)
        assert time_step.reward.dtype == tf.float32
        np.testing.assert_array_equal(time_step.reward.numpy(), np.ones(6))
        time_step = env.step((time_step.observation[:, 0] + 1) % 3)
        np.testing.assert_array_equal(time_step.reward.numpy(), np.zeros(6))
        time_step = env.step(tf.fill([6], 3))
        np.testing.assert_array_equal(time_step.reward.numpy(), np.full(6, 0.5))


def test_optimal_action_and_reward_are_for_the_rewarded_batch():
    table = [[0.0, 1.0, 0.5], [2.0, 0.0, 0.0], [0.0, 0.0, 3.0]]
    env = ClassificationBanditEnvironment(
        _mod3_dataset(), _fixed_rewards(table), batch_size=5
    )
    shown = env.reset().observation.numpy()
    env.step(tf.zeros([5], tf.int32))  # Rewards `shown`, shows the next batch.
    labels = shown[:, 0] % 3
    np.testing.assert_array_equal(
        env.compute_optimal_action().numpy(), np.array([1, 0, 2])[labels]
    )
    np.testing.assert_allclose(
        env.compute_optimal_reward().numpy(), np.array([1.0, 2.0, 3.0])[labels]
    )
    # The metric helpers read the same values.
    np.testing.assert_array_equal(
        environment_utilities.compute_optimal_action_with_classification_environment(
            None, env
        ).numpy(),
        np.array([1, 0, 2])[labels],
    )
    np.testing.assert_allclose(
        environment_utilities.compute_optimal_reward_with_classification_environment(
            None, env
        ).numpy(),
        np.array([1.0, 2.0, 3.0])[labels],
    )


def test_stochastic_rewards_average_to_their_mean():
    # Eating (action 1) pays 1 with probability 0.8 for class 1, never for class 0.
    rewards = tfd.Independent(
        tfd.Bernoulli(probs=[[0.0, 0.0], [0.0, 0.8]], dtype=tf.float32),
        reinterpreted_batch_ndims=2,
    )
    contexts = np.arange(10, dtype=np.float32)[:, None]
    dataset = tf.data.Dataset.from_tensor_slices((contexts, np.ones(10, np.int64)))
    env = ClassificationBanditEnvironment(dataset, rewards, batch_size=50)
    env.reset()
    total = [env.step(tf.ones([50], tf.int32)).reward.numpy() for _ in range(20)]
    assert set(np.unique(total)) <= {0.0, 1.0}
    assert abs(np.mean(total) - 0.8) < 0.05
    np.testing.assert_array_equal(env.compute_optimal_action().numpy(), np.ones(50))
    np.testing.assert_allclose(env.compute_optimal_reward().numpy(), np.full(50, 0.8))


def test_shuffle_with_seed_is_a_repeatable_permutation():
    def first_pass(seed: int) -> np.ndarray:
        env = ClassificationBanditEnvironment(
            _mod3_dataset(12),
            _fixed_rewards(np.eye(3)),
            batch_size=12,
            shuffle_buffer_size=12,
            seed=seed,
        )
        return env.reset().observation.numpy()[:, 0]

    order = first_pass(3)
    np.testing.assert_array_equal(np.sort(order), np.arange(12))
    np.testing.assert_array_equal(first_pass(3), order)


def test_without_repeat_the_data_runs_out():
    env = ClassificationBanditEnvironment(
        _mod3_dataset(5), _fixed_rewards(np.eye(3)), batch_size=2, repeat_dataset=False
    )
    env.reset()
    env.step(tf.zeros([2], tf.int32))
    # 5 contexts make two full batches; the fifth is dropped.
    with pytest.raises(tf.errors.OutOfRangeError):
        env.step(tf.zeros([2], tf.int32))


def test_float_labels_need_label_dtype_cast():
    contexts = np.zeros([4, 3], np.float32)
    labels = np.array([[0.0], [1.0], [1.0], [0.0]], np.float32)  # one element each
    dataset = tf.data.Dataset.from_tensor_slices((contexts, labels))
    with pytest.raises(
        ValueError, match="labels must be integer class ids; got float32"
    ):
        ClassificationBanditEnvironment(dataset, _fixed_rewards(np.eye(2)), 4)
    env = ClassificationBanditEnvironment(
        dataset, _fixed_rewards(np.eye(2)), 4, label_dtype_cast=tf.int32
    )
    env.reset()
    reward = env.step(tf.constant([0, 1, 1, 0])).reward
    np.testing.assert_array_equal(reward.numpy(), np.ones(4))


def test_covertype_file_end_to_end(tmp_path):
    rows = [[c * 10 + f for f in range(54)] + [c % 7 + 1] for c in range(14)]
    path = tmp_path / "covtype.data"
    path.write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    env = ClassificationBanditEnvironment(
        dataset_utilities.convert_covertype_dataset(str(path), seed=0),
        _fixed_rewards(np.eye(7)),
        batch_size=8,
    )
    assert env.observation_spec().shape == (54,)
    assert env.action_spec().maximum == 6
    time_step = env.reset()
    for _ in range(3):
        # Row c has class c % 7 + 1 and first feature 10 c: label (c % 7).
        label = (time_step.observation[:, 0] / 10).numpy().astype(np.int32) % 7
        time_step = env.step(label)
        np.testing.assert_array_equal(time_step.reward.numpy(), np.ones(8))
        np.testing.assert_array_equal(env.compute_optimal_action().numpy(), label)


def test_bad_reward_distribution():
    with pytest.raises(
        ValueError, match=r"event shape of rank 2 .*got event shape \(3,\)"
    ):
        ClassificationBanditEnvironment(
            _mod3_dataset(), tfd.Independent(tfd.Deterministic(tf.ones([3])), 1), 2
        )


def test_bad_dataset_structure():
    rewards = _fixed_rewards(np.eye(3))
    triples = tf.data.Dataset.from_tensor_slices(
        (np.zeros([4, 2]), np.zeros(4), np.zeros(4))
    )
    with pytest.raises(
        ValueError, match=r"\(context, label\) pairs; got elements of 3 components"
    ):
        ClassificationBanditEnvironment(triples, rewards, 2)
    contexts_only = tf.data.Dataset.from_tensor_slices(np.zeros([4, 2]))
    with pytest.raises(ValueError, match=r"pairs; got elements of spec TensorSpec"):
        ClassificationBanditEnvironment(contexts_only, rewards, 2)


def test_mismatched_label_and_context_shapes():
    # Two labels per context: not a classification data set.
    dataset = tf.data.Dataset.from_tensor_slices(
        (np.zeros([4, 5], np.float32), np.zeros([4, 2], np.int32))
    )
    with pytest.raises(
        ValueError,
        match=r"one class id per context .*got label shape \(2,\) for context shape \(5,\)",
    ):
        ClassificationBanditEnvironment(dataset, _fixed_rewards(np.eye(3)), 2)
    ragged = tf.data.Dataset.from_generator(
        lambda: iter([(np.zeros(3, np.float32), 0)]),
        output_signature=(
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([], tf.int32),
        ),
    )
    with pytest.raises(ValueError, match=r"fully known shape; got \(None,\)"):
        ClassificationBanditEnvironment(ragged, _fixed_rewards(np.eye(3)), 1)


def test_out_of_range_label_and_action_fail_at_run_time():
    # Labels 0..2 but the table has only two classes.
    env = ClassificationBanditEnvironment(_mod3_dataset(), _fixed_rewards(np.eye(2)), 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match="below num_classes=2"):
        env.reset()
    env = ClassificationBanditEnvironment(_mod3_dataset(), _fixed_rewards(np.eye(3)), 3)
    env.reset()
    with pytest.raises(
        tf.errors.InvalidArgumentError, match=r"actions must be in \[0, 2\]"
    ):
        env.step(tf.constant([0, 3, 1]))
