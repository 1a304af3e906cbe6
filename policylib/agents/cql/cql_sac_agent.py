"""`CqlSacAgent`: SAC made conservative for offline RL (CQL, Kumar et al., 2020).

Trained on a fixed dataset, a TD-learned critic overrates actions the data
never shows, and the actor steers straight into those errors. CQL(H) adds to
each critic's loss a gap that is small only when the dataset's actions score
as high as any other action:

    cql_alpha * (logsumexp_a' Q(s, a') - Q(s, a_data))

The log-sum-exp over a continuous action space is estimated by importance
sampling: `num_cql_samples` actions from the actor and as many drawn uniformly
from the action bounds, each term corrected by its sampling density.

    agent = cql_sac_agent.CqlSacAgent(
        time_step_spec, action_spec,
        critic_network=critic_net, actor_network=actor_net,
        actor_optimizer=tf.keras.optimizers.Adam(3e-4),
        critic_optimizer=tf.keras.optimizers.Adam(3e-4),
        alpha_optimizer=tf.keras.optimizers.Adam(3e-4),
        cql_alpha=5.0, num_cql_samples=10,
        include_critic_entropy_term=False, use_lagrange_cql_alpha=False)

Options: `use_lagrange_cql_alpha` tunes `cql_alpha` by dual gradient steps on
`log cql_alpha`, so the gap settles near `cql_tau`; `num_bc_steps` first trains
the actor by behavioural cloning (maximizing `log pi(a_data|s)`) for that many
train steps; `bc_debug_mode` trains the critics on the CQL gap alone.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from numbers import Integral, Real
from typing import Any

import gin
import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents import actor_critic, tf_agent
from policylib.agents.sac import sac_agent
from policylib.base import nest_utils
from policylib.networks import network
from policylib.policies import actor_policy, tf_policy
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, summaries

__all__ = ["CqlSacAgent", "CqlSacLossInfo"]


class CqlSacLossInfo(
    collections.namedtuple(
        "CqlSacLossInfo",
        (
            "critic_loss",
            "actor_loss",
            "alpha_loss",
            "cql_loss",
            "cql_alpha",
            "cql_alpha_loss",
        ),
    )
):
    """The `extra` of a CQL-SAC `LossInfo`.

    `critic_loss`, `actor_loss` and `alpha_loss` are SAC's weighted losses
    (the critic's without the CQL term); `cql_loss` is the unweighted CQL gap,
    `cql_alpha` the weight it was given, and `cql_alpha_loss` the Lagrange
    loss of `cql_alpha` (0 when `cql_alpha` is not tuned).
    """


def _is_number(value: Any) -> bool:
    """A Python or NumPy real number (not a tensor, variable or bool)."""
    return isinstance(value, (Real, np.number)) and not isinstance(value, bool)


def _merge_two_outer_dims(tensor: tf.Tensor) -> tf.Tensor:
    """`[B, N, ...]` -> `[B * N, ...]`, keeping the static inner shape."""
    inner = tensor.shape[2:]
    if inner.is_fully_defined():
        return tf.reshape(tensor, [-1] + inner.as_list())
    return tf.reshape(tensor, tf.concat([[-1], tf.shape(tensor)[2:]], axis=0))


def _swap_two_outer_dims(tensor: tf.Tensor) -> tf.Tensor:
    """`[N, B, ...]` -> `[B, N, ...]`."""
    return tf.transpose(tensor, [1, 0] + list(range(2, tensor.shape.rank)))


@gin.configurable
class CqlSacAgent(sac_agent.SacAgent):
    """SAC with the CQL(H) critic regularizer, for learning from logged data.

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: one bounded float action spec (a single leaf: the uniform
        proposals need finite bounds).
      critic_network: `(observation, action) -> Q` (e.g. `CriticNetwork`).
      actor_network: `observation -> action distribution`.
      actor_optimizer, critic_optimizer, alpha_optimizer: as in `SacAgent`.
      cql_alpha: weight of the CQL gap in the critic loss (a float or a
        `tf.Variable` read at every step); with `use_lagrange_cql_alpha`, its
        initial value (then it must be > 0).
      num_cql_samples: actions drawn per state from the actor, and again
        uniformly, to estimate the log-sum-exp of Q.
      include_critic_entropy_term: keep SAC's `- alpha * log pi` in the TD
        target (CQL already favours unseen actions less, so it is often
        dropped).
      use_lagrange_cql_alpha: tune `cql_alpha` so the gap tracks `cql_tau`.
      cql_alpha_learning_rate: Adam learning rate of `log cql_alpha`.
      cql_tau: the gap the Lagrange variant aims for: `cql_alpha` shrinks
        while the gap is below it and grows while it is above.
      random_seed: seeds the action samples and reward noise (None: unseeded).
      reward_noise_variance: standard deviation of Gaussian noise added to the
        rewards of the TD targets (0: none; TF-Agents' name).
      num_bc_steps: train steps during which the actor clones the dataset's
        actions instead of maximizing Q.
      actor_loss_weight, critic_loss_weight, alpha_loss_weight: loss weights.
      actor_policy_ctor: as in `SacAgent`; so are `critic_network_2`,
        `target_critic_network`, `target_critic_network_2`,
        `target_update_tau`, `target_update_period`, `td_errors_loss_fn`,
        `gamma`, `reward_scale_factor`, `initial_log_alpha`,
        `use_log_alpha_in_alpha_loss`, `target_entropy` and `gradient_clipping`.
      log_cql_alpha_clipping: `(min, max)` to clip `log cql_alpha` to (Lagrange
        variant only).
      softmax_temperature: Q-values are multiplied by this inside the
        log-sum-exp (and the result divided by it).
      bc_debug_mode: train the critics on the CQL gap alone (no TD loss), to
        check that the gap can be driven down.
      debug_summaries, summarize_grads_and_vars, train_step_counter, name: as
        in `SacAgent`.

    Raises:
      ValueError: an argument is out of range (e.g. `num_cql_samples < 1`),
        or the action spec has several leaves or no finite bounds.
      NotImplementedError: a discrete action spec.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        critic_network: network.Network,
        actor_network: network.Network,
        actor_optimizer: types.Optimizer,
        critic_optimizer: types.Optimizer,
        alpha_optimizer: types.Optimizer,
        cql_alpha: types.Float | tf.Variable,
        num_cql_samples: int,
        include_critic_entropy_term: bool,
        use_lagrange_cql_alpha: bool,
        cql_alpha_learning_rate: types.Float | tf.Variable = 1e-4,
        cql_tau: types.Float | tf.Variable = 10.0,
        random_seed: int | None = None,
        reward_noise_variance: types.Float | tf.Variable = 0.0,
        num_bc_steps: int = 0,
        actor_loss_weight: types.Float = 1.0,
        critic_loss_weight: types.Float = 0.5,
        alpha_loss_weight: types.Float = 1.0,
        actor_policy_ctor: Callable[..., tf_policy.TFPolicy] = actor_policy.ActorPolicy,
        critic_network_2: network.Network | None = None,
        target_critic_network: network.Network | None = None,
        target_critic_network_2: network.Network | None = None,
        target_update_tau: types.Float = 1.0,
        target_update_period: types.Int = 1,
        td_errors_loss_fn: types.LossFn = tf.math.squared_difference,
        gamma: types.Float = 1.0,
        reward_scale_factor: types.Float = 1.0,
        initial_log_alpha: types.Float = 0.0,
        use_log_alpha_in_alpha_loss: bool = True,
        target_entropy: types.Float | None = None,
        gradient_clipping: types.Float | None = None,
        log_cql_alpha_clipping: tuple[types.Float, types.Float] | None = None,
        softmax_temperature: types.Float = 1.0,
        bc_debug_mode: bool = False,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        name: str | None = None,
    ):
        _check_cql_arguments(
            cql_alpha=cql_alpha,
            num_cql_samples=num_cql_samples,
            use_lagrange_cql_alpha=use_lagrange_cql_alpha,
            reward_noise_variance=reward_noise_variance,
            num_bc_steps=num_bc_steps,
            log_cql_alpha_clipping=log_cql_alpha_clipping,
            softmax_temperature=softmax_temperature,
        )
        super().__init__(
            time_step_spec,
            action_spec,
            critic_network=critic_network,
            actor_network=actor_network,
            actor_optimizer=actor_optimizer,
            critic_optimizer=critic_optimizer,
            alpha_optimizer=alpha_optimizer,
            actor_loss_weight=actor_loss_weight,
            critic_loss_weight=critic_loss_weight,
            alpha_loss_weight=alpha_loss_weight,
            actor_policy_ctor=actor_policy_ctor,
            critic_network_2=critic_network_2,
            target_critic_network=target_critic_network,
            target_critic_network_2=target_critic_network_2,
            target_update_tau=target_update_tau,
            target_update_period=target_update_period,
            td_errors_loss_fn=td_errors_loss_fn,
            gamma=gamma,
            reward_scale_factor=reward_scale_factor,
            initial_log_alpha=initial_log_alpha,
            use_log_alpha_in_alpha_loss=use_log_alpha_in_alpha_loss,
            target_entropy=target_entropy,
            gradient_clipping=gradient_clipping,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
            name=name,
        )
        self._use_lagrange_cql_alpha = use_lagrange_cql_alpha
        self._cql_tau = cql_tau
        if use_lagrange_cql_alpha:
            self._log_cql_alpha = tf.Variable(
                tf.math.log(tf.cast(cql_alpha, tf.float32)),
                trainable=True,
                name="log_cql_alpha",
            )
            self._cql_alpha_optimizer = keras_compat.legacy_optimizer(
                tf.keras.optimizers.Adam(learning_rate=cql_alpha_learning_rate)
            )
        else:
            self._cql_alpha = cql_alpha
        self._num_cql_samples = int(num_cql_samples)
        self._include_critic_entropy_term = include_critic_entropy_term
        # Two independent streams (the salts are TF-Agents', so that a seed
        # draws the same actions and noise there and here).
        self._action_seed_stream = tfp.util.SeedStream(
            seed=random_seed, salt="random_actions"
        )
        self._reward_seed_stream = tfp.util.SeedStream(
            seed=random_seed, salt="random_reward_noise"
        )
        self._reward_noise_variance = reward_noise_variance
        self._num_bc_steps = int(num_bc_steps)
        self._log_cql_alpha_clipping = log_cql_alpha_clipping
        self._softmax_temperature = softmax_temperature
        self._bc_debug_mode = bc_debug_mode

    def _check_action_spec(self, action_spec: types.NestedTensorSpec) -> None:
        super()._check_action_spec(action_spec)
        leaves = tf.nest.flatten(action_spec)
        if len(leaves) != 1:
            raise ValueError(
                "CqlSacAgent supports a single action spec only (its uniform "
                f"proposals span one box), but the action spec is: {action_spec}"
            )
        spec = leaves[0]
        bounds = [getattr(spec, "minimum", None), getattr(spec, "maximum", None)]
        if any(b is None or not np.all(np.isfinite(b)) for b in bounds):
            raise ValueError(
                "CqlSacAgent draws uniform actions between the action spec's "
                f"bounds, which must be finite; the action spec is {spec}."
            )

    # ------------------------------------------------------------------------
    # Training

    def _critic_and_actor_losses(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None,
        training: bool,
        minimize: bool,
    ) -> tf_agent.LossInfo:
        """SAC's three losses (the critic's plus `cql_alpha` times the CQL gap)
        and, for the Lagrange variant, `cql_alpha`'s; with `minimize`, each
        followed by its optimizer step, then the step count and target update."""
        time_steps, policy_steps, next_time_steps = self._as_transition(experience)
        actions = policy_steps.action
        # What the critic step computes besides its loss, for the later steps.
        parts: dict[str, tf.Tensor] = {}

        def critic() -> tf.Tensor:
            td_loss = self._critic_loss_weight * self.critic_loss(
                time_steps,
                actions,
                next_time_steps,
                td_errors_loss_fn=self._td_errors_loss_fn,
                gamma=self._gamma,
                reward_scale_factor=self._reward_scale_factor,
                weights=weights,
                training=training,
            )
            cql_alpha = self._get_cql_alpha()
            cql_loss = self._cql_loss(time_steps, actions, training=training)
            tf.debugging.check_numerics(td_loss, "Critic loss is inf or nan.")
            tf.debugging.check_numerics(cql_loss, "CQL loss is inf or nan.")
            parts.update(td_loss=td_loss, cql_alpha=cql_alpha, cql_loss=cql_loss)
            penalty = cql_alpha * cql_loss
            return penalty if self._bc_debug_mode else td_loss + penalty

        def actor() -> tf.Tensor:
            return self._actor_loss_weight * self.actor_loss(
                time_steps, actions, weights=weights, training=training
            )

        def alpha() -> tf.Tensor:
            return self._alpha_loss_weight * self.alpha_loss(
                time_steps, weights=weights, training=training
            )

        def cql_alpha() -> tf.Tensor:
            # Gradient ascent on log cql_alpha of cql_alpha * (gap - tau).
            gap = tf.stop_gradient(parts["cql_loss"])
            return -self._get_cql_alpha() * (gap - self._cql_tau)

        steps: list[sac_agent._LossStep] = [
            (
                "critic",
                critic,
                [v for net in self._critics() for v in net.trainable_variables],
                self._critic_optimizer,
            ),
            (
                "actor",
                actor,
                self._actor_network.trainable_variables,
                self._actor_optimizer,
            ),
            ("alpha", alpha, [self._log_alpha], self._alpha_optimizer),
        ]
        if self._use_lagrange_cql_alpha:
            steps.append(
                (
                    "cql_alpha",
                    cql_alpha,
                    [self._log_cql_alpha],
                    self._cql_alpha_optimizer,
                )
            )
        losses = self._run_loss_steps(steps, minimize)
        cql_alpha_loss = losses.get("cql_alpha")
        step = self.train_step_counter
        common.summarize_scalar_dict(
            {
                "critic_loss": parts["td_loss"],
                "actor_loss": losses["actor"],
                "alpha_loss": losses["alpha"],
                "cql_loss": parts["cql_loss"],
                "cql_alpha_loss": cql_alpha_loss,
            },
            step,
            name_scope="Losses",
        )
        summaries.scalar(name="cql_alpha", data=parts["cql_alpha"], step=step)
        summaries.scalar(name="sac_alpha", data=tf.exp(self._log_alpha), step=step)
        if minimize:
            self.train_step_counter.assign_add(1)
            self._update_target()
        return tf_agent.LossInfo(
            loss=losses["critic"] + losses["actor"] + losses["alpha"],
            extra=CqlSacLossInfo(
                critic_loss=parts["td_loss"],
                actor_loss=losses["actor"],
                alpha_loss=losses["alpha"],
                cql_loss=parts["cql_loss"],
                cql_alpha=parts["cql_alpha"],
                cql_alpha_loss=(
                    tf.constant(0.0) if cql_alpha_loss is None else cql_alpha_loss
                ),
            ),
        )

    def _get_cql_alpha(self) -> tf.Tensor:
        """The CQL weight now: `exp(clipped log cql_alpha)` when tuned, else
        `cql_alpha` (read afresh when it is a variable)."""
        if not self._use_lagrange_cql_alpha:
            return tf.cast(self._cql_alpha, tf.float32)
        log_cql_alpha = tf.convert_to_tensor(self._log_cql_alpha)
        if self._log_cql_alpha_clipping is not None:
            low, high = self._log_cql_alpha_clipping
            log_cql_alpha = tf.clip_by_value(log_cql_alpha, low, high)
        return tf.exp(log_cql_alpha)

    # ------------------------------------------------------------------------
    # Sampling

    def _sample_actions(
        self, distribution: types.NestedDistribution
    ) -> types.NestedTensor:
        """One seeded action from each leaf (seeds from the action stream)."""
        return tf.nest.map_structure(
            lambda d: d.sample(seed=self._action_seed_stream()), distribution
        )

    def _policy_action_samples(
        self, time_steps: ts.TimeStep, num_samples: int
    ) -> tuple[types.NestedTensor, tf.Tensor]:
        """`num_samples` actions per state from the (non-training) policy and
        their log-probabilities, as `[B, num_samples, ...]`."""
        distribution = self._action_distribution(time_steps, training=False)
        actions = tf.nest.map_structure(
            lambda d: d.sample(num_samples, seed=self._action_seed_stream()),
            distribution,
        )
        log_probs = common.log_probability(distribution, actions, self.action_spec)
        return (
            tf.nest.map_structure(_swap_two_outer_dims, actions),
            _swap_two_outer_dims(log_probs),
        )

    def _uniform_actions(
        self, shape: tf.Tensor
    ) -> tuple[types.NestedTensor, tf.Tensor]:
        """Actions of `shape` drawn uniformly between the action bounds (in the
        action spec's structure), and the log of that uniform density."""
        spec = tf.nest.flatten(self.action_spec)[0]
        low = np.asarray(spec.minimum, spec.dtype.as_numpy_dtype)
        high = np.asarray(spec.maximum, spec.dtype.as_numpy_dtype)
        actions = tf.random.uniform(
            shape,
            minval=low,
            maxval=high,
            dtype=spec.dtype,
            seed=self._action_seed_stream(),
        )
        # The density is 1 / volume of the box: sum -log(width) over every
        # action element.
        widths = tf.broadcast_to(tf.constant(high - low, spec.dtype), spec.shape)
        return (
            tf.nest.pack_sequence_as(self.action_spec, [actions]),
            -tf.reduce_sum(tf.math.log(widths)),
        )

    # ------------------------------------------------------------------------
    # Losses

    def _td_targets(
        self,
        next_time_steps: ts.TimeStep,
        target_q_values: tf.Tensor,
        next_log_pis: tf.Tensor,
        gamma: types.Float,
        reward_scale_factor: types.Float,
    ) -> tf.Tensor:
        """SAC's targets, with the entropy term only if
        `include_critic_entropy_term`, and noisy rewards if asked."""
        values = target_q_values
        if self._include_critic_entropy_term:
            values = values - tf.exp(self._log_alpha) * next_log_pis
        noisy = next_time_steps._replace(
            reward=self._add_reward_noise(next_time_steps.reward)
        )
        return actor_critic.td_targets(noisy, values, gamma, reward_scale_factor)

    def _add_reward_noise(self, reward: tf.Tensor) -> tf.Tensor:
        """`reward` plus `N(0, reward_noise_variance)` noise, if that is > 0."""
        scale = self._reward_noise_variance

        def noisy() -> tf.Tensor:
            return reward + tf.random.normal(
                tf.shape(reward),
                0.0,
                tf.cast(scale, reward.dtype),
                dtype=reward.dtype,
                seed=self._reward_seed_stream(),
            )

        if _is_number(scale):
            return noisy() if scale > 0 else reward
        return tf.cond(scale > 0, noisy, lambda: tf.identity(reward))

    # The TD part of CQL's critic loss, under TF-Agents' name.
    def _critic_loss_with_optional_entropy_term(
        self, *args: Any, **kwargs: Any
    ) -> tf.Tensor:
        """`critic_loss`: the critics' TD loss without the CQL term (the
        entropy term in the target only if `include_critic_entropy_term`)."""
        return self.critic_loss(*args, **kwargs)

    def _cql_loss(
        self,
        time_steps: ts.TimeStep,
        actions: types.Tensor,
        training: bool = False,
    ) -> tf.Tensor:
        """The CQL(H) gap `logsumexp_a' Q(s, a') - Q(s, a)`, averaged over the
        batch and both critics (unweighted by `cql_alpha`).

        The log-sum-exp over actions is estimated from `num_cql_samples`
        actor samples and as many uniform ones, each term `T * Q - log p`
        (`p` the density it was drawn from, `T` the softmax temperature),
        then divided by `T`. Only the critics get gradients.

        Args:
          time_steps: `[B]` (or `[B, T]` for RNNs) time steps.
          actions: the dataset's actions in them.
          training: passed to the critics for the dataset actions' Q.
        """
        with tf.name_scope("cql_loss"):
            num_samples = self._num_cql_samples
            temperature = self._softmax_temperature
            batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
            # Each state repeated num_samples times in a row, as the samples are.
            observation = nest_utils.tile_batch(time_steps.observation, num_samples)
            step_type = nest_utils.tile_batch(time_steps.step_type, num_samples)

            def per_state_q(proposals: types.NestedTensor) -> list[tf.Tensor]:
                """Both critics at `[B * N, ...]` proposals, as `[B, N, ..., 1]`."""
                q_values = actor_critic.q_values_of(
                    self._critics(), (observation, proposals), step_type, training=False
                )
                return [self._group_samples(q, batch_size) for q in q_values]

            policy_actions, policy_log_probs = self._policy_action_samples(
                time_steps, num_samples
            )
            policy_actions = tf.nest.map_structure(
                _merge_two_outer_dims, policy_actions
            )
            q_policy = per_state_q(policy_actions)
            uniform_actions, uniform_log_prob = self._uniform_actions(
                tf.shape(tf.nest.flatten(policy_actions)[0])
            )
            q_uniform = per_state_q(uniform_actions)
            q_data = [
                q[..., None]
                for q in actor_critic.q_values_of(
                    self._critics(),
                    (time_steps.observation, actions),
                    time_steps.step_type,
                    training=training,
                )
            ]
            gaps = []
            for on_policy, uniform, data in zip(q_policy, q_uniform, q_data):
                weighted = tf.concat(
                    [
                        temperature * on_policy - policy_log_probs[..., None],
                        temperature * uniform - uniform_log_prob,
                    ],
                    axis=1,
                )
                log_sum_exp = tf.reduce_logsumexp(weighted, axis=1) / temperature
                gaps.append(log_sum_exp - data)
            cql_loss = tf.reduce_mean(gaps[0] + gaps[1]) / 2.0
            if self._debug_summaries:
                step = self.train_step_counter
                for label, pair in (
                    ("q_estimates", q_policy),
                    ("q_uniform", q_uniform),
                    ("q_original", q_data),
                ):
                    for i, q in enumerate(pair, start=1):
                        summaries.scalar(
                            name=f"{label}{i}", data=tf.reduce_mean(q), step=step
                        )
            return cql_loss

    def _group_samples(self, q_values: tf.Tensor, batch_size: types.Int) -> tf.Tensor:
        """`[B * N, ...]` Q-values -> `[B, N, ..., 1]` (N = `num_cql_samples`)."""
        shape = tf.concat(
            [[batch_size, self._num_cql_samples], tf.shape(q_values)[1:]], axis=0
        )
        return tf.reshape(q_values, shape)[..., None]

    def actor_loss(  # type: ignore[override]
        self,
        time_steps: ts.TimeStep,
        actions: types.Tensor | None = None,
        weights: types.Tensor | None = None,
        training: bool | None = True,
    ) -> tf.Tensor:
        """SAC's actor loss; for the first `num_bc_steps` train steps the
        critics' `min Q(s, a~pi)` is replaced by `log pi(actions|s)`, so the
        actor clones the dataset.

        Args:
          time_steps: `[B]` (or `[B, T]`) time steps.
          actions: the dataset's actions (needed when `num_bc_steps > 0`).
          weights: optional `[B]` or scalar weights of the per-example losses.
          training: passed to the actor.

        Raises:
          ValueError: `num_bc_steps > 0` and no `actions`.
        """
        with tf.name_scope("actor_loss"):
            nest_utils.assert_same_structure(time_steps, self.time_step_spec)
            if self._num_bc_steps > 0 and actions is None:
                raise ValueError(
                    "CqlSacAgent.actor_loss needs the dataset's `actions` while "
                    f"num_bc_steps={self._num_bc_steps} > 0 (behavioural cloning)."
                )
            training = bool(training)

            def value_of(sampled_actions: types.NestedTensor) -> tf.Tensor:
                def q_value() -> tf.Tensor:
                    return self._min_q_values(time_steps, sampled_actions)

                if self._num_bc_steps <= 0:
                    return q_value()
                return tf.cond(
                    self.train_step_counter < self._num_bc_steps,
                    lambda: self._dataset_log_probs(time_steps, actions, training),
                    q_value,
                )

            return self._entropy_regularized_actor_loss(
                time_steps, weights, training, value_of
            )

    def _dataset_log_probs(
        self, time_steps: ts.TimeStep, actions: types.Tensor, training: bool
    ) -> tf.Tensor:
        """`log pi(actions|s)` under the actor network's distribution."""
        batch_size = nest_utils.get_outer_shape(time_steps, self._time_step_spec)[0]
        distribution, _ = self._actor_network(
            time_steps.observation,
            step_type=time_steps.step_type,
            network_state=self._actor_network.get_initial_state(batch_size),
            training=training,
        )
        return common.log_probability(distribution, actions, self.action_spec)


def _check_cql_arguments(
    cql_alpha: Any,
    num_cql_samples: Any,
    use_lagrange_cql_alpha: bool,
    reward_noise_variance: Any,
    num_bc_steps: Any,
    log_cql_alpha_clipping: Any,
    softmax_temperature: Any,
) -> None:
    """Rejects out-of-range CQL arguments (numbers only: tensors and
    variables are taken as given).

    Raises:
      ValueError: naming the argument and what it must be.
    """

    def fail(message: str) -> None:
        raise ValueError(f"CqlSacAgent: {message}")

    if not isinstance(num_cql_samples, Integral) or isinstance(num_cql_samples, bool):
        fail(
            "num_cql_samples must be a positive integer (actions drawn per state "
            f"from the actor and from the uniform box), got {num_cql_samples!r}."
        )
    if num_cql_samples < 1:
        fail(f"num_cql_samples must be >= 1, got {num_cql_samples}.")
    if not isinstance(num_bc_steps, Integral) or num_bc_steps < 0:
        fail(f"num_bc_steps must be an integer >= 0, got {num_bc_steps!r}.")
    if _is_number(cql_alpha):
        if use_lagrange_cql_alpha and not cql_alpha > 0:
            fail(
                "with use_lagrange_cql_alpha, cql_alpha (the initial value of "
                f"exp(log_cql_alpha)) must be > 0, got {cql_alpha}."
            )
        if cql_alpha < 0:
            fail(f"cql_alpha must be >= 0, got {cql_alpha}.")
    if _is_number(reward_noise_variance) and reward_noise_variance < 0:
        fail(f"reward_noise_variance must be >= 0, got {reward_noise_variance}.")
    if _is_number(softmax_temperature) and not softmax_temperature > 0:
        fail(f"softmax_temperature must be > 0, got {softmax_temperature}.")
    if log_cql_alpha_clipping is not None:
        try:
            low, high = log_cql_alpha_clipping
        except (TypeError, ValueError):
            low = high = None
        if low is None or (_is_number(low) and _is_number(high) and low > high):
            fail(
                "log_cql_alpha_clipping must be a (min, max) pair with min <= max, "
                f"got {log_cql_alpha_clipping!r}."
            )
