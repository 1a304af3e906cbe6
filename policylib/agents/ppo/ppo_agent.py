"""`PPOAgent`: proximal policy optimization, with clipping and/or a KL penalty.

    agent = ppo_clip_agent.PPOClipAgent(
        env.time_step_spec(), env.action_spec(),
        optimizer=tf.keras.optimizers.Adam(3e-4),
        actor_net=actor_distribution_network.ActorDistributionNetwork(...),
        value_net=value_network.ValueNetwork(obs_spec),
        importance_ratio_clipping=0.2, use_gae=True, num_epochs=10)
    # collect whole episodes with agent.collect_policy into a buffer, then
    agent.train(buffer.gather_all())      # [B, T] trajectories
    buffer.clear()

`train` takes the batch as collected: it computes value predictions,
returns and advantages (GAE with `use_gae`) from it, then takes `num_epochs`
gradient steps on the policy-gradient loss (importance ratios, clipped with
`importance_ratio_clipping`), the value loss, entropy and L2 terms and the
KL penalty (adaptive `beta` and a cutoff). Rewards and observations are
normalized with running estimates, updated after the epochs. With
`compute_value_and_advantage_in_train=False`, values come from the collect
policy's info and returns/advantages from `preprocess_sequence` (for
`as_dataset(...).map(agent.preprocess_sequence)`). Schulman et al., 2017.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.agents.ppo import ppo_losses, ppo_policy, ppo_returns, ppo_utils
from policylib.agents.ppo.ppo_losses import PPOLossInfo
from policylib.base import nest_utils
from policylib.networks import network
from policylib.policies import greedy_policy, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import (
    common,
    eager_utils,
    keras_compat,
    tensor_normalizer,
)

__all__ = ["PPOAgent", "PPOLossInfo"]


def _normalize_advantages(
    advantages: tf.Tensor,
    axes: Sequence[int] = (0, 1),
    variance_epsilon: float = 1e-8,
) -> tf.Tensor:
    """Advantages standardized over the batch and time axes."""
    mean, variance = tf.nn.moments(advantages, axes=axes, keepdims=True)
    return tf.nn.batch_normalization(
        advantages, mean, variance, None, None, variance_epsilon
    )


class PPOAgent(ppo_returns.PPOReturns):
    """A PPO agent (`PPOClipAgent` and `PPOKLPenaltyAgent` set its options).

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: nest of action specs.
      optimizer: the optimizer of both networks (Keras 2/3 or `tf.compat.v1`).
      actor_net: a `Network` emitting action distributions.
      value_net: a `Network` emitting one value per observation.
      greedy_eval: `policy` takes each distribution's mode.
      importance_ratio_clipping: epsilon of PPO's clipped objective (0: off).
      lambda_value: GAE's lambda.
      discount_factor: discount of future rewards.
      entropy_regularization: weight of the entropy bonus.
      policy_l2_reg, value_function_l2_reg, shared_vars_l2_reg: L2 weights of
        the actor's, the value network's and their shared kernels.
      value_pred_loss_coef: weight of the value loss.
      num_epochs: gradient steps per `train` call.
      use_gae: generalized advantage estimation (else return - value).
      use_td_lambda_return: with GAE, regress values onto advantage + value.
      normalize_rewards: scale rewards by their running standard deviation.
      reward_norm_clipping: clip normalized rewards to this (0: no clip).
      normalize_observations: normalize observations with running estimates.
      log_prob_clipping: clip action log-probabilities to `[-c, c]` (0: off).
      kl_cutoff_factor: the KL cutoff is `factor * adaptive_kl_target`.
      kl_cutoff_coef: weight of the squared KL above the cutoff.
      initial_adaptive_kl_beta: initial weight of the adaptive KL penalty (0: off).
      adaptive_kl_target: the KL the adaptive beta steers to.
      adaptive_kl_tolerance: relative band around the target with no change.
      gradient_clipping: if set, the global norm of all gradients is clipped to
        this (as TF-Agents' PPO does; the other agents clip each tensor).
      value_clipping: clip value predictions to within this of the old ones.
      check_numerics: check the losses for NaN and inf.
      compute_value_and_advantage_in_train: `train` computes values, returns
        and advantages (else `preprocess_sequence` must have).
      update_normalizers_in_train: `train` updates the normalizers.
      aggregate_losses_across_replicas: average losses over the global batch.
      debug_summaries: write debug summaries.
      summarize_grads_and_vars: write gradient and variable summaries.
      train_step_counter: counts gradient steps (`num_epochs` per `train`).
      name: the agent's name scope.

    Raises:
      TypeError: `actor_net` or `value_net` is not a `Network`.
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
        kl_cutoff_factor: types.Float = 2.0,
        kl_cutoff_coef: types.Float = 1000.0,
        initial_adaptive_kl_beta: types.Float = 1.0,
        adaptive_kl_target: types.Float = 0.01,
        adaptive_kl_tolerance: types.Float = 0.3,
        gradient_clipping: types.Float | None = None,
        value_clipping: types.Float | None = None,
        check_numerics: bool = False,
        compute_value_and_advantage_in_train: bool = True,
        update_normalizers_in_train: bool = True,
        aggregate_losses_across_replicas: bool = True,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        if not isinstance(actor_net, network.Network):
            raise TypeError("actor_net must be an instance of a network.Network.")
        if not isinstance(value_net, network.Network):
            raise TypeError("value_net must be an instance of a network.Network.")
        actor_net.create_variables(time_step_spec.observation)
        value_net.create_variables(time_step_spec.observation)
        tf.Module.__init__(self, name=name)
        self._optimizer = optimizer
        self._actor_net = actor_net
        self._value_net = value_net
        self._importance_ratio_clipping = importance_ratio_clipping
        self._lambda = lambda_value
        self._discount_factor = discount_factor
        self._entropy_regularization = entropy_regularization
        self._policy_l2_reg = policy_l2_reg
        self._value_function_l2_reg = value_function_l2_reg
        self._shared_vars_l2_reg = shared_vars_l2_reg
        self._value_pred_loss_coef = value_pred_loss_coef
        self._num_epochs = num_epochs
        self._use_gae = use_gae
        self._use_td_lambda_return = use_td_lambda_return
        self._reward_norm_clipping = reward_norm_clipping
        self._log_prob_clipping = log_prob_clipping
        self._kl_cutoff_factor = kl_cutoff_factor
        self._kl_cutoff_coef = kl_cutoff_coef
        self._adaptive_kl_target = adaptive_kl_target
        self._adaptive_kl_tolerance = adaptive_kl_tolerance
        self._gradient_clipping = gradient_clipping or 0.0
        self._value_clipping = value_clipping or 0.0
        self._check_numerics = check_numerics
        self._compute_value_and_advantage_in_train = (
            compute_value_and_advantage_in_train
        )
        self._aggregate_losses_across_replicas = aggregate_losses_across_replicas
        self.update_normalizers_in_train = update_normalizers_in_train
        self._initial_adaptive_kl_beta = initial_adaptive_kl_beta
        self._adaptive_kl_beta = None
        if initial_adaptive_kl_beta > 0.0:
            self._adaptive_kl_beta = common.create_variable(
                "adaptive_kl_beta", initial_adaptive_kl_beta, dtype=tf.float32
            )
        self._reward_normalizer = None
        if normalize_rewards:
            self._reward_normalizer = tensor_normalizer.StreamingTensorNormalizer(
                tensor_spec.TensorSpec([], tf.float32), scope="normalize_reward"
            )
        self._observation_normalizer: tensor_normalizer.TensorNormalizer | None = None
        if normalize_observations:
            self._observation_normalizer = tensor_normalizer.StreamingTensorNormalizer(
                time_step_spec.observation, scope="normalize_observations"
            )
        ppo_policy_of = functools.partial(
            ppo_policy.PPOPolicy,
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            actor_network=actor_net,
            value_network=value_net,
            observation_normalizer=self._observation_normalizer,
            clip=False,
        )
        policy: tf_policy.TFPolicy = ppo_policy_of(collect=False)
        if greedy_eval:
            policy = greedy_policy.GreedyPolicy(policy)
        collect_policy = ppo_policy_of(
            collect=True,
            compute_value_and_advantage_in_train=compute_value_and_advantage_in_train,
        )
        if isinstance(actor_net, network.DistributionNetwork):
            self._action_distribution_spec = actor_net.output_spec
        else:
            self._action_distribution_spec = actor_net.create_variables(
                time_step_spec.observation
            )
        training_data_spec = None
        if not compute_value_and_advantage_in_train:
            info = dict(collect_policy.trajectory_spec.policy_info)
            info["return"] = tensor_spec.TensorSpec(shape=[], dtype=tf.float32)
            info["advantage"] = tensor_spec.TensorSpec(shape=[], dtype=tf.float32)
            training_data_spec = collect_policy.trajectory_spec.replace(
                policy_info=info
            )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy,
            train_sequence_length=None,
            training_data_spec=training_data_spec,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )
        self._collected_as_transition = data_converter.AsTransition(
            self.collect_data_context, squeeze_time_dim=False
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    @property
    def actor_net(self) -> network.Network:
        return self._actor_net

    def _initialize(self) -> None:
        pass

    # ------------------------------------------------------------------------
    # Training

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None
    ) -> tf_agent.LossInfo:
        optimizer = self._optimizer
        if optimizer is None:
            raise ValueError(
                f"{type(self).__name__}: the optimizer is undefined (None); pass one "
                "to the agent's constructor to train."
            )
        experience = self._as_trajectory(experience)
        if self._compute_value_and_advantage_in_train:
            experience = self._preprocess(experience)
        valid_mask = ppo_utils.make_trajectory_mask(experience)
        masked_weights = valid_mask if weights is None else weights * valid_mask
        old_params = experience.policy_info["dist_params"]
        old_distribution = ppo_utils.distribution_from_spec(
            self._action_distribution_spec,
            old_params,
            legacy_distribution_network=isinstance(
                self._actor_net, network.DistributionNetwork
            ),
        )
        old_log_probs = common.log_probability(
            old_distribution, experience.action, self._action_spec
        )
        if self._debug_summaries:
            flat_actions = tf.nest.flatten(experience.action)
            for i, action in enumerate(flat_actions):
                self._histogram(
                    f"actions_{i}" if len(flat_actions) != 1 else "actions", action
                )
        time_steps = ts.TimeStep(
            step_type=experience.step_type,
            reward=experience.reward,
            discount=experience.discount,
            observation=experience.observation,
        )
        normalized_advantages = _normalize_advantages(
            experience.policy_info["advantage"], variance_epsilon=1e-8
        )
        if self._debug_summaries:
            self._histogram("advantages_normalized", normalized_advantages)
        # Each variable once (the actor and value networks may share layers).
        variables_to_train = sorted(
            {
                id(v): v
                for v in self._actor_net.trainable_variables
                + self._value_net.trainable_variables
            }.values(),
            key=lambda v: v.name,
        )

        def epoch_step(debug: bool) -> tf_agent.LossInfo:
            """One gradient step on the whole batch; its LossInfo."""
            with tf.GradientTape() as tape:
                loss_info = self.get_loss(
                    time_steps,
                    experience.action,
                    old_log_probs,
                    experience.policy_info["return"],
                    normalized_advantages,
                    old_params,
                    masked_weights,
                    self.train_step_counter,
                    debug,
                    old_value_predictions=experience.policy_info["value_prediction"],
                    training=True,
                )
            grads = tape.gradient(loss_info.loss, variables_to_train)
            if self._gradient_clipping > 0:
                grads, _ = tf.clip_by_global_norm(grads, self._gradient_clipping)
            grads_and_vars = list(zip(grads, variables_to_train))
            if self._summarize_grads_and_vars and debug:
                eager_utils.add_gradients_summaries(
                    grads_and_vars, self.train_step_counter
                )
                eager_utils.add_variables_summaries(
                    grads_and_vars, self.train_step_counter
                )
            optimizer.apply_gradients(grads_and_vars)
            self.train_step_counter.assign_add(1)
            return loss_info

        keras_compat.build_optimizer(optimizer, variables_to_train)  # one trace
        loss_info, mean_extra = self._run_epochs(
            epoch_step, normalized_advantages.dtype
        )
        if self._initial_adaptive_kl_beta > 0:
            batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
            kl_divergence = self._kl_divergence(
                time_steps,
                old_params,
                self._collect_policy.distribution(
                    time_steps, self._collect_policy.get_initial_state(batch_size)
                ).action,
            )
            self.update_adaptive_kl_beta(kl_divergence * masked_weights)
        if self.update_normalizers_in_train:
            self.update_observation_normalizer(time_steps.observation)
            self.update_reward_normalizer(experience.reward)
        self._epoch_summaries(mean_extra)
        return tf.nest.map_structure(tf.identity, loss_info)

    def _run_epochs(
        self, epoch_step: Callable[[bool], tf_agent.LossInfo], dtype: tf.DType
    ) -> tuple[tf_agent.LossInfo, PPOLossInfo]:
        """`num_epochs` calls of `epoch_step`: the last LossInfo, the mean extras.

        Inside a `tf.function` without debug summaries the epochs run in one
        `tf.while_loop`: a graph one epoch long instead of `num_epochs` (20
        unrolled PPO epochs took 15 s to trace). When the optimizer may still
        create variables (not a built Keras 3 one) or a subclass's `get_loss`
        may return other extras, epoch 0 is traced on its own before the loop.
        With debug summaries (written for the first and last epoch), or
        eagerly, each epoch is a Python iteration, as in TF-Agents.

        Args:
          epoch_step: one gradient step, `debug` saying whether to summarize.
          dtype: the dtype of the losses (the loop's initial values).
        """
        n = self._num_epochs
        if (
            tf.executing_eagerly()
            or self._debug_summaries
            or self._summarize_grads_and_vars
            or n <= 2
        ):
            infos = []
            for epoch in range(n):
                with tf.name_scope(f"epoch_{epoch}"):
                    debug = self._debug_summaries and epoch in (0, n - 1)
                    infos.append(epoch_step(debug))
            mean = tf.nest.map_structure(
                lambda *xs: tf.add_n(list(xs)) / n, *[i.extra for i in infos]
            )
            return infos[-1], mean
        to_tensors = functools.partial(tf.nest.map_structure, tf.convert_to_tensor)
        known_extras = type(self).get_loss is ppo_losses.PPOLossTerms.get_loss
        if known_extras and keras_compat.optimizer_is_built(self._optimizer):
            zero = tf.zeros([], dtype)
            start = 0
            first = tf_agent.LossInfo(
                zero, PPOLossInfo(*[zero] * len(PPOLossInfo._fields))
            )
            total = first.extra
        else:
            start = 1
            with tf.name_scope("epoch_0"):
                first = to_tensors(epoch_step(False))
            total = first.extra

        def body(epoch, last, total):
            del last
            info = to_tensors(epoch_step(False))
            return epoch + 1, info, tf.nest.map_structure(tf.add, total, info.extra)

        with tf.name_scope("epochs"):
            _, last, total = tf.while_loop(
                lambda epoch, *_: epoch < n,
                body,
                (tf.constant(start), first, total),
                parallel_iterations=1,
            )
        return last, tf.nest.map_structure(lambda t: t / n, total)

    def _epoch_summaries(self, mean_extra: PPOLossInfo) -> None:
        """Each loss term averaged over the epochs, and the learning rate."""
        names = (
            "policy_gradient_loss",
            "value_estimation_loss",
            "l2_regularization_loss",
            "entropy_regularization_loss",
            "kl_penalty_loss",
        )
        averages = {name: getattr(mean_extra, name) for name in names}
        averages["total_abs_loss"] = tf.add_n([tf.abs(v) for v in averages.values()])
        common.summarize_scalar_dict(averages, self.train_step_counter, "Losses/")
        with tf.name_scope("LearningRate/"):
            self._scalar("learning_rate", ppo_utils.get_learning_rate(self._optimizer))
        if self._summarize_grads_and_vars:
            with tf.name_scope("Variables/"):
                for var in (
                    self._actor_net.trainable_variables
                    + self._value_net.trainable_variables
                ):
                    self._histogram(var.name.replace(":", "_"), var)

    def update_observation_normalizer(
        self, batched_observations: types.NestedTensor
    ) -> None:
        """Folds `[B, T]` observations into the observation normalizer."""
        if self._observation_normalizer:
            self._observation_normalizer.update(batched_observations, outer_dims=[0, 1])

    def update_reward_normalizer(self, batched_rewards: types.Tensor) -> None:
        """Folds `[B, T]` rewards into the reward normalizer."""
        if self._reward_normalizer:
            self._reward_normalizer.update(batched_rewards, outer_dims=[0, 1])

    def update_adaptive_kl_beta(
        self, kl_divergence: types.Tensor
    ) -> tf.Variable | tf.Operation:
        """Scales `beta` by 1.5 (KL above the band) or 1/1.5 (below it)."""
        if self._adaptive_kl_beta is None:
            return tf.no_op()
        mean_kl = tf.reduce_mean(kl_divergence)
        target, tolerance = self._adaptive_kl_target, self._adaptive_kl_tolerance
        factor = tf.case(
            [
                (
                    mean_kl < target * (1.0 - tolerance),
                    lambda: tf.constant(1.0 / 1.5, dtype=tf.float32),
                ),
                (
                    mean_kl > target * (1.0 + tolerance),
                    lambda: tf.constant(1.5, dtype=tf.float32),
                ),
            ],
            default=lambda: tf.constant(1.0, dtype=tf.float32),
            exclusive=True,
        )
        self._adaptive_kl_beta.assign(
            tf.clip_by_value(self._adaptive_kl_beta * factor, 10e-16, 10e16)
        )
        if self._debug_summaries:
            self._scalar("adaptive_kl_update_factor", factor)
            self._scalar("mean_kl_divergence", mean_kl)
            self._scalar("adaptive_kl_beta", self._adaptive_kl_beta)
        return self._adaptive_kl_beta
