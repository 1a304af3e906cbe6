"""bandits.agents.utils: weighted sums, Laplacians, experience flattening."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import utils
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import trajectory


def test_sum_reward_weighted_observations_matches_numpy():
    rng = np.random.default_rng(0)
    r = rng.normal(size=6).astype(np.float32)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    got = utils.sum_reward_weighted_observations(tf.constant(r), tf.constant(x))
    np.testing.assert_allclose(got, (r[:, None] * x).sum(0), rtol=1e-5)
    # Rewards shaped [B, 1] work too.
    got = utils.sum_reward_weighted_observations(tf.constant(r[:, None]), x)
    np.testing.assert_allclose(got, (r[:, None] * x).sum(0), rtol=1e-5)


def test_sum_reward_weighted_observations_of_an_empty_batch_is_zero():
    got = utils.sum_reward_weighted_observations(tf.zeros([0]), tf.zeros([0, 4]))
    np.testing.assert_array_equal(got, np.zeros(4))


def test_ordinal_laplacian_is_the_path_graph_laplacian():
    spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 3)
    expected = np.array(
        [[1, -1, 0, 0], [-1, 2, -1, 0], [0, -1, 2, -1], [0, 0, -1, 1]], np.float64
    )
    np.testing.assert_array_equal(
        utils.build_laplacian_over_ordinal_integer_actions(spec), expected
    )
    single = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 0)
    np.testing.assert_array_equal(
        utils.build_laplacian_over_ordinal_integer_actions(single), [[0.0]]
    )


@pytest.mark.parametrize(
    "spec",
    [
        tensor_spec.BoundedTensorSpec((), tf.int32, 1, 4),
        tensor_spec.BoundedTensorSpec((2,), tf.int32, 0, 4),
        tensor_spec.BoundedTensorSpec((), tf.float32, 0, 4),
    ],
)
def test_ordinal_laplacian_refuses_other_specs(spec):
    with pytest.raises(ValueError, match="Action spec"):
        utils.build_laplacian_over_ordinal_integer_actions(spec)


def test_pairwise_distances_are_squared_euclidean():
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(5, 3))
    expected = ((vecs[:, None, :] - vecs[None, :, :]) ** 2).sum(-1)
    got = utils.compute_pairwise_distances(tf.constant(vecs))
    assert got.dtype == tf.float32
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_nearest_neighbour_laplacian_on_points_of_a_line():
    # Points 0, 1, 3, 7: nearest neighbours 0->1, 1->0, 3->1, 7->3.
    points = tf.constant([[0.0], [1.0], [3.0], [7.0]])
    laplacian = utils.build_laplacian_nearest_neighbor_graph(points, k=1).numpy()
    adjacency = np.zeros((4, 4))
    for i, j in [(0, 1), (1, 2), (2, 3)]:
        adjacency[i, j] = adjacency[j, i] = 1
    np.testing.assert_array_equal(laplacian, np.diag(adjacency.sum(1)) - adjacency)
    # Two neighbours each: 0->{1,3}, 1->{0,3}, 3->{1,0}, 7->{3,1}.
    laplacian2 = utils.build_laplacian_nearest_neighbor_graph(points, k=2).numpy()
    np.testing.assert_array_equal(laplacian2, laplacian2.T)
    np.testing.assert_array_equal(laplacian2.sum(1), np.zeros(4))
    np.testing.assert_array_equal(np.diag(laplacian2), [2, 3, 3, 2])
    with pytest.raises(ValueError, match="k must be"):
        utils.build_laplacian_nearest_neighbor_graph(points, k=0)


def _trajectory_spec(observation_spec, info_spec=()):
    return trajectory.Trajectory(
        step_type=tensor_spec.TensorSpec((), tf.int32),
        observation=observation_spec,
        action=tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        policy_info=info_spec,
        next_step_type=tensor_spec.TensorSpec((), tf.int32),
        reward=tensor_spec.TensorSpec((), tf.float32),
        discount=tensor_spec.TensorSpec((), tf.float32),
    )


def test_process_experience_merges_outer_dims():
    spec = _trajectory_spec(tensor_spec.TensorSpec((3,), tf.float32))
    experience = tensor_spec.sample_spec_nest(spec, seed=3, outer_dims=(4, 2))
    observation, action, reward = utils.process_experience_for_neural_agents(
        experience, False, spec
    )
    np.testing.assert_array_equal(
        observation, tf.reshape(experience.observation, [8, 3])
    )
    np.testing.assert_array_equal(action, tf.reshape(experience.action, [8]))
    np.testing.assert_array_equal(reward, tf.reshape(experience.reward, [8]))


def test_process_experience_per_arm_trains_on_the_chosen_arm():
    observation_spec = {
        bandit_spec_utils.GLOBAL_FEATURE_KEY: tensor_spec.TensorSpec((2,), tf.float32),
        bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY: tensor_spec.BoundedTensorSpec(
            (), tf.int32, 1, 4
        ),
    }
    info_spec = policy_utilities.PerArmPolicyInfo(
        chosen_arm_features=tensor_spec.TensorSpec((5,), tf.float32)
    )
    spec = _trajectory_spec(observation_spec, info_spec)
    experience = tensor_spec.sample_spec_nest(spec, seed=4, outer_dims=(3, 2))
    observation, action, reward = utils.process_experience_for_neural_agents(
        experience, True, spec
    )
    per_arm = observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
    assert per_arm.shape == (6, 1, 5)
    np.testing.assert_array_equal(
        per_arm[:, 0], tf.reshape(experience.policy_info.chosen_arm_features, [6, 5])
    )
    np.testing.assert_array_equal(action, np.zeros(6))
    np.testing.assert_array_equal(
        observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY], np.ones(6)
    )
    np.testing.assert_array_equal(reward, tf.reshape(experience.reward, [6]))
    # The caller's experience is left as it was.
    assert bandit_spec_utils.PER_ARM_FEATURE_KEY not in experience.observation


def test_process_experience_per_arm_needs_chosen_arm_features():
    spec = _trajectory_spec(
        {bandit_spec_utils.GLOBAL_FEATURE_KEY: tensor_spec.TensorSpec((2,), tf.float32)}
    )
    experience = tensor_spec.sample_spec_nest(spec, seed=5, outer_dims=(2,))
    with pytest.raises(ValueError, match="chosen_arm_features"):
        utils.process_experience_for_neural_agents(experience, True, spec)
