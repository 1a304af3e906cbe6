"""Data-set loaders (covertype, mushroom, MovieLens) and the MovieLens environments.

Each test writes a few lines in the data set's real file format to tmp_path.
"""

import gzip

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.environments import (
    dataset_utilities,
    movielens_per_arm_py_environment,
    movielens_py_environment,
)
from policylib.specs import bandit_spec_utils

# Real agaricus-lepiota.data lines: label, then 22 single-letter features.
MUSHROOM_LINES = [
    "p,x,s,n,t,p,f,c,n,k,e,e,s,s,w,w,p,w,o,p,k,s,u",
    "e,x,s,y,t,a,f,c,b,k,e,c,s,s,w,w,p,w,o,p,n,n,g",
    "e,b,s,w,t,l,f,c,b,n,e,c,s,s,w,w,p,w,o,p,n,n,m",
    "p,x,y,w,t,p,f,c,n,n,e,e,s,s,w,w,p,w,o,p,k,s,u",
    "e,x,s,g,f,n,f,w,b,k,t,e,s,s,w,w,p,w,o,e,n,a,g",
]


def _write(tmp_path, name: str, lines) -> str:
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def _covertype_lines(num_rows: int) -> list[str]:
    """Row r: features r, r + 1, ..., r + 53; class r % 7 + 1."""
    return [
        ",".join(str(r + f) for f in range(54)) + f",{r % 7 + 1}"
        for r in range(num_rows)
    ]


def _first(dataset: tf.data.Dataset, n: int):
    contexts, labels = zip(*((c.numpy(), y.numpy()) for c, y in dataset.take(n)))
    return np.stack(contexts), np.array(labels)


def test_one_hot_numbers_categories_in_sorted_order():
    encoded = dataset_utilities._one_hot(np.array([["b", "y"], ["a", "x"], ["b", "z"]]))
    assert encoded.dtype == np.int32
    np.testing.assert_array_equal(
        encoded, [[0, 1, 0, 1, 0], [1, 0, 1, 0, 0], [0, 1, 0, 0, 1]]
    )


def test_covertype_contexts_labels_and_repeat(tmp_path):
    path = _write(tmp_path, "covtype.data", _covertype_lines(9))
    dataset = dataset_utilities.convert_covertype_dataset(path, buffer_size=1)
    assert dataset.element_spec[0] == tf.TensorSpec([54], tf.float32)
    assert dataset.element_spec[1] == tf.TensorSpec([], tf.int32)
    contexts, labels = _first(dataset, 18)  # Buffer of 1: file order, twice.
    rows = np.tile(np.arange(9), 2)
    np.testing.assert_array_equal(contexts, rows[:, None] + np.arange(54)[None])
    np.testing.assert_array_equal(labels, rows % 7)


def test_covertype_shuffle_is_seeded_and_gz_is_read(tmp_path):
    lines = _covertype_lines(20)
    plain = _write(tmp_path, "covtype.data", lines)
    packed = tmp_path / "covtype.data.gz"
    packed.write_bytes(gzip.compress("\n".join(lines).encode()))
    first = _first(dataset_utilities.convert_covertype_dataset(plain, seed=5), 20)
    again = _first(dataset_utilities.convert_covertype_dataset(str(packed), seed=5), 20)
    np.testing.assert_array_equal(first[0], again[0])
    # Shuffled (across repeats, as the data is repeated first), same rows.
    rows = first[0][:, 0].astype(int)
    assert np.any(rows != np.arange(20))
    np.testing.assert_array_equal(first[0], rows[:, None] + np.arange(54)[None])
    np.testing.assert_array_equal(first[1], rows % 7)


