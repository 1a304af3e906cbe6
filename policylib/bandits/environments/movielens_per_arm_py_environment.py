"""`MovieLensPerArmPyEnvironment`: MovieLens 100K with a feature vector per movie.

The full ratings matrix is factorized by a rank-`rank_k` SVD,
`A ~= U_k S_k V_k^T`. Each step shows, per batch entry, a random user's row of
`U_k` (global features) and the rows of `V_k` of `num_actions` distinct random
movies (per-arm features); choosing arm `a` pays the low-rank rating of the
user for that movie, `u S_k v_a^T`.

    env = MovieLensPerArmPyEnvironment(
        "/data/ml-100k/u.data", rank_k=20, batch_size=8, num_actions=20,
        csv_delimiter="\\t",
    )
"""

from __future__ import annotations

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment, dataset_utilities
from policylib.specs import array_spec, bandit_spec_utils
from policylib.typing import types

__all__ = ["MovieLensPerArmPyEnvironment"]

GLOBAL_KEY = bandit_spec_utils.GLOBAL_FEATURE_KEY
PER_ARM_KEY = bandit_spec_utils.PER_ARM_FEATURE_KEY


@gin.configurable
class MovieLensPerArmPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """MovieLens bandit with user (global) and movie (per-arm) features.

    Observations are dicts of float32 `global` (`[batch_size, rank_k]`) and
    `per_arm` (`[batch_size, num_actions, rank_k]`) features. Users and
    movies are drawn with NumPy's global generator (`np.random.seed` makes
    runs repeatable).

    Args:
      data_dir: path of the ratings file (MovieLens 100K's `u.data`).
      rank_k: rank of the factorization, hence both feature sizes.
      batch_size: users shown per step.
      num_actions: distinct movies offered per user and step.
      csv_delimiter: the ratings file's field separator (`'\\t'` for
        `u.data`).
      name: the environment's name.

    Raises:
      FileNotFoundError: no ratings file at `data_dir`.
      ValueError: a malformed ratings file, `batch_size` below 1,
        `num_actions` outside [1, 1682] or `rank_k` outside [1, 943].
    """

    def __init__(
        self,
        data_dir: str,
        rank_k: int,
        batch_size: int = 1,
        num_actions: int = 50,
        csv_delimiter: str = ",",
        name: str | None = "movielens_per_arm",
    ):
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1; got {batch_size}.")
        ratings = dataset_utilities.load_movielens_data(
            data_dir, delimiter=csv_delimiter
        )
        num_users, num_movies = ratings.shape
        if not 1 <= num_actions <= num_movies:
            raise ValueError(
                f"num_actions must be in [1, {num_movies}]; got {num_actions}."
            )
        if not 1 <= rank_k <= min(num_users, num_movies):
            raise ValueError(
                f"rank_k must be in [1, {min(num_users, num_movies)}]; got {rank_k}."
            )
        self._data_matrix = ratings
        self._num_users = num_users
        self._num_movies = num_movies
        self._num_actions = num_actions
        self._context_dim = rank_k
        self._batch_size = batch_size

        u, s, vh = np.linalg.svd(ratings, full_matrices=False)
        self._u_hat = u[:, :rank_k].astype(np.float32)
        self._s_hat = s[:rank_k].astype(np.float32)
        self._v_hat = vh[:rank_k].T.astype(np.float32)
        self._approx_ratings_matrix = (self._u_hat * self._s_hat) @ self._v_hat.T

        self._current_user_indices = np.zeros(batch_size, dtype=np.int64)
        self._previous_user_indices = np.zeros(batch_size, dtype=np.int64)
        self._current_movie_indices = np.zeros([batch_size, num_actions], np.int64)
        self._previous_movie_indices = np.zeros([batch_size, num_actions], np.int64)

        observation_spec = {
            GLOBAL_KEY: array_spec.ArraySpec([rank_k], np.float32),
            PER_ARM_KEY: array_spec.ArraySpec([num_actions, rank_k], np.float32),
        }
        action_spec = array_spec.BoundedArraySpec(
            shape=(), dtype=np.int32, minimum=0, maximum=num_actions - 1, name="action"
        )
        super().__init__(observation_spec, action_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        users = np.random.randint(self._num_users, size=self._batch_size)
        movies = np.stack(
            [
                np.random.choice(self._num_movies, self._num_actions, replace=False)
                for _ in range(self._batch_size)
            ]
        )
        self._previous_user_indices = self._current_user_indices
        self._current_user_indices = users
        self._previous_movie_indices = self._current_movie_indices
        self._current_movie_indices = movies
        return {GLOBAL_KEY: self._u_hat[users], PER_ARM_KEY: self._v_hat[movies]}

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._num_actions)
        movies = self._current_movie_indices[np.arange(self._batch_size), action]
        return self._approx_ratings_matrix[self._current_user_indices, movies]

    def _rewards_for_all_actions(self) -> np.ndarray:
        """`[batch_size, num_actions]` rewards of every arm the last step offered."""
        return self._approx_ratings_matrix[
            self._previous_user_indices[:, np.newaxis], self._previous_movie_indices
        ]

    def compute_optimal_action(self) -> np.ndarray:
        """The best arm for each batch entry the last step rewarded."""
        return np.argmax(self._rewards_for_all_actions(), axis=-1)

    def compute_optimal_reward(self) -> np.ndarray:
        """The best low-rank rating for each batch entry the last step rewarded."""
        return np.max(self._rewards_for_all_actions(), axis=-1)
