"""Reward functions, context samplers and optimal-arm helpers for bandit set-ups.

The example training scripts build environments from these (e.g. linear
reward functions for `StationaryStochasticPyEnvironment`) and measure regret
with the `compute_optimal_*` / `tf_compute_optimal_*` helpers: the `tf_`
versions take and return tensors, so they can run inside `tf.function`
(Python reward functions are called through `tf.py_function`).

    reward_fns = sliding_linear_reward_fn_generator(context_dim=3, num_actions=4, variance=0.1)
    optimal_reward_fn = functools.partial(
        tf_compute_optimal_reward, per_action_reward_fns=reward_fns
    )
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = [
    "LinearNormalMultipleRewards",
    "LinearNormalReward",
    "build_laplacian_over_ordinal_integer_actions_from_env",
    "compute_optimal_action",
    "compute_optimal_action_with_classification_environment",
    "compute_optimal_action_with_environment_dynamics",
    "compute_optimal_action_with_movielens_environment",
    "compute_optimal_reward",
    "compute_optimal_reward_with_classification_environment",
    "compute_optimal_reward_with_environment_dynamics",
    "compute_optimal_reward_with_movielens_environment",
    "context_sampling_fn",
    "linear_multiple_reward_fn_generator",
    "linear_reward_fn_generator",
    "normalized_sliding_linear_reward_fn_generator",
    "random_linear_multiple_reward_fn_generator",
    "sliding_linear_reward_fn_generator",
    "structured_linear_reward_fn_generator",
    "tf_compute_optimal_action",
    "tf_compute_optimal_reward",
    "tf_wheel_bandit_compute_optimal_action",
    "tf_wheel_bandit_compute_optimal_reward",
]

# A per-arm reward function: `fn(context, enable_noise)` -> reward(s).
PerActionRewardFn = Callable[..., Any]


@gin.configurable
class LinearNormalReward:
    """A linear reward with Gaussian noise: `Normal(x . theta, sigma)`.

    Args:
      theta: the `[context_dim]` parameter.
      sigma: the noise standard deviation.
    """

    def __init__(self, theta: types.Array, sigma: float):
        self.theta = theta
        self.sigma = sigma

    def __call__(self, x: types.Array, enable_noise: bool = True) -> Any:
        """The reward for context(s) `x` (`[context_dim]` or `[batch, context_dim]`).

        Args:
          x: the context, or a batch of them.
          enable_noise: add the Gaussian noise (False gives the mean reward).
        """
        mean = np.dot(np.asarray(x), self.theta)
        if not enable_noise:
            return mean
        return np.random.normal(mean, self.sigma)


@gin.configurable
def linear_reward_fn_generator(
    theta_list: Sequence[types.Array], variance: float
) -> list[LinearNormalReward]:
    """One `LinearNormalReward` per parameter vector, all with noise scale `variance`."""
    return [LinearNormalReward(theta, variance) for theta in theta_list]


@gin.configurable
def sliding_linear_reward_fn_generator(
    context_dim: int, num_actions: int, variance: float
) -> list[LinearNormalReward]:
    """`num_actions` noisy linear rewards with parameters of consecutive integers.

    Arm `a` has the parameter `[a, a + 1, ..., a + context_dim - 1]`.
    """
    return linear_reward_fn_generator(
        [[float(a + k) for k in range(context_dim)] for a in range(num_actions)],
        variance,
    )


@gin.configurable
def normalized_sliding_linear_reward_fn_generator(
    context_dim: int, num_actions: int, variance: float
) -> list[LinearNormalReward]:
    """Like `sliding_linear_reward_fn_generator`, divided by `context_dim + num_actions`.

    The smaller parameters keep rewards in a narrower range.
    """
    scale = float(context_dim + num_actions)
    return linear_reward_fn_generator(
        [
            [float(a + k) / scale for k in range(context_dim)]
            for a in range(num_actions)
        ],
        variance,
    )


@gin.configurable
def structured_linear_reward_fn_generator(
    context_dim: int,
    num_actions: int,
    variance: float,
    drift_coefficient: float = 0.1,
) -> list[LinearNormalReward]:
    """`num_actions` noisy linear rewards whose parameters are a random walk.

    Arm 0's parameter is uniform in `[0, 1)^context_dim`; each next arm's is
    the previous one plus `drift_coefficient` times a fresh uniform draw, so
    neighbouring arms are alike.
    """
    thetas = [np.random.rand(context_dim)]
    for _ in range(1, num_actions):
        thetas.append(thetas[-1] + drift_coefficient * np.random.rand(context_dim))
    return linear_reward_fn_generator(thetas, variance)


@gin.configurable
def context_sampling_fn(batch_size: int, context_dim: int) -> np.ndarray:
    """A `[batch_size, context_dim]` float32 batch of integers in [-10, 10)."""
    return np.random.randint(-10, 10, [batch_size, context_dim]).astype(np.float32)


@gin.configurable
def build_laplacian_over_ordinal_integer_actions_from_env(env: Any) -> np.ndarray:
    """The graph Laplacian over `env`'s ordinal integer actions (see `bandits.agents.utils`).

    `env` may be a Python or a TensorFlow environment.
    """
    from policylib.bandits.agents import utils as agent_utils

    return agent_utils.build_laplacian_over_ordinal_integer_actions(
        tensor_spec.from_spec(env.action_spec())
    )


@gin.configurable
class LinearNormalMultipleRewards:
    """Several linear rewards per arm: `x @ thetas` (noise-free).

    Args:
      thetas: `[context_dim, num_rewards]` parameters (or `[context_dim]` for
        one reward).
    """

    def __init__(self, thetas: types.Array):
        self.thetas = thetas

    def __call__(self, x: types.Array, enable_noise: bool = False) -> np.ndarray:
        """The `[batch, num_rewards]` rewards of contexts `x` (`[batch, context_dim]`).

        `enable_noise` is accepted so the function fits `compute_optimal_reward`;
        the rewards have no noise.
        """
        del enable_noise
        return np.matmul(np.asarray(x), self.thetas)


@gin.configurable
def linear_multiple_reward_fn_generator(
    per_action_theta_list: Sequence[types.Array],
) -> list[LinearNormalMultipleRewards]:
    """One `LinearNormalMultipleRewards` per arm's parameter matrix."""
    return [LinearNormalMultipleRewards(thetas) for thetas in per_action_theta_list]


