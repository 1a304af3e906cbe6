"""Helpers shared by bandit agents: weighted sums, graph Laplacians, experience prep.

The Laplacians serve agents that regularize per-arm estimates over a graph
of arms (neighbouring actions should get similar rewards); the experience
helper turns replay-buffer batches into what a reward network trains on.
"""

from __future__ import annotations

from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.typing import types

__all__ = [
    "build_laplacian_nearest_neighbor_graph",
    "build_laplacian_over_ordinal_integer_actions",
    "compute_pairwise_distances",
    "process_experience_for_neural_agents",
    "sum_reward_weighted_observations",
]


def sum_reward_weighted_observations(r: types.Tensor, x: types.Tensor) -> tf.Tensor:
    """`sum_i r_i * x_i`: the increment of a linear bandit's `b` vector.

    Args:
      r: rewards, `[batch_size]` (any shape with `batch_size` elements).
      x: observations, `[batch_size, context_dim]`.

    Returns:
      A `[context_dim]` tensor; zeros when the batch is empty.
    """
    x = tf.convert_to_tensor(x)
    weights = tf.reshape(tf.cast(r, x.dtype), [-1, 1])
    return tf.reduce_sum(weights * x, axis=0)


@gin.configurable
def build_laplacian_over_ordinal_integer_actions(
    action_spec: types.BoundedTensorSpec,
) -> np.ndarray:
    """The Laplacian of the path graph whose vertices are the actions in order.

    Actions `i` and `i + 1` are neighbours, so the end vertices have degree 1
    and the inner ones degree 2.

    Args:
      action_spec: a scalar int32/int64 bounded spec with minimum 0.

    Returns:
      A float64 NumPy array `[num_actions, num_actions]`.

    Raises:
      ValueError: `action_spec` is not a scalar integer spec starting at 0.
    """
    num_actions = policy_utilities.get_num_actions_from_tensor_spec(action_spec)
    adjacency = np.eye(num_actions, k=1) + np.eye(num_actions, k=-1)
    return np.diag(adjacency.sum(axis=1)) - adjacency


def compute_pairwise_distances(input_vecs: types.Tensor) -> tf.Tensor:
    """Squared Euclidean distances between all pairs of rows, as float32.

    Args:
      input_vecs: `[num_vectors, dim]`, one vector per row.

    Returns:
      A `[num_vectors, num_vectors]` float32 tensor.
    """
    input_vecs = tf.convert_to_tensor(input_vecs)
    sq_norms = tf.reduce_sum(tf.square(input_vecs), axis=1, keepdims=True)
    gram = tf.matmul(input_vecs, input_vecs, transpose_b=True)
    distances = sq_norms + tf.transpose(sq_norms) - 2 * gram
    return tf.cast(distances, tf.float32)


@gin.configurable
def build_laplacian_nearest_neighbor_graph(
    input_vecs: types.Tensor, k: int = 1
) -> tf.Tensor:
    """The Laplacian of the symmetric k-nearest-neighbour graph of `input_vecs`.

    Each vector is linked to its `k` closest other vectors (squared Euclidean
    distance); a link in either direction makes an undirected edge.

    Args:
      input_vecs: `[num_vectors, dim]`, one vector per row.
      k: number of neighbours per vector.

    Returns:
      A float32 `[num_vectors, num_vectors]` tensor.
    """
    if isinstance(k, (int, np.integer)) and k < 1:
        raise ValueError(f"k must be a positive number of neighbours, got {k}.")
    distances = compute_pairwise_distances(input_vecs)
    num_vectors = tf.shape(distances)[0]
    # Column 0 of the sorted order is each vector itself (distance 0).
    neighbours = tf.argsort(distances, axis=1)[:, 1 : k + 1]
    rows = tf.repeat(tf.range(num_vectors), k)
    indices = tf.stack([rows, tf.reshape(neighbours, [-1])], axis=1)
    directed = tf.scatter_nd(
        indices,
        tf.ones([num_vectors * k], tf.float32),
        tf.stack([num_vectors, num_vectors]),
    )
    adjacency = tf.minimum(directed + tf.transpose(directed), 1.0)
    return tf.linalg.diag(tf.reduce_sum(adjacency, axis=1)) - adjacency


def process_experience_for_neural_agents(
    experience: types.NestedTensor,
    accepts_per_arm_features: bool,
    training_data_spec: types.NestedTensorSpec,
) -> tuple[types.NestedTensor, types.Tensor, types.Tensor]:
    """Experience as `(observation, action, reward)` with one batch dimension.

    All outer dimensions are merged. With per-arm features the network trains
    on the chosen arm only: its features (from the policy info) become a
    one-arm per-arm observation, the action becomes 0 and a `num_actions`
    feature, if any, becomes 1.

    Args:
      experience: a `Trajectory` batch, e.g. `[B, T, ...]` from a replay buffer.
      accepts_per_arm_features: whether the observation is per-arm.
      training_data_spec: the spec of one (unbatched) `Trajectory`.

    Returns:
      `(observation, action, reward)` tensors of shape `[N, ...]`.

    Raises:
      ValueError: per-arm features are expected but the policy info does not
        hold `chosen_arm_features`.
    """
    flat: Any
    flat, _ = nest_utils.flatten_multi_batched_nested_tensors(
        experience, training_data_spec
    )
    observation = flat.observation
    action = flat.action
    reward = flat.reward
    if not accepts_per_arm_features:
        return observation, action, reward

    if not policy_utilities.has_chosen_arm_features(flat.policy_info):
        raise ValueError(
            "Per-arm training needs `policy_info.chosen_arm_features` in the "
            f"experience; got policy_info {flat.policy_info!r}."
        )
    observation = dict(observation)
    observation[bandit_spec_utils.PER_ARM_FEATURE_KEY] = tf.nest.map_structure(
        lambda t: tf.expand_dims(t, axis=1), flat.policy_info.chosen_arm_features
    )
    if bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY in observation:
        observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY] = tf.ones_like(
            observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY]
        )
    return observation, tf.zeros_like(action), reward
