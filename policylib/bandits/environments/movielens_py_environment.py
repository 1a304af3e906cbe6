"""`MovieLensPyEnvironment`: a recommendation bandit from MovieLens 100K ratings.

The ratings of the first `num_movies` movies (users with none are dropped)
form a matrix `A`; its rank-`rank_k` SVD gives `A ~= U V` with
`U = U_k sqrt(S_k)` and `V = sqrt(S_k) V_k^T`. Each step shows the rows of
`U` of a batch of distinct random users; recommending movie `j` to user `i`
pays the low-rank rating `(U V)[i, j]`.

    env = MovieLensPyEnvironment(
        "/data/ml-100k/u.data", rank_k=20, batch_size=8, csv_delimiter="\\t"
    )
"""

from __future__ import annotations

import gin
import numpy as np

from policylib.bandits.environments import bandit_py_environment, dataset_utilities
from policylib.specs import array_spec
from policylib.typing import types

__all__ = ["MovieLensPyEnvironment"]


@gin.configurable
class MovieLensPyEnvironment(bandit_py_environment.BanditPyEnvironment):
    """MovieLens bandit: user features as contexts, movies as arms.

    Observations are float64 `[batch_size, rank_k]` user vectors; the action
    is a movie index in `[0, num_movies - 1]`. Users are drawn with NumPy's
    global generator (`np.random.seed` makes runs repeatable).

    Args:
      data_dir: path of the ratings file (MovieLens 100K's `u.data`).
      rank_k: rank of the factorization, hence the context size.
      batch_size: distinct users shown per step.
      num_movies: only the first `num_movies` movies are arms.
      csv_delimiter: the ratings file's field separator (`'\\t'` for
        `u.data`).
      name: the environment's name.

    Raises:
      FileNotFoundError: no ratings file at `data_dir`.
      ValueError: a malformed ratings file, `num_movies` outside
        [1, 1682], `rank_k` outside [1, min(users, num_movies)], or more
        users per batch than users with ratings.
    """

    def __init__(
        self,
        data_dir: str,
        rank_k: int,
        batch_size: int = 1,
        num_movies: int = 20,
        csv_delimiter: str = ",",
        name: str | None = "movielens",
    ):
        if not 1 <= num_movies <= dataset_utilities.MOVIELENS_NUM_MOVIES:
            raise ValueError(
                "num_movies must be in [1, "
                f"{dataset_utilities.MOVIELENS_NUM_MOVIES}]; got {num_movies}."
            )
        ratings = dataset_utilities.load_movielens_data(
            data_dir, delimiter=csv_delimiter
        )[:, :num_movies]
        # Users with no rating among these movies carry no signal.
        ratings = ratings[np.sum(ratings, axis=1) > 0.0]
        num_users = ratings.shape[0]
        if not 1 <= rank_k <= min(num_users, num_movies):
            raise ValueError(
                f"rank_k must be in [1, min(users with ratings, num_movies)] = [1, "
                f"{min(num_users, num_movies)}]; got {rank_k}."
            )
        if not 1 <= batch_size <= num_users:
            raise ValueError(
                f"batch_size must be in [1, {num_users}] (distinct users with "
                f"ratings among the first {num_movies} movies); got {batch_size}."
            )
        self._data_matrix = ratings
        self._effective_num_users = num_users
        self._num_actions = num_movies
        self._context_dim = rank_k
        self._batch_size = batch_size

        u, s, vh = np.linalg.svd(ratings, full_matrices=False)
        root_s = np.sqrt(s[:rank_k])
        self._u_hat = u[:, :rank_k] * root_s
        self._v_hat = root_s[:, np.newaxis] * vh[:rank_k]
        self._approx_ratings_matrix = self._u_hat @ self._v_hat
        self._optimal_action_table = np.argmax(self._approx_ratings_matrix, axis=1)
        self._optimal_reward_table = np.max(self._approx_ratings_matrix, axis=1)

        self._current_users = np.zeros(batch_size, dtype=np.int64)
        self._previous_users = np.zeros(batch_size, dtype=np.int64)

        observation_spec = array_spec.ArraySpec(
            (rank_k,), np.float64, name="observation"
        )
        action_spec = array_spec.BoundedArraySpec(
            shape=(), dtype=np.int32, minimum=0, maximum=num_movies - 1, name="action"
        )
        super().__init__(observation_spec, action_spec, name=name)

    @property
    def batched(self) -> bool:
        return True

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _observe(self) -> types.NestedArray:
        users = np.random.choice(
            self._effective_num_users, self._batch_size, replace=False
        )
        self._previous_users = self._current_users
        self._current_users = users
        return self._u_hat[users]

    def _apply_action(self, action: types.NestedArray) -> types.NestedArray:
        action = self._batched_actions(action, self._num_actions)
        return self._approx_ratings_matrix[self._current_users, action]

    def compute_optimal_action(self) -> np.ndarray:
        """The best movie for each user the last step rewarded."""
        return self._optimal_action_table[self._previous_users]

    def compute_optimal_reward(self) -> np.ndarray:
        """The best low-rank rating for each user the last step rewarded."""
        return self._optimal_reward_table[self._previous_users]
