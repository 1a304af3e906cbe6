"""`BoltzmannRewardPredictionPolicy`: samples actions by the softmax of predicted rewards.

Two ways to explore:

- Boltzmann: `P(a) ~ exp(reward(a) / temperature)`; temperature 0 is greedy,
  a large one uniform.
- Boltzmann-Gumbel (N. Cesa-Bianchi et al., "Boltzmann Exploration Done
  Right", NIPS 2017), when `boltzmann_gumbel_exploration_constant` is set:
  the arm of highest `reward(a) + C / sqrt(n(a)) * Gumbel noise`, where
  `n(a)` is how often arm `a` was trained on (`num_samples_list`), so
  rarely tried arms are explored more.
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

__all__ = ["BoltzmannRewardPredictionPolicy"]

# Temperatures are raised to at least this, so that dividing by them is finite.
_MIN_TEMPERATURE = 1e-12


def _mask_logits(logits: tf.Tensor, mask: types.Tensor | None) -> tf.Tensor:
    """`logits` with the masked-out actions at the lowest finite value."""
    if mask is None:
        return logits
    lowest = tf.constant(logits.dtype.min, dtype=logits.dtype)
    return tf.where(tf.cast(mask, tf.bool), logits, lowest)


class BoltzmannRewardPredictionPolicy(
    reward_prediction_base_policy.RewardPredictionBasePolicy
):
    """Samples from the softmax of predicted rewards (or Boltzmann-Gumbel).

    Args:
      time_step_spec, action_spec, reward_network, observation_and_action_constraint_splitter, accepts_per_arm_features, constraints, emit_policy_info, name: see
        `RewardPredictionBasePolicy`.
      temperature: a float, or a callable returning one (e.g. a decaying
        schedule read at every step).
      boltzmann_gumbel_exploration_constant: positive `C` of Boltzmann-Gumbel
        exploration; None for plain Boltzmann exploration.
      num_samples_list: one integer `tf.Variable` per action counting its
        training samples (Boltzmann-Gumbel only).

    Raises:
      ValueError: a non-positive exploration constant, or a
        `num_samples_list` of another length than the number of actions.
      NotImplementedError: Boltzmann-Gumbel with per-arm features or an action
        spec whose minimum is not 0.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        reward_network: types.Network,
        temperature: types.FloatOrReturningFloat = 1.0,
        boltzmann_gumbel_exploration_constant: types.Float | None = None,
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
        self._temperature = temperature
        self._boltzmann_gumbel_exploration_constant = (
            boltzmann_gumbel_exploration_constant
        )
        self._num_samples_list = list(num_samples_list)
        if boltzmann_gumbel_exploration_constant is None:
            return
        if boltzmann_gumbel_exploration_constant <= 0.0:
            raise ValueError(
                "The Boltzmann-Gumbel exploration constant must be positive; got "
                f"{boltzmann_gumbel_exploration_constant}."
            )
        if self._action_offset != 0:
            raise NotImplementedError(
                "Boltzmann-Gumbel exploration needs an action spec with minimum 0; "
                f"got minimum {self._action_offset}."
            )
        if accepts_per_arm_features:
            raise NotImplementedError(
                "Boltzmann-Gumbel exploration is not supported with per-arm features."
            )
        if len(self._num_samples_list) != self._expected_num_actions:
            raise ValueError(
                f"num_samples_list has {len(self._num_samples_list)} counters, but "
                f"there are {self._expected_num_actions} actions (one counter each)."
            )

    def _get_temperature_value(self) -> tf.Tensor:
        temperature = (
            self._temperature() if callable(self._temperature) else self._temperature
        )
        return tf.maximum(tf.cast(temperature, tf.float32), _MIN_TEMPERATURE)

    def _action_distribution(
        self, mask: types.Tensor | None, predicted_rewards: types.Tensor
    ) -> tuple[tfp.distributions.Distribution, types.Tensor]:
        dtype = self._action_spec.dtype
        distribution: tfp.distributions.Distribution
        if self._boltzmann_gumbel_exploration_constant is not None:
            logits = _mask_logits(predicted_rewards, mask)
            counts = tf.stack(
                [tf.cast(n.read_value(), logits.dtype) for n in self._num_samples_list],
                axis=-1,
            )
            # C / sqrt(n(a)); 0 for arms never trained on (divide_no_nan).
            scale = tf.math.divide_no_nan(
                tf.cast(self._boltzmann_gumbel_exploration_constant, logits.dtype),
                tf.sqrt(counts),
            )
            noise = tfp.distributions.Gumbel(
                loc=tf.constant(0.0, logits.dtype), scale=1.0
            ).sample(tf.shape(logits))
            actions = tf.argmax(logits + scale * noise, axis=-1, output_type=dtype)
            # The sampling probability has no closed form: the chosen action is
            # returned as a point mass (log-probability 0).
            distribution = tfp.distributions.Deterministic(loc=actions)
        else:
            logits = _mask_logits(
                predicted_rewards
                / tf.cast(self._get_temperature_value(), predicted_rewards.dtype),
                mask,
            )
            if self._action_offset != 0:
                distribution = shifted_categorical.ShiftedCategorical(
                    logits=logits, dtype=dtype, shift=self._action_offset
                )
            else:
                distribution = tfp.distributions.Categorical(logits=logits, dtype=dtype)
        batch_size = tf.shape(predicted_rewards)[0]
        policy_type = tf.fill(
            [batch_size, 1], policy_utilities.BanditPolicyType.BOLTZMANN
        )
        return distribution, policy_type
