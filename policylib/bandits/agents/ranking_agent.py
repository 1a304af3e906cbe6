"""Trains a ranking policy's scoring network from slate feedback.

TF-Agents' `bandits.agents.ranking_agent`. The agent's policy (one of
`ranking_policy`'s) ranks `num_items` candidates into `num_slots` slots. Its
training data holds, per example, the features of the items *in the slots, in
slate order* (the caller re-orders the per-arm observation from the action,
e.g. with the trainer's `training_data_spec_transformation_fn`; the action
itself is not read), and the user's feedback:

- `FeedbackModel.CASCADING`: a dict reward `{chosen_index, chosen_value}`. The
  user scanned the slate top-down and clicked slot `chosen_index`
  (`num_slots`: no click): the clicked item's target is `chosen_value`, the
  items above it get `non_click_score`, the items below it are not trained on
  (the user never looked at them).
- `FeedbackModel.SCORE_VECTOR`: a `[num_slots]` reward, one target per slot.

The loss is the error between the network's per-slot scores and these
targets, weighted per slot: slots past `num_actions` weigh 0, and a
positional-bias correction can up-weight lower slots (`base`: `(k+1)^s`,
`exponent`: `s^k` for slot k, after Ovaisi et al., WWW 2020).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import tf_agent
from policylib.bandits.policies import ranking_policy
from policylib.networks import network as network_lib
from policylib.specs import bandit_spec_utils
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import nest_utils

__all__ = [
    "CHOSEN_INDEX",
    "CHOSEN_VALUE",
    "FeedbackModel",
    "RankingAgent",
    "RankingPolicyType",
    "compute_score_tensor_for_cascading",
]


CHOSEN_INDEX = "chosen_index"
CHOSEN_VALUE = "chosen_value"

_BIAS_TYPES = ("base", "exponent")

ErrorLoss = Callable[..., tf.Tensor]


def compute_score_tensor_for_cascading(
    chosen_index: types.Int,
    chosen_value: types.Float,
    num_slots: int,
    non_click_score: float = -1.0,
) -> tf.Tensor:
    """Per-slot targets `[batch_size, num_slots]` for cascading feedback.

    Args:
      chosen_index: `[batch_size]` clicked slot, `num_slots` for no click.
      chosen_value: `[batch_size]` value of the click.
      num_slots: the slate length.
      non_click_score: the target of the slots above the click (skipped).

    Returns:
      `chosen_value` at the clicked slot, `non_click_score` above it, 0 below.
    """
    chosen_index = tf.convert_to_tensor(chosen_index)
    chosen_value = tf.cast(chosen_value, tf.float32)
    above = tf.sequence_mask(chosen_index, maxlen=num_slots, dtype=tf.float32)
    clicked = tf.one_hot(chosen_index, num_slots, dtype=tf.float32)
    return clicked * chosen_value[..., tf.newaxis] + non_click_score * above


class RankingPolicyType(enum.Enum):
    """Which `ranking_policy` class the agent builds."""

    UNKNOWN = 0  # Falls back to COSINE_DISTANCE.
    COSINE_DISTANCE = 1  # PenalizeCosineDistanceRankingPolicy.
    NO_PENALTY = 2  # NoPenaltyRankingPolicy.
    DESCENDING_SCORES = 3  # DescendingScoreRankingPolicy.


class FeedbackModel(enum.Enum):
    """What the reward of a slate is."""

    UNKNOWN = 0  # Falls back to CASCADING.
    CASCADING = 1  # {chosen_index, chosen_value}.
    SCORE_VECTOR = 2  # One score per slot.


def _make_policy(
    policy_type: RankingPolicyType,
    num_items: int,
    num_slots: int,
    time_step_spec: ts.TimeStep,
    network: network_lib.Network,
    penalty_mixture_coefficient: float,
    logits_temperature: float,
) -> ranking_policy.RankingPolicy:
    if policy_type == RankingPolicyType.COSINE_DISTANCE:
        return ranking_policy.PenalizeCosineDistanceRankingPolicy(
            num_items,
            num_slots,
            time_step_spec,
            network,
            penalty_mixture_coefficient=penalty_mixture_coefficient,
            logits_temperature=logits_temperature,
        )
    if policy_type == RankingPolicyType.NO_PENALTY:
        return ranking_policy.NoPenaltyRankingPolicy(
            num_items,
            num_slots,
            time_step_spec,
            network,
            logits_temperature=logits_temperature,
        )
    if policy_type == RankingPolicyType.DESCENDING_SCORES:
        return ranking_policy.DescendingScoreRankingPolicy(
            num_items, num_slots, time_step_spec, network
        )
    raise NotImplementedError(f"Policy type {policy_type} is not implemented")


def _check_reward_spec(
    feedback_model: FeedbackModel, reward_spec: Any, num_slots: int
) -> None:
    """Raises ValueError unless the reward spec fits the feedback model."""
    if feedback_model == FeedbackModel.CASCADING:
        if not isinstance(reward_spec, dict) or set(reward_spec) != {
            CHOSEN_INDEX,
            CHOSEN_VALUE,
        }:
            raise ValueError(
                "The CASCADING feedback model needs a dict reward spec with keys "
                f"{CHOSEN_INDEX!r} (the clicked slot, num_slots for none) and "
                f"{CHOSEN_VALUE!r}; got {reward_spec!r}."
            )
        for key in (CHOSEN_INDEX, CHOSEN_VALUE):
            if reward_spec[key].shape.rank != 0:
                raise ValueError(
                    f"reward spec[{key!r}] must be a scalar per example; got "
                    f"shape {reward_spec[key].shape}."
                )
    else:
        shape = getattr(reward_spec, "shape", None)
        if shape is None or shape.as_list() != [num_slots]:
            raise ValueError(
                "The SCORE_VECTOR feedback model needs a reward spec of shape "
                f"[num_slots={num_slots}]; got {reward_spec!r}."
            )


@gin.configurable
class RankingAgent(tf_agent.TFAgent):
    """Learns item scores from slate feedback; ranks with a `RankingPolicy`."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        scoring_network: network_lib.Network,
        optimizer: types.Optimizer,
        policy_type: RankingPolicyType = RankingPolicyType.COSINE_DISTANCE,
        error_loss_fn: ErrorLoss = tf.compat.v1.losses.mean_squared_error,
        feedback_model: FeedbackModel = FeedbackModel.CASCADING,
        non_click_score: float | None = None,
        positional_bias_type: str | None = None,
        positional_bias_severity: float | None = None,
        positional_bias_positive_only: bool = False,
        logits_temperature: float = 1.0,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        train_step_counter: tf.Variable | None = None,
        penalty_mixture_coefficient: float = 1.0,
        name: str | None = None,
    ) -> None:
        """Args:
        time_step_spec: per-arm observations of `num_items` candidates (global,
          per_arm, optionally num_actions) and the feedback model's reward.
        action_spec: `int32 [num_slots]` item indices.
        scoring_network: maps a per-arm observation to one score per item
          (e.g. `global_and_arm_feature_network`'s networks).
        optimizer: trains the scoring network.
        policy_type: the ranking policy (UNKNOWN: COSINE_DISTANCE).
        error_loss_fn: `tf.compat.v1.losses`-style `(labels, predictions,
          reduction=...)`; per-slot or per-example losses both work.
        feedback_model: the reward's form (UNKNOWN: CASCADING).
        non_click_score: CASCADING only: the target of skipped slots (-1).
        positional_bias_type: None (no correction), 'base' or 'exponent'.
        positional_bias_severity: the bias exponent/base `s`; required with a
          bias type.
        positional_bias_positive_only: correct only the slots with a positive
          target; the others keep their unbiased weight.
        logits_temperature: the policy's sampling temperature (> 0).
        summarize_grads_and_vars, enable_summaries: summaries.
        train_step_counter: incremented by each `train` call.
        penalty_mixture_coefficient: the cosine policy's diversity weight.
        name: the agent's name.

        Raises:
          ValueError: `non_click_score` with SCORE_VECTOR feedback, a reward spec
            that does not fit the feedback model, a bias type without severity,
            or a policy that does not fit the specs.
        """
        tf.Module.__init__(self, name=name)
        observation_spec = time_step_spec.observation
        if not isinstance(observation_spec, dict) or (
            bandit_spec_utils.PER_ARM_FEATURE_KEY not in observation_spec
        ):
            raise ValueError(
                "RankingAgent needs a per-arm observation spec (global, per_arm "
                f"features); got {observation_spec!r}."
            )
        per_arm_spec = observation_spec[bandit_spec_utils.PER_ARM_FEATURE_KEY]
        global_spec = observation_spec[bandit_spec_utils.GLOBAL_FEATURE_KEY]
        self._num_items = int(per_arm_spec.shape[0])
        self._num_slots = int(action_spec.shape[0])
        self._item_feature_dim = int(per_arm_spec.shape[-1])
        self._global_feature_dim = int(global_spec.shape[-1])
        self._use_num_actions = (
            bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY in observation_spec
        )
        scoring_network.create_variables()
        self._scoring_network = scoring_network
        self._optimizer = optimizer
        self._error_loss_fn = error_loss_fn
        if feedback_model == FeedbackModel.UNKNOWN:
            feedback_model = FeedbackModel.CASCADING
        self._feedback_model = feedback_model
        if feedback_model == FeedbackModel.CASCADING:
            self._non_click_score = -1.0 if non_click_score is None else non_click_score
        elif non_click_score is not None:
            raise ValueError(
                "Parameter `non_click_score` should only be used together with the "
                f"CASCADING feedback model; the agent has {feedback_model}."
            )
        _check_reward_spec(feedback_model, time_step_spec.reward, self._num_slots)
        if positional_bias_type is not None and positional_bias_severity is None:
            raise ValueError(
                f"positional_bias_type={positional_bias_type!r} needs a "
                "positional_bias_severity."
            )
        self._positional_bias_type = positional_bias_type
        self._positional_bias_severity = positional_bias_severity
        self._positional_bias_positive_only = positional_bias_positive_only
        if policy_type == RankingPolicyType.UNKNOWN:
            policy_type = RankingPolicyType.COSINE_DISTANCE
        policy = _make_policy(
            policy_type,
            self._num_items,
            self._num_slots,
            time_step_spec,
            scoring_network,
            penalty_mixture_coefficient,
            logits_temperature,
        )
        # Training sees the slotted items only, in slate order, and no action.
        training_observation_spec = bandit_spec_utils.create_per_arm_observation_spec(
            self._global_feature_dim,
            self._item_feature_dim,
            self._num_slots,
            self._use_num_actions,
        )
        training_time_step_spec = ts.time_step_spec(
            training_observation_spec, reward_spec=time_step_spec.reward
        )
        training_data_spec = trajectory.from_transition(
            training_time_step_spec, policy_step.PolicyStep(), training_time_step_spec
        )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            policy=policy,
            collect_policy=policy,
            train_sequence_length=None,
            training_data_spec=training_data_spec,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            train_step_counter=train_step_counter,
        )

    def _initialize(self) -> None:
        # Variables exist from construction on; only TF1 graphs need an op.
        if not tf.executing_eagerly():
            tf.compat.v1.variables_initializer(list(self.variables))

    def _variables_to_train(self) -> list[tf.Variable]:
        return list(self._scoring_network.trainable_variables)

    def _targets(self, reward: Any) -> tf.Tensor:
        """`[batch_size, num_slots]` training targets from the flat reward."""
        if self._feedback_model == FeedbackModel.CASCADING:
            return compute_score_tensor_for_cascading(
                reward[CHOSEN_INDEX],
                reward[CHOSEN_VALUE],
                self._num_slots,
                non_click_score=self._non_click_score,
            )
        return tf.cast(reward, tf.float32)

    def _position_weights(self, like: tf.Tensor) -> tf.Tensor:
        """The positional-bias multiplier per slot, broadcast to `like`'s shape.

        Raises:
          ValueError: an unknown `positional_bias_type`.
        """
        if self._positional_bias_type not in _BIAS_TYPES:
            raise ValueError(
                f"non-existing bias type: {self._positional_bias_type!r}; use one "
                f"of {', '.join(map(repr, _BIAS_TYPES))} or None."
            )
        positions = tf.range(self._num_slots, dtype=tf.float32)
        severity = tf.constant(self._positional_bias_severity, tf.float32)
        if self._positional_bias_type == "base":
            multipliers = tf.pow(positions + 1.0, severity)
        else:
            multipliers = tf.pow(severity, positions)
        return tf.broadcast_to(multipliers, tf.shape(like))

    def _unbiased_weights(
        self,
        reward: Any,
        observation: Any,
        weights: types.Tensor | None,
    ) -> tf.Tensor:
        """`[batch_size, num_slots]` weights before the positional correction."""
        batch_size = tf.shape(tf.nest.flatten(reward)[0])[0]
        ones = tf.ones([batch_size, self._num_slots])
        if weights is None:
            slot_weights = ones
        else:
            weights = tf.cast(weights, tf.float32)
            if weights.shape.rank == 0:
                slot_weights = weights * ones
            else:
                tf.debugging.assert_equal(
                    tf.shape(weights),
                    [batch_size],
                    message="RankingAgent: weights must be a scalar or [batch_size]",
                )
                slot_weights = weights[:, tf.newaxis] * ones
        if self._use_num_actions:
            slotted = observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY]
            slot_weights *= tf.sequence_mask(
                tf.reshape(slotted, [-1]), self._num_slots, dtype=tf.float32
            )
        if self._feedback_model == FeedbackModel.CASCADING:
            # The user looked at the slots down to the click, not below it.
            seen = tf.reshape(reward[CHOSEN_INDEX], [-1]) + 1
            slot_weights *= tf.sequence_mask(seen, self._num_slots, dtype=tf.float32)
        return slot_weights

    def _construct_sample_weights(
        self,
        reward: Any,
        observation: Any,
        weights: types.Tensor | None,
    ) -> tf.Tensor:
        """`[batch_size, num_slots]` training weights, positional bias included.

        Args:
          reward: the flat (one batch dim) reward of the feedback model.
          observation: the flat training observation.
          weights: None, a scalar, or `[batch_size]` example weights.
        """
        slot_weights = self._unbiased_weights(reward, observation, weights)
        if self._positional_bias_type is None:
            return slot_weights
        return slot_weights * self._position_weights(slot_weights)

    def _loss(
        self,
        experience: trajectory.Trajectory,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The weighted mean error of the network's slot scores on `experience`."""
        spec: trajectory.Trajectory = self.training_data_spec  # type: ignore[assignment]
        observation, _ = nest_utils.flatten_multi_batched_nested_tensors(
            experience.observation, spec.observation
        )
        reward, _ = nest_utils.flatten_multi_batched_nested_tensors(
            experience.reward, spec.reward
        )
        targets = self._targets(reward)
        slot_weights = self._unbiased_weights(reward, observation, weights)
        if self._positional_bias_type is not None:
            bias = self._position_weights(slot_weights)
            if self._positional_bias_positive_only:
                bias = tf.where(targets > 0, bias, tf.ones_like(bias))
            slot_weights *= bias
        predicted, _ = self._scoring_network(observation, training=training)
        errors = self._error_loss_fn(
            targets, predicted, reduction=tf.compat.v1.losses.Reduction.NONE
        )
        if errors.shape.rank == 1:
            # A loss over the whole slate (e.g. softmax cross-entropy): one
            # weight per example.
            slot_weights = slot_weights[:, 0]
        loss = tf.math.divide_no_nan(
            tf.reduce_sum(errors * slot_weights), tf.reduce_sum(slot_weights)
        )
        return tf_agent.LossInfo(loss, extra=())

    def _train(
        self, experience: trajectory.Trajectory, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        # No check_numerics here, as in TF-Agents: the targets' scale is the
        # user's (score vectors), and a diverging loss is reported, not raised.
        variables_to_train = self._variables_to_train()
        with tf.GradientTape() as tape:
            loss_info = self._loss(experience, weights=weights, training=True)
        if self.summaries_enabled:
            with tf.name_scope("Losses/"):
                tf.compat.v2.summary.scalar(
                    name="loss", data=loss_info.loss, step=self.train_step_counter
                )
        self._apply_gradients(
            loss_info.loss,
            variables_to_train,
            tape,
            self._optimizer,
            check_numerics=False,
        )
        self.train_step_counter.assign_add(1)
        return loss_info