def test_covertype_bad_files(tmp_path):
    load = dataset_utilities.convert_covertype_dataset
    missing = str(tmp_path / "nowhere" / "covtype.data")
    with pytest.raises(
        FileNotFoundError,
        match=r"covertype data file not found at '.*nowhere/covtype\.data'; download covtype",
    ):
        load(missing)
    short = _covertype_lines(3)
    short[1] = short[1].rsplit(",", 2)[0]
    with pytest.raises(
        ValueError,
        match=r"covertype file '.*short\.data', line 2: expected 55 comma-separated fields .* got 53",
    ):
        load(_write(tmp_path, "short.data", short))
    text = _covertype_lines(4)
    text[2] = text[2].replace("2,3,", "2,x3,", 1)
    with pytest.raises(ValueError, match=r"line 3: field 2 is not an integer: 'x3'"):
        load(_write(tmp_path, "text.data", text))
    classes = _covertype_lines(4)
    classes[3] = classes[3].rsplit(",", 1)[0] + ",8"
    with pytest.raises(
        ValueError, match=r"data row 4: expected a class in 1\.\.7 last, got 8"
    ):
        load(_write(tmp_path, "classes.data", classes))
    with pytest.raises(ValueError, match="has no rows"):
        load(_write(tmp_path, "empty.data", []))


def test_mushroom_contexts_and_labels(tmp_path):
    path = _write(tmp_path, "agaricus-lepiota.data", MUSHROOM_LINES)
    dataset = dataset_utilities.convert_mushroom_csv_to_tf_dataset(path, buffer_size=1)
    data = np.array([line.split(",") for line in MUSHROOM_LINES])
    width = sum(len(set(column)) for column in data[:, 1:].T)
    assert dataset.element_spec[0] == tf.TensorSpec([width], tf.float32)
    contexts, labels = _first(dataset, 5)
    # Edible is class 1, poisonous class 0 (rows of the reward table).
    np.testing.assert_array_equal(labels, [0, 1, 1, 0, 1])
    # One hot entry per feature; rows differ where the letters differ.
    np.testing.assert_array_equal(contexts.sum(axis=1), np.full(5, 22))
    np.testing.assert_array_equal(
        contexts @ contexts.T,
        [[(a == b).sum() for b in data[:, 1:]] for a in data[:, 1:]],
    )


def test_mushroom_bad_files(tmp_path):
    load = dataset_utilities.convert_mushroom_csv_to_tf_dataset
    with pytest.raises(
        FileNotFoundError,
        match=r"mushroom data file not found at '.*missing\.data'; download agaricus-lepiota",
    ):
        load(str(tmp_path / "missing.data"))
    lines = list(MUSHROOM_LINES)
    lines[2] = lines[2][:-2]
    with pytest.raises(
        ValueError,
        match=r"mushroom file '.*', line 3: expected 23 comma-separated fields .* got 22",
    ):
        load(_write(tmp_path, "short.data", lines))
    lines = list(MUSHROOM_LINES)
    lines[4] = "x" + lines[4][1:]
    with pytest.raises(
        ValueError, match=r"line 5: expected the label 'e' or 'p' first, got 'x'"
    ):
        load(_write(tmp_path, "label.data", lines))
    with pytest.raises(ValueError, match=r"must be 'e' or 'p'; got \['q'\]"):
        dataset_utilities._validate_mushroom_data(np.full([2, 23], "q"))


def test_mushroom_reward_distribution_means_and_draws():
    rewards = dataset_utilities.mushroom_reward_distribution(
        r_noeat=0.0,
        r_eat_safe=5.0,
        r_eat_poison_bad=-35.0,
        r_eat_poison_good=5.0,
        prob_poison_bad=0.2,
    )
    assert rewards.event_shape == (2, 2)
    # Poisonous and eaten: -35 with probability 0.2, else 5.
    np.testing.assert_allclose(rewards.mean().numpy(), [[0.0, -3.0], [0.0, 5.0]])
    draws = rewards.sample(4000, seed=1).numpy()
    np.testing.assert_array_equal(draws[:, :, 0], 0.0)
    np.testing.assert_array_equal(draws[:, 1, 1], 5.0)
    assert set(np.unique(draws[:, 0, 1])) == {-35.0, 5.0}
    assert abs(np.mean(draws[:, 0, 1] == -35.0) - 0.2) < 0.03
    with pytest.raises(
        ValueError, match=r"prob_poison_bad must be in \[0, 1\]; got 1.5"
    ):
        dataset_utilities.mushroom_reward_distribution(0.0, 5.0, -35.0, 5.0, 1.5)


