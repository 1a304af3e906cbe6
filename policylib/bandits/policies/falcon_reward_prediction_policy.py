"""`FalconRewardPredictionPolicy`: the FALCON action distribution over predicted rewards.

FALCON (D. Simchi-Levi and Y. Xu, "Bypassing the Monster: A Faster and
Simpler Optimal Algorithm for Contextual Bandits under Realizability",
Mathematics of Operations Research, 2021, https://arxiv.org/abs/2003.12699)
samples, among `K` allowed actions with predicted rewards `r(a)` and best
action `a*`:

    P(a) = 1 / (K + gamma * (r(a*) - r(a)))   for a != a*
    P(a*) = 1 - sum of the others

`gamma` grows with the training data: here
`gamma = coefficient * sqrt(K * n / p)` for `n` training samples and `p`
trainable weights of the reward network, capped at `_MAX_GAMMA`. With no
data (or a zero coefficient) the policy is uniform; with much data it is
greedy.

With `max_exploration_probability_hint`, the coefficient is instead chosen
per context on the grid `2^0 ... 2^_MAX_LOG2_EXPLOITATION_COEF` as the one
that explores most while keeping `1 - P(a*)` within the hint (or, if none
does, the one that explores least).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.policies import constraints as constr
from policylib.bandits.policies import reward_prediction_base_policy
from policylib.distributions import shifted_categorical
from policylib.policies import utils as policy_utilities
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["FalconRewardPredictionPolicy", "get_number_of_trainable_elements"]

# Without a cap, non-greedy actions would become vanishingly unlikely as data
# grows, even those predicted (almost) as good as the greedy one.
_MAX_GAMMA = 50000.0

# The grid of exploitation coefficients searched for the exploration hint:
# 2^0 ... 2^_MAX_LOG2_EXPLOITATION_COEF.
_MAX_LOG2_EXPLOITATION_COEF = 14


def get_number_of_trainable_elements(network: types.Network) -> int:
    """The number of scalars in `network`'s trainable variables.

    Raises:
      ValueError: a variable of unknown size.
    """
    total = 0
    for variable in network.trainable_variables:
        size = variable.shape.num_elements()
        if size is None:
            raise ValueError(
                f"Variable {variable.name} of {network.name} has shape {variable.shape}; "
                "FALCON needs every trainable variable's size to be known."
            )
        total += size
    return total


def _choose_gamma_index(
    greedy_probs: tf.Tensor, max_exploration_prob: tf.Tensor
) -> tf.Tensor:
    """Per batch entry, the grid column to use for the exploration hint.

    Args:
      greedy_probs: `[B, d]` probability of the greedy action per gamma.
      max_exploration_prob: the hint, in `[0, 1]`.

    Returns:
      `[B]` indices: among the columns where the greedy action keeps at least
      `1 - max_exploration_prob`, the one of least greedy probability (most
      exploration); where there is none, the one of largest greedy
      probability.
    """
    within = greedy_probs >= 1.0 - max_exploration_prob
    # 2 is above every probability, so those columns are never the minimum.
    most_exploring = tf.argmin(tf.where(within, greedy_probs, 2.0), axis=1)
    least_exploring = tf.argmax(greedy_probs, axis=1)
    return tf.where(tf.reduce_any(within, axis=1), most_exploring, least_exploring)


class FalconRewardPredictionPolicy(
    reward_prediction_base_policy.RewardPredictionBasePolicy
):
    """Samples actions by the FALCON distribution over predicted rewards.

    Args:
      time_step_spec, action_spec, reward_network, observation_and_action_constraint_splitter, accepts_per_arm_features, constraints, emit_policy_info, name: see
        `RewardPredictionBasePolicy`.
      exploitation_coefficient: a float or a callable returning one (at least
        0): larger values make the greedy action more likely. Ignored when
        `max_exploration_probability_hint` is set.
      max_exploration_probability_hint: a float (or callable) in `[0, 1]`: the
        most probability non-greedy actions should get, met where the data
        allows (see the module docstring).
      num_samples_list: integer `tf.Variable`s counting the training samples:
        one per action, or a single one with per-arm features. By default
        zero counters (a uniform policy until they are given).

    Raises:
      ValueError: a `num_samples_list` of the wrong length.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        reward_network: types.Network,
        exploitation_coefficient: types.FloatOrReturningFloat | None = 1.0,
        max_exploration_probability_hint: types.FloatOrReturningFloat | None = None,
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        constraints: Iterable[constr.BaseConstraint] = (),
        emit_policy_info: Sequence[str] = (),
        num_samples_list: Sequence[tf.Variable] = (),
        name: str | None = None,
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            reward_network,
            observation_and_action_constraint_splitter,
            accepts_per_arm_features,
            constraints,
            emit_policy_info,
            name,
        )
        self._exploitation_coefficient = exploitation_coefficient
        self._max_exploration_probability_hint = max_exploration_probability_hint
        expected = 1 if accepts_per_arm_features else self._expected_num_actions
        if num_samples_list:
            self._num_samples_list = list(num_samples_list)
        else:
            counter = tf.Variable(0, dtype=tf.int64, name="num_samples")
            self._num_samples_list = [counter] * expected
        if len(self._num_samples_list) != expected:
            what = (
                "one counter with per-arm features"
                if accepts_per_arm_features
                else f"one counter per action ({expected} actions)"
            )
            raise ValueError(
                f"num_samples_list has {len(self._num_samples_list)} counters; "
                f"FalconRewardPredictionPolicy needs {what}."
            )
        self._num_trainable_elements = get_number_of_trainable_elements(
            self._reward_network
        )

    @property
    def num_trainable_elements(self) -> int:
        return self._num_trainable_elements

    @property
    def num_samples_list(self) -> list[tf.Variable]:
        return self._num_samples_list

    def _get_exploitation_coefficient(self) -> tf.Tensor:
        coefficient = self._exploitation_coefficient
        if callable(coefficient):
            coefficient = coefficient()
        return tf.maximum(tf.cast(coefficient, tf.float32), 0.0)

    def _get_number_of_allowed_actions(self, mask: types.Tensor | None) -> tf.Tensor:
        """`K`: a scalar without a mask, else `[B]` allowed actions per entry."""
        if mask is None:
            return tf.constant(float(self._expected_num_actions))
        return tf.reduce_sum(tf.cast(tf.cast(mask, tf.bool), tf.float32), axis=1)

    def _compute_gamma(
        self, mask: types.Tensor | None, dtype: tf.DType, batch_size: types.Int
    ) -> tf.Tensor:
        """`[B, d]` gammas: `d = 1`, or the hint's grid of coefficients."""
        num_samples = tf.add_n(
            [
                tf.maximum(tf.cast(n.read_value(), tf.float32), 0.0)
                for n in self._num_samples_list
            ]
        )
        num_weights = float(max(self._num_trainable_elements, 1))
        base = tf.sqrt(
            self._get_number_of_allowed_actions(mask) * num_samples / num_weights
        )
        if self._max_exploration_probability_hint is None:
            coefficients = tf.reshape(self._get_exploitation_coefficient(), [1, 1])
        else:
            coefficients = tf.pow(
                2.0, tf.range(_MAX_LOG2_EXPLOITATION_COEF + 1, dtype=tf.float32)
            )[tf.newaxis, :]
        base = tf.reshape(base, [-1, 1]) * tf.ones([batch_size, 1])
        return tf.cast(tf.minimum(base * coefficients, _MAX_GAMMA), dtype)

    def _action_distribution(
        self, mask: types.Tensor | None, predicted_rewards: types.Tensor
    ) -> tuple[tfp.distributions.Distribution, types.Tensor]:
        dtype = self._action_spec.dtype
        batch_size = tf.shape(predicted_rewards)[0]
        num_actions = self._expected_num_actions
        gamma = self._compute_gamma(mask, predicted_rewards.dtype, batch_size)
        allowed = None if mask is None else tf.cast(mask, tf.bool)
        rewards = predicted_rewards
        if allowed is not None:
            rewards = tf.where(
                allowed, rewards, tf.constant(-float("inf"), rewards.dtype)
            )
        greedy = tf.argmax(rewards, axis=-1, output_type=dtype)
        gap = tf.reduce_max(rewards, axis=-1, keepdims=True) - rewards  # [B, A]
        num_allowed = self._get_number_of_allowed_actions(mask)
        if allowed is not None:
            num_allowed = tf.reshape(num_allowed, [-1, 1, 1])
        # [B, A, d]: the probability of each action as a non-greedy one, per gamma.
        probs = tf.math.divide_no_nan(
            1.0, num_allowed + gap[:, :, tf.newaxis] * gamma[:, tf.newaxis, :]
        )
        if allowed is not None:
            # Masked actions have an infinite gap; with gamma 0 that is NaN.
            probs = tf.where(allowed[:, :, tf.newaxis], probs, tf.zeros_like(probs))
        is_greedy = tf.one_hot(greedy, num_actions, on_value=True, off_value=False)
        others = tf.reduce_sum(
            tf.where(is_greedy[:, :, tf.newaxis], tf.zeros_like(probs), probs), axis=1
        )
        greedy_probs = 1.0 - others  # [B, d]
        probs = tf.where(
            is_greedy[:, :, tf.newaxis], greedy_probs[:, tf.newaxis, :], probs
        )
        if self._max_exploration_probability_hint is None:
            action_probs = probs[:, :, 0]
        else:
            hint = self._max_exploration_probability_hint
            if callable(hint):
                hint = hint()
            hint = tf.clip_by_value(tf.cast(hint, greedy_probs.dtype), 0.0, 1.0)
            column = _choose_gamma_index(greedy_probs, hint)
            action_probs = tf.gather(probs, column, axis=2, batch_dims=1)
        distribution: tfp.distributions.Distribution
        if self._action_offset != 0:
            distribution = shifted_categorical.ShiftedCategorical(
                probs=action_probs, dtype=dtype, shift=self._action_offset
            )
        else:
            distribution = tfp.distributions.Categorical(
                probs=action_probs, dtype=dtype
            )
        policy_type = tf.fill([batch_size, 1], policy_utilities.BanditPolicyType.FALCON)
        return distribution, policy_type
