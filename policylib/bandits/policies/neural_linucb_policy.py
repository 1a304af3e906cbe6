"""`NeuralLinUCBPolicy`: LinUCB on the features of an encoding network.

An encoding network maps each context to an `encoding_dim` vector `x`. Two
ways to act on it, switched by `actions_from_reward_layer` (a boolean tensor
or variable, read at every call):

- reward layer: a linear `reward_layer` on `x` predicts each arm's reward;
  the policy acts epsilon-greedily on the predictions (used while the
  encoder is still being trained);
- LinUCB: each arm `k` keeps a covariance `A_k` and data vector `b_k` of
  encodings; its score is `b_k^T (A_k + I)^-1 x + alpha * sqrt(x^T (A_k +
  I)^-1 x)`, the mean estimate plus an upper-confidence bonus; the highest
  score wins.

With per-arm features, every arm has its own encoding and one shared model
(`A`, `b`, a one-unit reward layer) scores them all. Riquelme, Tucker and
Snoek, "Deep Bayesian Bandits Showdown", ICLR 2018.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.policies import constraints, linalg
from policylib.networks import network
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["NeuralLinUCBPolicy"]

# (chosen actions, mean reward estimates, optimistic estimates, log-probabilities)
_Choice = tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]


def _check_list(value: Any, name: str, what: str) -> None:
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"{name} must be a list of {what} (one per model); got "
            f"{type(value).__name__}."
        )


class NeuralLinUCBPolicy(tf_policy.TFPolicy):
    """Acts greedily on a reward layer or by LinUCB on an encoding network's output.

    Args:
      encoding_network: a `Network` mapping observations to `[B, encoding_dim]`
        encodings (`[B, num_actions, encoding_dim]` with per-arm features).
      encoding_dim: the size of an encoding.
      reward_layer: a Keras `Dense` layer on encodings predicting one reward
        per arm (one unit with per-arm features).
      epsilon_greedy: probability of a uniformly random (allowed) action when
        acting on the reward layer.
      actions_from_reward_layer: bool (tensor or variable): act on the reward
        layer (True) or by LinUCB (False).
      cov_matrix: the `[encoding_dim, encoding_dim]` matrices `A`, one per arm
        (a single one with per-arm features).
      data_vector: the `[encoding_dim]` vectors `b`, one per `A`.
      num_samples: sample counts, one per `A` (kept with the policy's
        variables; not used to act).
      time_step_spec: the `TimeStep` spec.
      alpha: weight of the confidence bonus.
      emit_policy_info: names of `policy_utilities.InfoFields` to emit:
        `predicted_rewards_mean`, `predicted_rewards_optimistic`.
      emit_log_probability: put the log-probability of each action in the
        info (0 for LinUCB, which is deterministic).
      accepts_per_arm_features: observations hold per-arm features.
      distributed_use_reward_layer: under a distribution strategy (where no
        `tf.cond` on a variable is used), act on the reward layer if True.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)`; masked actions are never chosen. Not with
        per-arm features.
      name: module name.

    Raises:
      ValueError: the lists are not lists or differ in length, their
        dimensions differ from `encoding_dim`, or a per-arm reward layer has
        more than one unit.
      NotImplementedError: a mask splitter with per-arm features.
    """

    def __init__(
        self,
        encoding_network: network.Network,
        encoding_dim: int,
        reward_layer: Any,
        epsilon_greedy: float,
        actions_from_reward_layer: types.Bool,
        cov_matrix: Sequence[types.Float],
        data_vector: Sequence[types.Float],
        num_samples: Sequence[types.Int],
        time_step_spec: ts.TimeStep,
        alpha: float = 1.0,
        emit_policy_info: Sequence[str] = (),
        emit_log_probability: bool = False,
        accepts_per_arm_features: bool = False,
        distributed_use_reward_layer: bool = False,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        name: str | None = None,
    ):
        policy_utilities.check_no_mask_with_arm_features(
            accepts_per_arm_features, observation_and_action_constraint_splitter
        )
        if accepts_per_arm_features and reward_layer.units != 1:
            raise ValueError(
                "With per-arm features the output dimension of the reward layer must "
                f"be 1, got {reward_layer.units}."
            )
        _check_list(cov_matrix, "cov_matrix", "matrices (Tensors)")
        _check_list(data_vector, "data_vector", "vectors (Tensors)")
        _check_list(num_samples, "num_samples", "counts (Tensors)")
        if len(cov_matrix) != len(data_vector):
            raise ValueError(
                "The size of list cov_matrix must match the size of list data_vector. "
                f"Got {len(cov_matrix)} for cov_matrix and {len(data_vector)} for "
                "data_vector."
            )
        if len(num_samples) != len(cov_matrix):
            raise ValueError(
                "The size of num_samples must match the size of list cov_matrix. Got "
                f"{len(num_samples)} for num_samples and {len(cov_matrix)} for "
                "cov_matrix."
            )
        if accepts_per_arm_features and len(cov_matrix) != 1:
            raise ValueError(
                "With per-arm features there is one shared model: cov_matrix must "
                f"have one element, got {len(cov_matrix)}."
            )
        first_cov: Any = cov_matrix[0]
        first_data: Any = data_vector[0]
        cov_dim = tf.compat.dimension_value(first_cov.shape[0])
        if cov_dim != encoding_dim:
            raise ValueError(
                "The dimension of matrix `cov_matrix` must match encoding dimension "
                f"{encoding_dim}. Got {cov_dim} for `cov_matrix`."
            )
        data_dim = tf.compat.dimension_value(first_data.shape[0])
        if data_dim != encoding_dim:
            raise ValueError(
                "The dimension of vector `data_vector` must match encoding dimension "
                f"{encoding_dim}. Got {data_dim} for `data_vector`."
            )

        encoding_network.create_variables()
        if not reward_layer.built:
            # Built now, not inside the tf.cond of the first call.
            reward_layer.build(tf.TensorShape([None, encoding_dim]))
        self._encoding_network = encoding_network
        self._reward_layer = reward_layer
        self._encoding_dim = int(encoding_dim)
        self._epsilon_greedy = epsilon_greedy
        self._actions_from_reward_layer = actions_from_reward_layer
        self._cov_matrix = list(cov_matrix)
        self._data_vector = list(data_vector)
        self._num_samples = list(num_samples)
        self._alpha = alpha
        self._dtype = tf.as_dtype(first_data.dtype)
        self._accepts_per_arm_features = accepts_per_arm_features
        self._distributed_use_reward_layer = distributed_use_reward_layer
        self._emit_policy_info = policy_utilities.checked_info_fields(emit_policy_info)

        context_spec: Any
        if observation_and_action_constraint_splitter is not None:
            context_spec, _ = observation_and_action_constraint_splitter(
                time_step_spec.observation
            )
        else:
            context_spec = time_step_spec.observation
        if accepts_per_arm_features:
            arm_spec = tf.nest.flatten(
                context_spec[bandit_spec_utils.PER_ARM_FEATURE_KEY]
            )[0]
            self._num_actions = int(arm_spec.shape[0])
        else:
            self._num_actions = len(cov_matrix)

        action_spec = tensor_spec.BoundedTensorSpec(
            shape=(),
            dtype=tf.int32,
            minimum=0,
            maximum=self._num_actions - 1,
            name="action",
        )
        per_arm = tensor_spec.TensorSpec([self._num_actions], dtype=tf.float32)
        fields = policy_utilities.InfoFields
        reward_fields = {
            "predicted_rewards_mean": per_arm
            if fields.PREDICTED_REWARDS_MEAN in self._emit_policy_info
            else (),
            "predicted_rewards_optimistic": per_arm
            if fields.PREDICTED_REWARDS_OPTIMISTIC in self._emit_policy_info
            else (),
        }
        info_spec: policy_utilities.PolicyInfo | policy_utilities.PerArmPolicyInfo
        if accepts_per_arm_features:
            info_spec = policy_utilities.PerArmPolicyInfo(
                chosen_arm_features=policy_utilities.create_chosen_arm_features_info_spec(
                    time_step_spec.observation
                ),
                **reward_fields,
            )
        else:
            info_spec = policy_utilities.PolicyInfo(**reward_fields)
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            info_spec=info_spec,
            emit_log_probability=emit_log_probability,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
            name=name,
        )

    # ------------------------------------------------------------------------
    # The two ways to act

    def _act_on_reward_layer(
        self, encoding: tf.Tensor, mask: tf.Tensor | None, seed: types.Seed
    ) -> _Choice:
        """Epsilon-greedy on the reward layer's predictions."""
        predicted = tf.reshape(
            tf.cast(self._reward_layer(encoding), tf.float32), [-1, self._num_actions]
        )
        if mask is None:
            greedy = tf.argmax(predicted, axis=-1, output_type=tf.int32)
        else:
            greedy = policy_utilities.masked_argmax(
                predicted, mask, output_type=tf.int32
            )
        if not self._epsilon_greedy:
            return greedy, predicted, predicted, tf.zeros_like(predicted[:, 0])

        seeds = tfp.util.SeedStream(seed, salt="neural_linucb_epsilon_greedy")
        batch_size = tf.shape(predicted)[0]
        # A random action: the argmax of uniform noise over the allowed ones.
        noise = tf.random.uniform([batch_size, self._num_actions], seed=seeds())
        if mask is None:
            allowed = tf.ones_like(noise)
            random = tf.argmax(noise, axis=-1, output_type=tf.int32)
        else:
            allowed = tf.cast(mask, tf.float32)
            random = policy_utilities.masked_argmax(noise, mask, output_type=tf.int32)
        explore = tf.random.uniform([batch_size], seed=seeds()) <= self._epsilon_greedy
        actions = tf.where(explore, random, greedy)
        epsilon = tf.cast(self._epsilon_greedy, tf.float32)
        probability = epsilon / tf.reduce_sum(allowed, axis=-1) + tf.where(
            tf.equal(actions, greedy), 1.0 - epsilon, 0.0
        )
        return actions, predicted, predicted, tf.math.log(probability)

    def _act_by_linucb(self, encoding: tf.Tensor, mask: tf.Tensor | None) -> _Choice:
        """Argmax of the upper confidence bounds `mean + alpha * width`."""
        encoding = tf.cast(encoding, self._dtype)
        identity = tf.eye(self._encoding_dim, dtype=self._dtype)

        def bounds(model: int, x: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            # x: [n, encoding_dim] -> the mean estimates and widths, both [n].
            solved = linalg.conjugate_gradient(
                self._cov_matrix[model] + identity, tf.transpose(x)
            )
            mean = tf.linalg.matvec(solved, self._data_vector[model], transpose_a=True)
            variance = tf.maximum(tf.reduce_sum(tf.transpose(x) * solved, axis=0), 0.0)
            return mean, tf.sqrt(variance)

        if self._accepts_per_arm_features:
            # One shared model: all (context, arm) encodings in one solve.
            mean, width = bounds(0, tf.reshape(encoding, [-1, self._encoding_dim]))
            mean = tf.reshape(mean, [-1, self._num_actions])
            width = tf.reshape(width, [-1, self._num_actions])
        else:
            per_arm = [bounds(k, encoding) for k in range(self._num_actions)]
            mean = tf.stack([m for m, _ in per_arm], axis=-1)
            width = tf.stack([w for _, w in per_arm], axis=-1)
        optimistic = mean + tf.cast(self._alpha, self._dtype) * width
        if mask is None:
            actions = tf.argmax(optimistic, axis=-1, output_type=tf.int32)
        else:
            actions = policy_utilities.masked_argmax(
                optimistic, mask, output_type=tf.int32
            )
        return (
            actions,
            tf.cast(mean, tf.float32),
            tf.cast(optimistic, tf.float32),
            tf.zeros(tf.shape(actions), tf.float32),
        )

    # ------------------------------------------------------------------------
    # TFPolicy hooks

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        raise NotImplementedError(
            "NeuralLinUCBPolicy outputs actions, not a distribution; use action()."
        )

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        observation, _ = self._split_observation(time_step.observation)
        mask = constraints.construct_mask_from_multiple_sources(
            time_step.observation,
            self._observation_and_action_constraint_splitter,
            (),
            self._num_actions,
        )
        encoding, _ = self._encoding_network(observation)

        def reward_layer_choice() -> _Choice:
            return self._act_on_reward_layer(encoding, mask, seed)

        def linucb_choice() -> _Choice:
            return self._act_by_linucb(encoding, mask)

        use_reward_layer = self._actions_from_reward_layer
        if tf.distribute.has_strategy():
            use_reward_layer = self._distributed_use_reward_layer
        if isinstance(use_reward_layer, bool):
            choice = reward_layer_choice() if use_reward_layer else linucb_choice()
        else:
            choice = tf.cond(
                tf.cast(use_reward_layer, tf.bool), reward_layer_choice, linucb_choice
            )
        actions, mean, optimistic, log_probability = choice

        arm_observations: Any = ()
        if self._accepts_per_arm_features:
            arm_observations = dict(observation)[bandit_spec_utils.PER_ARM_FEATURE_KEY]
        info = policy_utilities.populate_policy_info(
            arm_observations,
            actions,
            optimistic,
            mean,
            self._emit_policy_info,
            self._accepts_per_arm_features,
        )
        if self._emit_log_probability:
            info = policy_step.set_log_probability(info, log_probability)
        return policy_step.PolicyStep(actions, policy_state, info)
