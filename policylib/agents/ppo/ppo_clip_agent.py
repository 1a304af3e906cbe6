"""`PPOClipAgent`: PPO with the clipped surrogate objective and no KL penalty.

The policy-gradient loss takes, per step, the smaller of `ratio * A` and
`clip(ratio, 1 - eps, 1 + eps) * A` with `eps = importance_ratio_clipping`
(the "PPO-Clip" of Schulman et al., 2017).
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.agents.ppo import ppo_agent
from policylib.networks import network
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PPOClipAgent"]


@gin.configurable
class PPOClipAgent(ppo_agent.PPOAgent):
    """`PPOAgent` with the KL penalty and log-probability clipping switched off.

    Args: as `PPOAgent`'s (without the KL options).
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        optimizer: types.Optimizer | None = None,
        actor_net: network.Network | None = None,
        value_net: network.Network | None = None,
        greedy_eval: bool = True,
        importance_ratio_clipping: types.Float = 0.0,
        lambda_value: types.Float = 0.95,
        discount_factor: types.Float = 0.99,
        entropy_regularization: types.Float = 0.0,
        policy_l2_reg: types.Float = 0.0,
        value_function_l2_reg: types.Float = 0.0,
        shared_vars_l2_reg: types.Float = 0.0,
        value_pred_loss_coef: types.Float = 0.5,
        num_epochs: int = 25,
        use_gae: bool = False,
        use_td_lambda_return: bool = False,
        normalize_rewards: bool = True,
        reward_norm_clipping: types.Float = 10.0,
        normalize_observations: bool = True,
        log_prob_clipping: types.Float = 0.0,
        gradient_clipping: types.Float | None = None,
        value_clipping: types.Float | None = None,
        check_numerics: bool = False,
        compute_value_and_advantage_in_train: bool = True,
        update_normalizers_in_train: bool = True,
        aggregate_losses_across_replicas: bool = True,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = "PPOClipAgent",
    ):
        del log_prob_clipping  # accepted for TF-Agents' signature; clipping is off
        super().__init__(
            time_step_spec,
            action_spec,
            optimizer,
            actor_net,
            value_net,
            greedy_eval,
            importance_ratio_clipping,
            lambda_value,
            discount_factor,
            entropy_regularization,
            policy_l2_reg,
            value_function_l2_reg,
            shared_vars_l2_reg,
            value_pred_loss_coef,
            num_epochs,
            use_gae,
            use_td_lambda_return,
            normalize_rewards,
            reward_norm_clipping,
            normalize_observations,
            log_prob_clipping=0.0,
            kl_cutoff_factor=0.0,
            kl_cutoff_coef=0.0,
            initial_adaptive_kl_beta=0.0,
            adaptive_kl_target=0.0,
            adaptive_kl_tolerance=0.0,
            gradient_clipping=gradient_clipping,
            value_clipping=value_clipping,
            check_numerics=check_numerics,
            compute_value_and_advantage_in_train=compute_value_and_advantage_in_train,
            update_normalizers_in_train=update_normalizers_in_train,
            aggregate_losses_across_replicas=aggregate_losses_across_replicas,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            name=name,
        )