@gin.configurable
def random_linear_multiple_reward_fn_generator(
    context_dim: int, num_actions: int, num_rewards: int, squeeze_dims: bool = True
) -> list[LinearNormalMultipleRewards]:
    """`num_actions` linear multi-rewards with uniform `[context_dim, num_rewards]` parameters.

    Args:
      context_dim: context size.
      num_actions: number of arms.
      num_rewards: rewards per arm.
      squeeze_dims: drop size-1 dims of the parameters (one reward gives
        `[context_dim]`, hence scalar rewards).
    """

    def draw() -> np.ndarray:
        thetas = np.random.rand(context_dim, num_rewards)
        return np.squeeze(thetas) if squeeze_dims else thetas

    return linear_multiple_reward_fn_generator([draw() for _ in range(num_actions)])


def _rewards_of_all_arms(
    observation: types.Array,
    per_action_reward_fns: Sequence[PerActionRewardFn],
    enable_noise: bool,
) -> np.ndarray:
    """The rewards of every arm, stacked on a new last axis."""
    observation = np.asarray(observation)
    return np.stack(
        [np.asarray(fn(observation, enable_noise)) for fn in per_action_reward_fns],
        axis=-1,
    )


@gin.configurable
def compute_optimal_reward(
    observation: types.Array,
    per_action_reward_fns: Sequence[PerActionRewardFn],
    enable_noise: bool = False,
) -> np.ndarray:
    """The best arm's reward for `observation` (a context or a batch of them).

    Args:
      observation: a context, or a `[batch, ...]` batch.
      per_action_reward_fns: one `fn(context, enable_noise)` per arm.
      enable_noise: whether the reward functions add their noise.
    """
    return np.max(
        _rewards_of_all_arms(observation, per_action_reward_fns, enable_noise), axis=-1
    )


@gin.configurable
def compute_optimal_action(
    observation: types.Array,
    per_action_reward_fns: Sequence[PerActionRewardFn],
    enable_noise: bool = False,
) -> np.ndarray:
    """The index of the best arm for `observation` (a context or a batch of them).

    Args:
      observation: a context, or a `[batch, ...]` batch.
      per_action_reward_fns: one `fn(context, enable_noise)` per arm.
      enable_noise: whether the reward functions add their noise.
    """
    return np.argmax(
        _rewards_of_all_arms(observation, per_action_reward_fns, enable_noise), axis=-1
    )


def _numpy_of(value: Any) -> Any:
    return value.numpy() if hasattr(value, "numpy") else value


@gin.configurable
def tf_compute_optimal_reward(
    observation: types.Tensor,
    per_action_reward_fns: Sequence[PerActionRewardFn],
    enable_noise: bool = False,
) -> tf.Tensor:
    """`compute_optimal_reward` as a float32 TensorFlow op (via `tf.py_function`)."""

    def optimal_reward(context: tf.Tensor) -> np.ndarray:
        return compute_optimal_reward(
            _numpy_of(context), per_action_reward_fns, enable_noise
        ).astype(np.float32)

    return tf.py_function(optimal_reward, [observation], tf.float32)


