"""`GreedyRewardPredictionPolicy`: takes the allowed action of highest predicted reward."""

from __future__ import annotations

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.policies import reward_prediction_base_policy
from policylib.policies import utils as policy_utilities
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["GreedyRewardPredictionPolicy"]


class GreedyRewardPredictionPolicy(
    reward_prediction_base_policy.RewardPredictionBasePolicy
):
    """Acts greedily on a reward network's predictions.

    Takes the constructor arguments of `RewardPredictionBasePolicy`. The
    distribution is deterministic, so `distribution()` already knows the
    chosen arm: its info holds the chosen arm's features too, which keeps
    them right when a wrapper (e.g. `EpsilonGreedyPolicy` through
    `GreedyPolicy`) acts on the distribution alone.
    """

    def _action_distribution(
        self, mask: types.Tensor | None, predicted_rewards: types.Tensor
    ) -> tuple[tfp.distributions.Distribution, types.Tensor]:
        dtype = self._action_spec.dtype
        if mask is None:
            best = tf.argmax(predicted_rewards, axis=-1, output_type=dtype)
        else:
            best = policy_utilities.masked_argmax(
                predicted_rewards, mask, output_type=dtype
            )
        batch_size = tf.shape(predicted_rewards)[0]
        policy_type = tf.fill([batch_size, 1], policy_utilities.BanditPolicyType.GREEDY)
        actions = best + tf.constant(self._action_offset, dtype=dtype)
        return tfp.distributions.Deterministic(loc=actions), policy_type

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        step = super()._distribution(time_step, policy_state)
        return self._maybe_save_chosen_arm_features(
            time_step, step.action.sample(), step
        )
