"""Greedy policy over several predicted objectives, one network each, scalarized.

TF-Agents' `bandits.policies.greedy_multi_objective_neural_policy`. Each
objective network predicts one objective for every action; the predictions are
stacked to `[batch_size, num_objectives, num_actions]`, the policy's
`Scalarizer` turns each action's objectives into one value, and the policy takes
the best allowed action. Setting the scalarizer's parameters
(`policy.scalarizer.set_parameters(...)`) changes the trade-off per example
without touching the networks.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.multi_objective import multi_objective_scalarizer
from policylib.bandits.networks import heteroscedastic_q_network
from policylib.bandits.policies import constraints
from policylib.bandits.policies.reward_prediction_base_policy import (
    _checked_action_spec,
)
from policylib.networks import network as network_lib
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

Scalarizer = multi_objective_scalarizer.Scalarizer


def scalarize_objectives(
    objectives_tensor: tf.Tensor, scalarizer: Scalarizer
) -> tf.Tensor:
    """`[batch_size, num_objectives, num_actions]` -> `[batch_size, num_actions]`.

    The scalarizer sees one action at a time (`[batch_size, num_objectives]`),
    so per-row scalarization parameters line up with the batch.

    Raises:
      ValueError: `objectives_tensor` is not rank 3, or the scalarizer expects
        another number of objectives.
    """
    objectives_tensor = tf.convert_to_tensor(objectives_tensor)
    rank = objectives_tensor.shape.rank
    if rank != 3:
        raise ValueError(f"The objectives_tensor should be rank-3, but is rank-{rank}")
    per_action = tf.transpose(objectives_tensor, perm=[2, 0, 1])
    scalarized = tf.map_fn(
        scalarizer,
        per_action,
        fn_output_signature=tf.TensorSpec(None, objectives_tensor.dtype),
    )
    return tf.transpose(scalarized)


@gin.configurable
class GreedyMultiObjectiveNeuralPolicy(tf_policy.TFPolicy):
    """Takes the allowed action whose scalarized predicted objectives are largest."""

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedBoundedTensorSpec,
        scalarizer: Scalarizer,
        objective_networks: Sequence[network_lib.Network],
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        emit_policy_info: Sequence[str] = (),
        name: str | None = None,
    ) -> None:
        """Args:
        time_step_spec: the time steps' spec (needed with per-arm features).
        action_spec: one scalar bounded integer spec.
        scalarizer: turns each action's predicted objectives into one value.
        objective_networks: at least two networks, each mapping
          `(observation, step_type, state)` to `[batch_size, num_actions]`
          predictions of one objective (a `HeteroscedasticQNetwork`'s means count).
        observation_and_action_constraint_splitter: `observation -> (network
          input, [batch_size, num_actions] 0/1 mask)`.
        accepts_per_arm_features: the observation holds global and per-arm
          features; the chosen arm's features go to the policy info.
        emit_policy_info: `InfoFields` names to put in the info.
        name: the policy's name.

        Raises:
          NotImplementedError: an action spec other than one scalar bounded int.
          ValueError: fewer than two networks, or per-arm features without a
            `time_step_spec`.
        """
        policy_utilities.check_no_mask_with_arm_features(
            accepts_per_arm_features, observation_and_action_constraint_splitter
        )
        spec = _checked_action_spec(action_spec)
        self._expected_num_actions = int(spec.maximum - spec.minimum + 1)
        self._action_offset = spec.minimum
        self._action_dtype = spec.dtype
        if len(objective_networks) < 2:
            raise ValueError(
                "Number of objectives should be at least two, but found to be "
                f"{len(objective_networks)}"
            )
        for network in objective_networks:
            network.create_variables()
        self._objective_networks = list(objective_networks)
        self._num_objectives = len(self._objective_networks)
        self._scalarizer = scalarizer
        self._emit_policy_info = policy_utilities.checked_info_fields(emit_policy_info)
        self._accepts_per_arm_features = accepts_per_arm_features
        if accepts_per_arm_features and time_step_spec is None:
            raise ValueError(
                "time_step_spec should not be None for per-arm-features policies, "
                "but found to be."
            )
        super().__init__(
            time_step_spec,
            spec,
            policy_state_spec=[n.state_spec for n in self._objective_networks],
            clip=False,
            info_spec=self._make_info_spec(time_step_spec),
            emit_log_probability=(
                policy_utilities.InfoFields.LOG_PROBABILITY in self._emit_policy_info
            ),
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            name=name,
        )

    def _emits(self, field: str) -> bool:
        return field in self._emit_policy_info

    def _make_info_spec(self, time_step_spec: ts.TimeStep | None) -> Any:
        fields = policy_utilities.InfoFields
        num_actions = self._expected_num_actions
        info: dict[str, Any] = {
            "predicted_rewards_mean": (
                tensor_spec.TensorSpec([self._num_objectives, num_actions])
                if self._emits(fields.PREDICTED_REWARDS_MEAN)
                else ()
            ),
            "multiobjective_scalarized_predicted_rewards_mean": (
                tensor_spec.TensorSpec([num_actions])
                if self._emits(fields.MULTIOBJECTIVE_SCALARIZED_PREDICTED_REWARDS_MEAN)
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

    @property
    def scalarizer(self) -> Scalarizer:
        return self._scalarizer

    def _predict(
        self,
        observation: types.NestedTensor,
        step_type: types.Tensor,
        policy_state: types.NestedTensor,
    ) -> tuple[tf.Tensor, list[types.NestedTensor]]:
        """`([batch_size, num_objectives, num_actions] predictions, new states)`.

        Raises:
          ValueError: a network's predictions are not `[batch_size, num_actions]`.
        """
        if not common.safe_has_state(policy_state):
            policy_state = [()] * self._num_objectives
        predictions, states = [], []
        for index, (network, state) in enumerate(
            zip(self._objective_networks, policy_state)
        ):
            output, state = network(observation, step_type, state)
            states.append(copy.deepcopy(state))
            if isinstance(
                network, heteroscedastic_q_network.HeteroscedasticQNetwork
            ) or hasattr(output, "q_value_logits"):
                output = output.q_value_logits  # the means; variances are for training
            if output.shape.rank != 2:
                raise ValueError(
                    f"Prediction from network {index} shoud be a rank-2 tensor "
                    f"[batch_size, num_actions], but has shape {output.shape}"
                )
            width = output.shape[1]
            if width is not None and width != self._expected_num_actions:
                raise ValueError(
                    f"The number of actions ({self._expected_num_actions}) does not "
                    f"match objective network {index} output size ({width})."
                )
            predictions.append(output)
        return tf.stack(predictions, axis=1), states

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation = time_step.observation
        if self._observation_and_action_constraint_splitter is not None:
            observation, _ = self._observation_and_action_constraint_splitter(
                observation
            )
        objectives, policy_state = self._predict(
            observation, time_step.step_type, policy_state
        )
        scalarized = scalarize_objectives(objectives, self._scalarizer)
        mask = constraints.construct_mask_from_multiple_sources(
            time_step.observation,
            self._observation_and_action_constraint_splitter,
            (),
            self._expected_num_actions,
        )
        dtype = self._action_dtype
        if mask is None:
            actions = tf.argmax(scalarized, axis=-1, output_type=dtype)
        else:
            actions = policy_utilities.masked_argmax(scalarized, mask, dtype)
        batch_size = (
            tf.compat.dimension_value(scalarized.shape[0]) or tf.shape(scalarized)[0]
        )
        fields = policy_utilities.InfoFields
        info: dict[str, Any] = {
            "log_probability": (
                tf.zeros([batch_size], tf.float32)
                if self._emits(fields.LOG_PROBABILITY)
                else ()
            ),
            "predicted_rewards_mean": (
                objectives if self._emits(fields.PREDICTED_REWARDS_MEAN) else ()
            ),
            "multiobjective_scalarized_predicted_rewards_mean": (
                scalarized
                if self._emits(fields.MULTIOBJECTIVE_SCALARIZED_PREDICTED_REWARDS_MEAN)
                else ()
            ),
            "bandit_policy_type": (
                tf.fill([batch_size, 1], policy_utilities.BanditPolicyType.GREEDY)
                if self._emits(fields.BANDIT_POLICY_TYPE)
                else ()
            ),
        }
        if self._accepts_per_arm_features:
            info["chosen_arm_features"] = tf.nest.map_structure(
                lambda features: tf.gather(features, actions, batch_dims=1),
                observation[bandit_spec_utils.PER_ARM_FEATURE_KEY],
            )
            policy_info: Any = policy_utilities.PerArmPolicyInfo(**info)
        else:
            policy_info = policy_utilities.PolicyInfo(**info)
        return policy_step.PolicyStep(
            tfp.distributions.Deterministic(loc=actions + self._action_offset),
            policy_state,
            policy_info,
        )