@gin.configurable
def tf_compute_optimal_action(
    observation: types.Tensor,
    per_action_reward_fns: Sequence[PerActionRewardFn],
    enable_noise: bool = False,
    action_dtype: tf.DType = tf.int32,
) -> tf.Tensor:
    """`compute_optimal_action` as a TensorFlow op of `action_dtype` (via `tf.py_function`)."""
    numpy_dtype = tf.as_dtype(action_dtype).as_numpy_dtype

    def optimal_action(context: tf.Tensor) -> np.ndarray:
        return compute_optimal_action(
            _numpy_of(context), per_action_reward_fns, enable_noise
        ).astype(numpy_dtype)

    return tf.py_function(optimal_action, [observation], action_dtype)


@gin.configurable
def compute_optimal_reward_with_environment_dynamics(
    observation: types.NestedTensor, environment_dynamics: Any
) -> tf.Tensor:
    """The optimal reward per context, from non-stationary `EnvironmentDynamics`."""
    return environment_dynamics.compute_optimal_reward(observation)


@gin.configurable
def compute_optimal_action_with_environment_dynamics(
    observation: types.NestedTensor, environment_dynamics: Any
) -> tf.Tensor:
    """The optimal action per context, from non-stationary `EnvironmentDynamics`."""
    return environment_dynamics.compute_optimal_action(observation)


@gin.configurable
def compute_optimal_action_with_classification_environment(
    observation: types.NestedTensor, environment: Any
) -> tf.Tensor:
    """The classification environment's optimal actions for its current batch.

    The environment knows the labels of its last contexts, so `observation` is
    not needed; it is accepted to fit the metrics' `fn(observation)` calls.
    """
    del observation
    return environment.compute_optimal_action()


@gin.configurable
def compute_optimal_reward_with_classification_environment(
    observation: types.NestedTensor, environment: Any
) -> tf.Tensor:
    """The classification environment's optimal rewards for its current batch."""
    del observation
    return environment.compute_optimal_reward()


def _wheel_inside(observation: tf.Tensor, delta: types.Float) -> tf.Tensor:
    return tf.norm(observation, ord=2, axis=1) <= tf.cast(delta, observation.dtype)


@gin.configurable
def tf_wheel_bandit_compute_optimal_action(
    observation: types.Tensor, delta: types.Float, action_dtype: tf.DType = tf.int32
) -> tf.Tensor:
    """The wheel bandit's best arms for `[batch, 2]` contexts, as `action_dtype`.

    Arm 0 inside radius `delta`; outside it the context's quadrant arm
    (see `wheel_py_environment.compute_optimal_action`).
    """
    observation = tf.convert_to_tensor(observation)
    negative = tf.cast(observation < 0, tf.int32)
    quadrant = 1 + 2 * negative[:, 0] + negative[:, 1]
    best = tf.where(
        _wheel_inside(observation, delta), tf.zeros_like(quadrant), quadrant
    )
    return tf.cast(best, action_dtype)


@gin.configurable
def tf_wheel_bandit_compute_optimal_reward(
    observation: types.Tensor,
    delta: types.Float,
    mu_inside: types.Float,
    mu_high: types.Float,
) -> tf.Tensor:
    """The wheel bandit's best mean rewards for `[batch, 2]` contexts, float32.

    `mu_inside` within radius `delta`, `mu_high` outside it.
    """
    observation = tf.convert_to_tensor(observation)
    inside = _wheel_inside(observation, delta)
    return tf.where(
        inside,
        tf.fill(tf.shape(inside), tf.cast(mu_inside, tf.float32)),
        tf.fill(tf.shape(inside), tf.cast(mu_high, tf.float32)),
    )


@gin.configurable
def compute_optimal_reward_with_movielens_environment(
    observation: types.NestedTensor, environment: Any
) -> tf.Tensor:
    """The MovieLens (Python) environment's optimal rewards, as a float32 op."""
    del observation
    return tf.py_function(
        functools.partial(
            _as_numpy_result, environment.compute_optimal_reward, np.float32
        ),
        [],
        tf.float32,
    )


@gin.configurable
def compute_optimal_action_with_movielens_environment(
    observation: types.NestedTensor, environment: Any, action_dtype: tf.DType = tf.int32
) -> tf.Tensor:
    """The MovieLens (Python) environment's optimal actions, as an `action_dtype` op."""
    del observation
    return tf.py_function(
        functools.partial(
            _as_numpy_result,
            environment.compute_optimal_action,
            tf.as_dtype(action_dtype).as_numpy_dtype,
        ),
        [],
        action_dtype,
    )


def _as_numpy_result(fn: Callable[[], Any], dtype: Any) -> np.ndarray:
    """`fn()` as an array of `dtype`, so the op's output dtype always holds."""
    return np.asarray(fn(), dtype=dtype)
