"""`RewardPredictionBasePolicy`: bandit policies that act on predicted rewards.

A reward network maps an observation to one predicted reward per action
(`[B, num_actions]`; for a `HeteroscedasticQNetwork`, its `q_value_logits`).
The policy masks the actions that are not allowed (the splitter's action
mask, a per-arm `num_actions` feature, a draw from the constraints) and
subclasses turn the predictions into an action distribution
(`_action_distribution`): greedy, Boltzmann, FALCON.

The info holds, on request (`emit_policy_info`), the predicted rewards and
the kind of policy that chose (`bandit_policy_type`); with per-arm features
it always holds the features of the chosen arm, which per-arm agents train
on.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.networks import heteroscedastic_q_network
from policylib.bandits.policies import constraints as constr
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["RewardPredictionBasePolicy"]


def _checked_action_spec(action_spec: types.NestedTensorSpec) -> Any:
    """The single bounded integer action leaf of `action_spec`.

    Raises:
      NotImplementedError: several actions, or one that is not a scalar bounded
        integer spec.
    """
    flat_action_spec = tf.nest.flatten(action_spec)
    if len(flat_action_spec) > 1:
        raise NotImplementedError(
            "action_spec can only contain a single BoundedTensorSpec; got "
            f"{len(flat_action_spec)} specs: {action_spec}."
        )
    spec = flat_action_spec[0]
    if (
        not tensor_spec.is_bounded(spec)
        or not tensor_spec.is_discrete(spec)
        or spec.shape.rank > 1
        or spec.shape.num_elements() != 1
    ):
        raise NotImplementedError(
            "action_spec must be a BoundedTensorSpec of type int32 and shape (). "
            f"Found {spec}."
        )
    return spec


@gin.configurable
class RewardPredictionBasePolicy(tf_policy.TFPolicy, metaclass=abc.ABCMeta):
    """Base of policies that choose actions from a reward network's predictions.

    Subclasses implement `_action_distribution(mask, predicted_rewards)`.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: one bounded integer spec of shape `()`; its range is the
        set of actions (the network predicts one reward per action).
      reward_network: a `Network` mapping observations to `[B, num_actions]`
        predicted rewards (or a `QBanditNetworkResult`); built here.
      observation_and_action_constraint_splitter: splits an observation into
        `(network input, [B, num_actions] 0/1 action mask)`.
      accepts_per_arm_features: observations are per-arm (global and per-arm
        features); the info then holds the chosen arm's features.
      constraints: `BaseConstraint`s; an action is taken only where a draw
        from their feasibility probabilities allows it.
      emit_policy_info: `InfoFields` names to add to the info:
        `predicted_rewards_mean`, `bandit_policy_type`, `log_probability`.
      name: module name.

    Raises:
      NotImplementedError: an action spec other than one bounded integer
        scalar, or an action mask together with per-arm features.
      ValueError: an unknown `emit_policy_info` field.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        reward_network: types.Network,
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        constraints: Iterable[constr.BaseConstraint] = (),
        emit_policy_info: Sequence[str] = (),
        name: str | None = None,
    ):
        policy_utilities.check_no_mask_with_arm_features(
            accepts_per_arm_features, observation_and_action_constraint_splitter
        )
        time_step_spec = tensor_spec.from_spec(time_step_spec)
        action_spec = _checked_action_spec(tensor_spec.from_spec(action_spec))
        emit_policy_info = policy_utilities.checked_info_fields(emit_policy_info)
        self._expected_num_actions = (
            int(action_spec.maximum) - int(action_spec.minimum) + 1
        )
        self._action_offset = int(action_spec.minimum)
        reward_network.create_variables()
        self._reward_network = reward_network
        self._constraints = tuple(constraints)
        self._emit_policy_info = emit_policy_info
        self._accepts_per_arm_features = accepts_per_arm_features
        super().__init__(
            time_step_spec,
            action_spec,
            policy_state_spec=reward_network.state_spec,
            clip=False,
            info_spec=self._make_info_spec(time_step_spec),
            emit_log_probability=(
                policy_utilities.InfoFields.LOG_PROBABILITY in emit_policy_info
            ),
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            name=name,
        )

    def _emits(self, field: str) -> bool:
        return field in self._emit_policy_info

    def _make_info_spec(self, time_step_spec: ts.TimeStep) -> Any:
        fields = policy_utilities.InfoFields
        info = {
            "predicted_rewards_mean": (
                tensor_spec.TensorSpec([self._expected_num_actions], tf.float32)
                if self._emits(fields.PREDICTED_REWARDS_MEAN)
                else ()
            ),
            "bandit_policy_type": (
                policy_utilities.create_bandit_policy_type_tensor_spec(shape=[1])
                if self._emits(fields.BANDIT_POLICY_TYPE)
                else ()
            ),
        }
        return policy_utilities.bandit_info_spec(
            info, time_step_spec, self._accepts_per_arm_features
        )

    @property
    def accepts_per_arm_features(self) -> bool:
        return self._accepts_per_arm_features

    @abc.abstractmethod
    def _action_distribution(
        self, mask: types.Tensor | None, predicted_rewards: types.Tensor
    ) -> tuple[tfp.distributions.Distribution, types.Tensor]:
        """The action distribution for the predicted rewards.

        Args:
          mask: `[B, num_actions]` 0/1 allowed actions, or None (all allowed).
          predicted_rewards: `[B, num_actions]` predictions.

        Returns:
          `(distribution over actions of the action spec, [B, 1] int32
          bandit_policy_type values)`.
        """

    def _maybe_save_chosen_arm_features(
        self,
        time_step: ts.TimeStep,
        action: types.Tensor,
        step: policy_step.PolicyStep,
    ) -> policy_step.PolicyStep:
        """`step` with the features of the chosen arms in its info (per-arm only)."""
        if not self._accepts_per_arm_features:
            return step
        arm_index = action - self._action_offset
        chosen = tf.nest.map_structure(
            lambda features: tf.gather(features, arm_index, batch_dims=1),
            time_step.observation[bandit_spec_utils.PER_ARM_FEATURE_KEY],
        )
        info: Any = step.info
        return step._replace(info=info._replace(chosen_arm_features=chosen))

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        step = super()._action(time_step, policy_state, seed)
        return self._maybe_save_chosen_arm_features(time_step, step.action, step)

    def _predicted_rewards(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        """The network's `[B, num_actions]` predicted rewards and its new state.

        Raises:
          ValueError: predictions of a rank other than 2 (or 3) or with a last
            dim other than the number of actions.
        """
        observation, _ = self._split_observation(time_step.observation)
        predictions, policy_state = self._reward_network(
            observation, step_type=time_step.step_type, network_state=policy_state
        )
        if isinstance(
            self._reward_network, heteroscedastic_q_network.HeteroscedasticQNetwork
        ) or isinstance(predictions, heteroscedastic_q_network.QBanditNetworkResult):
            predictions = predictions.q_value_logits
        rank = predictions.shape.rank
        if rank is not None and not 2 <= rank <= 3:
            raise ValueError(
                f"The reward_network must output [batch_size, num_actions] predicted "
                f"rewards; got shape {predictions.shape}."
            )
        width = predictions.shape[-1]
        if width is not None and width != self._expected_num_actions:
            raise ValueError(
                f"The number of actions ({self._expected_num_actions}) does not match "
                f"the reward_network output size ({width}). The action spec has "
                f"{self._expected_num_actions} actions; the network outputs "
                f"shape {predictions.shape}."
            )
        return predictions, policy_state

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        predicted_rewards, policy_state = self._predicted_rewards(
            time_step, policy_state
        )
        mask = constr.construct_mask_from_multiple_sources(
            time_step.observation,
            self._observation_and_action_constraint_splitter,
            self._constraints,
            self._expected_num_actions,
        )
        distribution, bandit_policy_type = self._action_distribution(
            mask, predicted_rewards
        )
        fields = policy_utilities.InfoFields
        info: dict[str, Any] = {
            "log_probability": (),
            "predicted_rewards_mean": (
                predicted_rewards if self._emits(fields.PREDICTED_REWARDS_MEAN) else ()
            ),
            "bandit_policy_type": (
                bandit_policy_type if self._emits(fields.BANDIT_POLICY_TYPE) else ()
            ),
        }
        if self._accepts_per_arm_features:
            # The action is not drawn yet: zeros stand in for the chosen arm's
            # features, so the info has the structure of the info spec.
            placeholder = tf.nest.map_structure(
                lambda features: tf.zeros_like(features[:, 0, ...]),
                time_step.observation[bandit_spec_utils.PER_ARM_FEATURE_KEY],
            )
            # (Returned from each branch: AutoGraph cannot convert an
            # annotated name assigned in both.)
            per_arm_info = policy_utilities.PerArmPolicyInfo(
                chosen_arm_features=placeholder, **info
            )
            return policy_step.PolicyStep(distribution, policy_state, per_arm_info)
        policy_info = policy_utilities.PolicyInfo(**info)
        return policy_step.PolicyStep(distribution, policy_state, policy_info)
