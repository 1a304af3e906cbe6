"""`PPOKLPenaltyAgent`: PPO with an adaptive KL penalty instead of clipping.

The loss adds `beta * KL(old || new)`; after each `train`, `beta` grows by 1.5
when the mean KL is above `adaptive_kl_target * (1 + tolerance)` and shrinks
by 1.5 below `target * (1 - tolerance)`. An optional cutoff adds
`kl_cutoff_coef * max(KL - kl_cutoff_factor * target, 0)^2`.
"""

from __future__ import annotations

import gin
import tensorflow as tf

from policylib.agents.ppo import ppo_agent
from policylib.networks import network
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["PPOKLPenaltyAgent"]


@gin.configurable
class PPOKLPenaltyAgent(ppo_agent.PPOAgent):
    """`PPOAgent` with importance-ratio clipping off and the KL terms on.

    Takes `PPOAgent`'s arguments, of which `num_epochs` and the three
    adaptive-KL arguments are required here.

    Raises:
      ValueError: `kl_cutoff_coef` without `kl_cutoff_factor`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        actor_net: network.Network,
        value_net: network.Network,
        num_epochs: int,
        initial_adaptive_kl_beta: types.Float,
        adaptive_kl_target: types.Float,
        adaptive_kl_tolerance: types.Float,
        optimizer: types.Optimizer | None = None,
        use_gae: bool = True,
        use_td_lambda_return: bool = True,
        lambda_value: types.Float = 0.95,
        discount_factor: types.Float = 0.99,
        value_pred_loss_coef: types.Float = 0.5,
        entropy_regularization: types.Float = 0.0,
        policy_l2_reg: types.Float = 0.0,
        value_function_l2_reg: types.Float = 0.0,
        shared_vars_l2_reg: types.Float = 0.0,
        normalize_observations: bool = False,
        normalize_rewards: bool = True,
        reward_norm_clipping: types.Float = 0.0,
        log_prob_clipping: types.Float = 0.0,
        gradient_clipping: types.Float | None = None,
        value_clipping: types.Float | None = None,
        kl_cutoff_coef: types.Float = 0.0,
        kl_cutoff_factor: types.Float | None = None,
        check_numerics: bool = False,
        debug_summaries: bool = False,
        compute_value_and_advantage_in_train: bool = True,
        update_normalizers_in_train: bool = True,
        aggregate_losses_across_replicas: bool = True,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        if kl_cutoff_coef > 0.0 and kl_cutoff_factor is None:
            raise ValueError(
                "kl_cutoff_factor needs to be set if kl_cutoff_coef is non-zero."
            )
        super().__init__(
            time_step_spec,
            action_spec,
            optimizer=optimizer,
            actor_net=actor_net,
            value_net=value_net,
            lambda_value=lambda_value,
            discount_factor=discount_factor,
            entropy_regularization=entropy_regularization,
            policy_l2_reg=policy_l2_reg,
            value_function_l2_reg=value_function_l2_reg,
            shared_vars_l2_reg=shared_vars_l2_reg,
            value_pred_loss_coef=value_pred_loss_coef,
            num_epochs=num_epochs,
            use_gae=use_gae,
            use_td_lambda_return=use_td_lambda_return,
            normalize_rewards=normalize_rewards,
            reward_norm_clipping=reward_norm_clipping,
            normalize_observations=normalize_observations,
            log_prob_clipping=log_prob_clipping,
            kl_cutoff_factor=kl_cutoff_factor or 0.0,
            kl_cutoff_coef=kl_cutoff_coef,
            initial_adaptive_kl_beta=initial_adaptive_kl_beta,
            adaptive_kl_target=adaptive_kl_target,
            adaptive_kl_tolerance=adaptive_kl_tolerance,
            gradient_clipping=gradient_clipping,
            value_clipping=value_clipping,
            check_numerics=check_numerics,
            debug_summaries=debug_summaries,
            compute_value_and_advantage_in_train=compute_value_and_advantage_in_train,
            update_normalizers_in_train=update_normalizers_in_train,
            aggregate_losses_across_replicas=aggregate_losses_across_replicas,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            name=name,
            importance_ratio_clipping=0.0,
        )