# MovieLens 100K u.data lines: user id, item id, rating, timestamp (tab-separated).
# Users 1-4 rate movies 1-3 with a rank-2 matrix; user 5 rates only movie 10.
RATINGS = {
    (1, 1): 5,
    (1, 2): 3,
    (1, 3): 1,
    (2, 1): 1,
    (2, 2): 1,
    (2, 3): 3,
    (3, 1): 5,
    (3, 2): 3,
    (3, 3): 1,
    (4, 1): 3,
    (4, 2): 2,
    (4, 3): 2,
    (5, 10): 4,
}


def _u_data(tmp_path, delimiter: str = "\t") -> str:
    lines = [
        delimiter.join(map(str, (user, item, rating, 881250949 + k)))
        for k, ((user, item), rating) in enumerate(RATINGS.items())
    ]
    return _write(tmp_path, "u.data", lines)


def test_load_movielens_data(tmp_path):
    ratings = dataset_utilities.load_movielens_data(_u_data(tmp_path), delimiter="\t")
    assert ratings.shape == (
        dataset_utilities.MOVIELENS_NUM_USERS,
        dataset_utilities.MOVIELENS_NUM_MOVIES,
    )
    expected = np.zeros_like(ratings)
    for (user, item), rating in RATINGS.items():
        expected[user - 1, item - 1] = rating
    np.testing.assert_array_equal(ratings, expected)
    commas = dataset_utilities.load_movielens_data(_u_data(tmp_path, ","))
    np.testing.assert_array_equal(commas, expected)


def test_movielens_bad_files(tmp_path):
    load = dataset_utilities.load_movielens_data
    with pytest.raises(
        FileNotFoundError,
        match=r"MovieLens data file not found at '.*u\.data'; download ml-100k\.zip",
    ):
        load(str(tmp_path / "u.data"))
    with pytest.raises(
        ValueError,
        match=r"line 1: expected 4 fields \(user id, item id, rating, timestamp\) "
        r"separated by ',', got 1: .*tab-separated",
    ):
        load(_u_data(tmp_path))  # Tab-separated, read with the default ','.
    bad_lines = {
        "1\t2\t3": r"line 1: expected 4 fields .* got 3",
        "1\tx\t3\t0": r"line 1: item id is not an integer: 'x'",
        "944\t1\t3\t0": r"line 1: user id must be in 1\.\.943, got 944",
        "1\t1683\t3\t0": r"line 1: item id must be in 1\.\.1682, got 1683",
        "1\t2\tgood\t0": r"line 1: rating is not a number: 'good'",
    }
    for line, message in bad_lines.items():
        with pytest.raises(ValueError, match=message):
            load(_write(tmp_path, "bad.data", [line]), delimiter="\t")


def test_movielens_environment_rewards_are_low_rank_ratings(tmp_path):
    env = movielens_py_environment.MovieLensPyEnvironment(
        _u_data(tmp_path), rank_k=2, batch_size=4, num_movies=3, csv_delimiter="\t"
    )
    assert env.observation_spec().shape == (2,)
    assert env.observation_spec().dtype == np.float64
    assert env.action_spec().maximum == 2
    assert env.reset().observation.shape == (4, 2)
    # All four users with ratings among movies 1-3 are shown each step; the
    # rank-2 factorization reproduces their ratings exactly.
    for _ in range(3):
        reward = env.step(np.zeros(4, np.int32)).reward
        assert reward.dtype == np.float32
        best = env.compute_optimal_reward()
        pairs = sorted(zip(np.round(reward, 4), np.round(best, 4)))
        assert pairs == [(1.0, 3.0), (3.0, 3.0), (5.0, 5.0), (5.0, 5.0)]
        best_action = env.compute_optimal_action()
        np.testing.assert_array_equal(np.sort(best_action), [0, 0, 0, 2])


