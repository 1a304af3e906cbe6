"""PPO's returns and advantages: what `train` and `preprocess_sequence` add to experience.

`PPOAgent` derives from `PPOReturns`, which derives from `ppo_losses.PPOLossTerms`:
the agent module keeps the constructor and the training loop, this one the value
predictions, (normalized) rewards, discounted or TD(lambda) returns and GAE or
empirical advantages computed from a collected batch.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from absl import logging

from policylib.agents.ppo import ppo_losses
from policylib.base import nest_utils
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.typing import types
from policylib.utils import common, value_ops

__all__ = ["PPOReturns"]


def _get_discount(
    experience: trajectory.Trajectory | trajectory.Transition,
) -> types.Tensor:
    if isinstance(experience, trajectory.Transition):
        return experience.time_step.discount
    return experience.discount


class PPOReturns(ppo_losses.PPOLossTerms):
    """Returns and advantages over the options `PPOAgent.__init__` stores."""

    # Set by `PPOAgent.__init__`.
    _lambda: types.Float
    _discount_factor: types.Float
    _use_gae: bool
    _use_td_lambda_return: bool
    _reward_norm_clipping: types.Float
    _compute_value_and_advantage_in_train: bool
    _reward_normalizer: Any  # normalize() wants a float clip value

    def compute_advantages(
        self,
        rewards: types.NestedTensor,
        returns: types.Tensor,
        discounts: types.Tensor,
        value_preds: types.Tensor,
    ) -> tf.Tensor:
        """`[B, T - 1]` advantages: GAE with `use_gae`, else returns - values.

        `value_preds` is `[B, T]`; its last column bootstraps.
        """
        final_value = value_preds[:, -1]
        value_preds = value_preds[:, :-1]
        if self._use_gae:
            return value_ops.generalized_advantage_estimation(
                values=value_preds,
                final_value=final_value,
                rewards=rewards,
                discounts=discounts,
                td_lambda=self._lambda,
                time_major=False,
            )
        with tf.name_scope("empirical_advantage"):
            return returns - value_preds

    def compute_return_and_advantage(
        self, next_time_steps: ts.TimeStep, value_preds: types.Tensor
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """`[B, T - 1]` returns and advantages of `[B, T - 1]` next time steps.

        Rewards are normalized (not centered) first if the agent normalizes
        them; discounts are zeroed after the first episode end in a row.
        """
        discounts = next_time_steps.discount * tf.constant(
            self._discount_factor, dtype=tf.float32
        )
        rewards = next_time_steps.reward
        if self._debug_summaries:
            self._histogram("rewards", rewards)
            self._scalar("rewards_mean", tf.reduce_mean(rewards))
        if self._reward_normalizer:
            rewards = self._reward_normalizer.normalize(
                rewards, center_mean=False, clip_value=self._reward_norm_clipping
            )
            if self._debug_summaries:
                self._histogram("rewards_normalized", rewards)
                self._scalar("rewards_normalized_mean", tf.reduce_mean(rewards))
        discounts *= common.get_episode_mask(next_time_steps)
        # The last value prediction bootstraps the returns of a cut episode.
        returns = value_ops.discounted_return(
            rewards, discounts, time_major=False, final_value=value_preds[:, -1]
        )
        advantages = self.compute_advantages(rewards, returns, discounts, value_preds)
        if self._debug_summaries:
            self._histogram("returns", returns)
            self._histogram("advantages", advantages)
        if self._use_td_lambda_return:
            if not self._use_gae:
                logging.warning(
                    "use_td_lambda_return was True, but use_gae was False. Using "
                    "Monte Carlo return."
                )
            else:
                returns = tf.add(
                    advantages, value_preds[:, :-1], name="td_lambda_returns"
                )
        return returns, advantages

    def _preprocess(self, experience: Any) -> Any:
        """`experience` with `value_prediction`, `return` and `advantage` in its info.

        Raises:
          ValueError: the experience has one time step (advantages need two).
        """
        collect_data_spec: Any = self.collect_data_spec
        outer_rank = nest_utils.get_outer_rank(
            _get_discount(experience), collect_data_spec.discount
        )
        batched = (
            nest_utils.batch_nested_tensors(experience)
            if outer_rank == 1
            else experience
        )
        num_steps = _get_discount(batched).shape[1]
        if num_steps and num_steps <= 1:
            raise ValueError(
                "Experience used for advantage calculation must have >1 num_steps; "
                f"got time length {num_steps}."
            )
        time_steps, _, next_time_steps = self._collected_as_transition(batched)
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        if self._compute_value_and_advantage_in_train:
            value_preds, _ = self._collect_policy.apply_value_network(
                batched.observation,
                batched.step_type,
                value_state=self._collect_policy.get_initial_value_state(batch_size),
                training=False,
            )
            value_preds = tf.stop_gradient(value_preds)
        else:
            value_preds = batched.policy_info["value_prediction"]
        returns, advantages = self.compute_return_and_advantage(
            next_time_steps, value_preds
        )
        padding = tf.zeros((batch_size, 1), dtype=tf.float32)
        info = {
            "dist_params": batched.policy_info["dist_params"],
            "value_prediction": value_preds,
            "return": tf.concat([returns, padding], axis=1),
            "advantage": tf.concat([advantages, padding], axis=1),
        }
        if outer_rank == 1:
            info = nest_utils.unbatch_nested_tensors(info)
        return experience.replace(policy_info=info)

    def _preprocess_sequence(self, experience: Any) -> Any:
        if self._compute_value_and_advantage_in_train:
            return experience
        return self._preprocess(experience)