def test_movielens_environment_bad_arguments(tmp_path):
    path = _u_data(tmp_path)
    make = movielens_py_environment.MovieLensPyEnvironment
    with pytest.raises(ValueError, match=r"rank_k must be in .* = \[1, 3\]; got 4"):
        make(path, rank_k=4, num_movies=3, csv_delimiter="\t")
    with pytest.raises(ValueError, match=r"batch_size must be in \[1, 4\] .*; got 5"):
        make(path, rank_k=2, batch_size=5, num_movies=3, csv_delimiter="\t")
    with pytest.raises(ValueError, match=r"num_movies must be in \[1, 1682\]; got 0"):
        make(path, rank_k=2, num_movies=0, csv_delimiter="\t")


def test_movielens_per_arm_environment(tmp_path):
    env = movielens_per_arm_py_environment.MovieLensPerArmPyEnvironment(
        _u_data(tmp_path), rank_k=2, batch_size=6, num_actions=5, csv_delimiter="\t"
    )
    global_key = bandit_spec_utils.GLOBAL_FEATURE_KEY
    arm_key = bandit_spec_utils.PER_ARM_FEATURE_KEY
    spec = env.observation_spec()
    assert spec[global_key].shape == (2,) and spec[arm_key].shape == (5, 2)
    assert env.action_spec().maximum == 4
    observation = env.reset().observation
    assert observation[global_key].shape == (6, 2)
    assert observation[arm_key].shape == (6, 5, 2)
    assert observation[arm_key].dtype == np.float32
    for step in range(5):
        action = np.full(6, step, np.int32)
        reward = env.step(action).reward
        # Reward: user features . diag(singular values) . chosen movie features.
        chosen = observation[arm_key][np.arange(6), action]
        np.testing.assert_allclose(
            reward, np.sum(observation[global_key] * env._s_hat * chosen, -1), atol=1e-5
        )
        all_arms = np.einsum(
            "bk,bak->ba", observation[global_key] * env._s_hat, observation[arm_key]
        )
        np.testing.assert_allclose(
            env.compute_optimal_reward(), all_arms.max(-1), atol=1e-5
        )
        assert np.all(reward <= env.compute_optimal_reward() + 1e-5)
        observation = env.current_time_step().observation


def test_movielens_per_arm_finds_the_rated_movie(tmp_path):
    # Only user 5 rated, only movie 10: their features are the only nonzero
    # ones, and offering every movie makes movie 10 the best arm.
    path = _write(tmp_path, "u.data", ["5\t10\t4\t881250949"])
    env = movielens_per_arm_py_environment.MovieLensPerArmPyEnvironment(
        path, rank_k=1, batch_size=1, num_actions=1682, csv_delimiter="\t"
    )
    global_key = bandit_spec_utils.GLOBAL_FEATURE_KEY
    arm_key = bandit_spec_utils.PER_ARM_FEATURE_KEY
    time_step = env.reset()
    while not np.any(time_step.observation[global_key]):
        reward = env.step(np.zeros(1, np.int32)).reward
        np.testing.assert_allclose(reward, [0.0], atol=1e-6)  # Other users: 0.
        time_step = env.current_time_step()
    arm = int(np.flatnonzero(time_step.observation[arm_key][0, :, 0])[0])
    np.testing.assert_allclose(
        env.step(np.array([arm], np.int32)).reward, [4.0], atol=1e-4
    )
    np.testing.assert_allclose(env.compute_optimal_reward(), [4.0], atol=1e-4)
    np.testing.assert_array_equal(env.compute_optimal_action(), [arm])
