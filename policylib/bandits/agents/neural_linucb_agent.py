"""`NeuralLinUCBAgent`: LinUCB on the output of a (trained) encoding network.

LinUCB is linear in its features; an encoding network supplies non-linear
ones. Training runs in two phases, switched by the train step counter:

1. for the first `encoding_network_num_train_steps` steps, the encoder and a
   linear reward layer on top of it are trained by gradient descent on the
   reward prediction error, and the policy acts epsilon-greedily on the
   reward layer;
2. afterwards the encoder is frozen and every batch is added to the LinUCB
   statistics of the arm it played, `A_k <- gamma * A_k + sum x x^T` and
   `b_k <- gamma * b_k + sum r x` (on the encodings `x`), and the policy acts
   by upper confidence bounds.

A negative `encoding_network_num_train_steps` means the encoder comes
trained: LinUCB from the first step. Riquelme, Tucker and Snoek, "Deep
Bayesian Bandits Showdown", ICLR 2018.

    agent = NeuralLinUCBAgent(
        time_step_spec, action_spec, encoding_network=encoder,
        encoding_network_num_train_steps=100, encoding_dim=16,
        optimizer=tf.keras.optimizers.Adam(1e-3))
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.agents import utils as bandit_utils
from policylib.bandits.policies import neural_linucb_policy
from policylib.networks import network
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, summaries

__all__ = ["NeuralLinUCBAgent", "NeuralLinUCBVariableCollection"]


class NeuralLinUCBVariableCollection(tf.Module):
    """The LinUCB statistics and phase flag of a `NeuralLinUCBAgent` (not the networks).

    Per model `k` (arm, or the single shared model with per-arm features):
    `cov_matrix_list[k]` (`A`, `[encoding_dim, encoding_dim]`),
    `data_vector_list[k]` (`b`, `[encoding_dim]`) and `num_samples_list[k]`;
    all start at zero. `actions_from_reward_layer` starts True.

    Args:
      num_actions: the number of models.
      encoding_dim: the size of the encodings.
      dtype: `tf.float32` or `tf.float64`.
      name: module name.

    Raises:
      ValueError: `dtype` is not a float type.
    """

    def __init__(
        self,
        num_actions: int,
        encoding_dim: int,
        dtype: tf.DType = tf.float64,
        name: str | None = None,
    ):
        super().__init__(name=name)
        dtype = _check_dtype(dtype)
        self.actions_from_reward_layer = tf.Variable(
            True, dtype=tf.bool, name="is_action_from_reward_layer"
        )
        self.cov_matrix_list = [
            tf.Variable(tf.zeros([encoding_dim, encoding_dim], dtype), name=f"a_{k}")
            for k in range(num_actions)
        ]
        self.data_vector_list = [
            tf.Variable(tf.zeros([encoding_dim], dtype), name=f"b_{k}")
            for k in range(num_actions)
        ]
        self.num_samples_list = [
            tf.Variable(tf.zeros([], dtype), name=f"num_samples_{k}")
            for k in range(num_actions)
        ]


def _check_dtype(dtype: tf.DType) -> tf.DType:
    dtype = tf.as_dtype(dtype)
    if dtype not in (tf.float32, tf.float64):
        raise ValueError(
            f"Agent dtype should be either `tf.float32` or `tf.float64`; got {dtype.name}."
        )
    return dtype


@gin.configurable
class NeuralLinUCBAgent(tf_agent.TFAgent):
    """Trains an encoder by reward regression, then LinUCB on its encodings.

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar `int32`/`int64` `BoundedTensorSpec` with minimum 0.
      encoding_network: a `Network` from observations to `[B, encoding_dim]`
        (per-arm: `[B, num_actions, encoding_dim]`).
      encoding_network_num_train_steps: train steps spent training the
        encoder before switching to LinUCB; negative if it is trained already.
      encoding_dim: the size of the encodings.
      optimizer: the optimizer of the encoder and reward layer (Keras 2 or 3,
        or `tf.compat.v1.train`); None if the encoder is never trained.
      variable_collection: the LinUCB variables to use (e.g. to restore them);
        new ones if None.
      alpha: weight of LinUCB's confidence bonus.
      gamma: forgetting factor in [0, 1] of the LinUCB statistics (1: no
        forgetting).
      epsilon_greedy: exploration probability while acting on the reward
        layer.
      observation_and_action_constraint_splitter: splits the observation into
        `(observation, mask)`.
      accepts_per_arm_features: observations hold per-arm features (one
        shared model).
      distributed_train_encoding_network: under a distribution strategy,
        train the encoder (True) or LinUCB (False); the step counter does not
        switch phases there.
      error_loss_fn: `loss(labels, predictions, weights)` of the reward
        regression.
      gradient_clipping: global norm to clip the gradients to, or None.
      debug_summaries: write debug summaries.
      summarize_grads_and_vars: write gradient and variable summaries.
      train_step_counter: counts train steps (drives the phase switch); the
        global step if None.
      emit_policy_info: names of `policy_utilities.InfoFields` the policy
        emits.
      emit_log_probability: the policy emits log-probabilities.
      dtype: dtype of the LinUCB statistics, `tf.float32` or `tf.float64`.
      name: module name.

    Raises:
      TypeError: `variable_collection` is not a `NeuralLinUCBVariableCollection`.
      ValueError: `gamma` is outside [0, 1], `dtype` is not a float type, the
        action spec is not a scalar integer spec starting at 0, or the
        variable collection does not fit the number of models.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        encoding_network: network.Network,
        encoding_network_num_train_steps: int,
        encoding_dim: int,
        optimizer: types.Optimizer | None,
        variable_collection: NeuralLinUCBVariableCollection | None = None,
        alpha: float = 1.0,
        gamma: float = 1.0,
        epsilon_greedy: float = 0.0,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        accepts_per_arm_features: bool = False,
        distributed_train_encoding_network: bool = False,
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        gradient_clipping: float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        train_step_counter: tf.Variable | None = None,
        emit_policy_info: Sequence[str] = (),
        emit_log_probability: bool = False,
        dtype: tf.DType = tf.float64,
        name: str | None = "neural_linucb_agent",
    ):
        tf.Module.__init__(self, name=name)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._num_models = 1 if accepts_per_arm_features else self._num_actions
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(
                f"Forgetting factor `gamma` must be in [0.0, 1.0]; got {gamma}."
            )
        self._dtype = _check_dtype(dtype)
        if variable_collection is None:
            variable_collection = NeuralLinUCBVariableCollection(
                self._num_models, encoding_dim, self._dtype
            )
        elif not isinstance(variable_collection, NeuralLinUCBVariableCollection):
            raise TypeError(
                "Parameter `variable_collection` should be of type "
                f"`NeuralLinUCBVariableCollection`; got {type(variable_collection).__name__}."
            )
        if len(variable_collection.cov_matrix_list) != self._num_models:
            raise ValueError(
                f"variable_collection holds {len(variable_collection.cov_matrix_list)} "
                f"models; this agent needs {self._num_models}."
            )
        self._variable_collection = variable_collection
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._accepts_per_arm_features = accepts_per_arm_features
        self._alpha = alpha
        self._gamma = gamma
        self._epsilon_greedy = epsilon_greedy
        self._encoding_network_num_train_steps = encoding_network_num_train_steps
        self._encoding_dim = int(encoding_dim)
        self._optimizer = optimizer
        self._error_loss_fn = error_loss_fn
        self._gradient_clipping = gradient_clipping
        self._distributed_train_encoding_network = distributed_train_encoding_network

        encoding_network.create_variables()
        self._encoding_network = encoding_network
        reward_layer = tf.keras.layers.Dense(
            self._num_models,
            kernel_initializer=tf.random_uniform_initializer(minval=-0.03, maxval=0.03),
            use_bias=False,
            activation=None,
            name="reward_layer",
        )
        reward_layer.build(tf.TensorShape([None, self._encoding_dim]))
        keras_compat.track_variables(reward_layer)
        self._reward_layer = reward_layer

        policy = neural_linucb_policy.NeuralLinUCBPolicy(
            encoding_network=encoding_network,
            encoding_dim=self._encoding_dim,
            reward_layer=reward_layer,
            epsilon_greedy=epsilon_greedy,
            actions_from_reward_layer=self.actions_from_reward_layer,
            cov_matrix=self.cov_matrix,
            data_vector=self.data_vector,
            num_samples=self.num_samples,
            time_step_spec=time_step_spec,
            alpha=alpha,
            emit_policy_info=emit_policy_info,
            emit_log_probability=emit_log_probability,
            accepts_per_arm_features=accepts_per_arm_features,
            distributed_use_reward_layer=distributed_train_encoding_network,
            observation_and_action_constraint_splitter=observation_and_action_constraint_splitter,
        )
        training_data_spec = None
        if accepts_per_arm_features:
            training_data_spec = bandit_spec_utils.drop_arm_observation(
                policy.trajectory_spec
            )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=policy.action_spec,
            policy=policy,
            collect_policy=policy,
            train_sequence_length=None,
            training_data_spec=training_data_spec,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    # ------------------------------------------------------------------------
    # Properties

    @property
    def num_actions(self) -> int:
        return self._num_actions

    @property
    def actions_from_reward_layer(self) -> tf.Variable:
        return self._variable_collection.actions_from_reward_layer

    @property
    def cov_matrix(self) -> list[tf.Variable]:
        return self._variable_collection.cov_matrix_list

    @property
    def data_vector(self) -> list[tf.Variable]:
        return self._variable_collection.data_vector_list

    @property
    def num_samples(self) -> list[tf.Variable]:
        return self._variable_collection.num_samples_list

    @property
    def alpha(self) -> float:
        return self._alpha

    def _initialize(self) -> None:
        # Variables exist from construction on; only TF1 graphs need an op.
        if not tf.executing_eagerly():
            tf.compat.v1.variables_initializer(list(self.variables))

    def _network_variables(self) -> list[tf.Variable]:
        """The trainable variables of the encoder and the reward layer."""
        return keras_compat.tf_variables(
            list(self._encoding_network.trainable_variables)
            + list(self._reward_layer.trainable_weights)
        )

    def _encode(self, observation: types.NestedTensor, training: bool) -> tf.Tensor:
        """Encodings as `[N, encoding_dim]` (the network's float dtype)."""
        encoded, _ = self._encoding_network(observation, training=training)
        return tf.reshape(encoded, [-1, self._encoding_dim])

    # ------------------------------------------------------------------------
    # Phase 1: reward regression

    def compute_summaries(self, loss: types.Tensor) -> None:
        """Writes the loss and (if asked) histograms of the trained variables."""
        if not self.summaries_enabled:
            return
        summaries.scalar("Losses/total_loss", loss, self.train_step_counter)
        if self.summarize_grads_and_vars:
            for variable in self._network_variables():
                summaries.histogram(
                    "Variables/" + variable.name.replace(":", "_"),
                    variable,
                    self.train_step_counter,
                )

    def _loss_using_reward_layer(
        self,
        observations: types.NestedTensor,
        actions: types.Tensor,
        rewards: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The reward-regression loss of the reward layer on the encodings."""
        with tf.name_scope("loss"):
            encoding = self._encode(observations, training)
            predicted = self._reward_layer(encoding, training=training)
            actions = tf.cast(actions, tf.int32)
            chosen = common.index_with_actions(predicted, actions)
            rewards = tf.cast(rewards, chosen.dtype)
            loss = self._error_loss_fn(
                rewards, chosen, 1.0 if weights is None else weights
            )
            if self.summarize_grads_and_vars and self.summaries_enabled:
                for k in range(self._num_models):
                    arm_loss = self._error_loss_fn(
                        rewards,
                        chosen,
                        weights=tf.cast(tf.equal(actions, k), tf.float32),
                    )
                    summaries.scalar(
                        f"Per_arm_loss/loss_arm_{k}", arm_loss, self.train_step_counter
                    )
        return tf_agent.LossInfo(loss, extra=())

    def compute_loss_using_reward_layer(
        self,
        observation: types.NestedTensor,
        action: types.Tensor,
        reward: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """One gradient step of the encoder and reward layer; returns the loss before it.

        Raises:
          ValueError: there is no optimizer or nothing to train.
        """
        variables = self._network_variables()
        if not variables:
            raise ValueError("No variable to train in the agent.")
        with tf.GradientTape() as tape:
            loss_info = self._loss_using_reward_layer(
                observation, action, reward, weights, training=training
            )
        tf.debugging.check_numerics(loss_info.loss, "Loss is inf or nan")
        if self.summaries_enabled:
            summaries.scalar("using_reward_layer", 1, self.train_step_counter)
            self.compute_summaries(loss_info.loss)
        self._apply_gradients(loss_info.loss, variables, tape, self._optimizer)
        self.train_step_counter.assign_add(1)
        return loss_info

    # ------------------------------------------------------------------------
    # Phase 2: LinUCB statistics

    def _linucb_increments(
        self,
        observation: types.NestedTensor,
        action: types.Tensor,
        reward: types.Tensor,
        training: bool,
    ) -> list[tuple[tf.Tensor, tf.Tensor, tf.Tensor]]:
        """Per model: the batch's `(sum x x^T, sum r x, count)` over its samples."""
        encoding = tf.cast(self._encode(observation, training), self._dtype)
        reward = tf.reshape(tf.cast(reward, self._dtype), [-1])
        action = tf.reshape(tf.cast(action, tf.int32), [-1])
        increments = []
        for k in range(self._num_models):
            in_arm = tf.cast(tf.equal(action, k), self._dtype)
            x = encoding * in_arm[:, tf.newaxis]
            increments.append(
                (
                    tf.matmul(x, x, transpose_a=True),
                    bandit_utils.sum_reward_weighted_observations(reward, x),
                    tf.reduce_sum(in_arm),
                )
            )
        return increments

    def compute_loss_using_linucb(
        self,
        observation: types.NestedTensor,
        action: types.Tensor,
        reward: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """Adds the batch to the LinUCB statistics (encoder frozen).

        Returns:
          `LossInfo(-sum(reward), ())`; `weights` are not used.
        """
        del weights
        increments = self._linucb_increments(observation, action, reward, training)
        gamma = tf.constant(self._gamma, self._dtype)
        for k, (xx, rx, count) in enumerate(increments):
            self.cov_matrix[k].assign(gamma * self.cov_matrix[k] + xx)
            self.data_vector[k].assign(gamma * self.data_vector[k] + rx)
            self.num_samples[k].assign_add(count)
        if self.summaries_enabled:
            summaries.scalar("using_reward_layer", 0, self.train_step_counter)
        self.train_step_counter.assign_add(1)
        loss = tf.cast(-tf.reduce_sum(reward), tf.float32)
        return tf_agent.LossInfo(loss=loss, extra=())

    def compute_loss_using_linucb_distributed(
        self,
        observation: types.NestedTensor,
        action: types.Tensor,
        reward: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """`compute_loss_using_linucb` with the replicas' increments summed first.

        Each replica computes its batch's increments; a merge call sums them
        across replicas and applies them once (also without a strategy, where
        the default replica context is the only one).
        """
        del weights
        self.train_step_counter.assign_add(1)
        increments = self._linucb_increments(observation, action, reward, training)
        gamma = tf.constant(self._gamma, self._dtype)

        def merge(strategy: tf.distribute.Strategy, *per_replica: Any) -> None:
            pairs = []
            for k in range(self._num_models):
                xx, rx, count = per_replica[3 * k : 3 * k + 3]
                pairs += [
                    (xx, self.cov_matrix[k]),
                    (rx, self.data_vector[k]),
                    (count, self.num_samples[k]),
                ]
            reduced = strategy.extended.batch_reduce_to(
                tf.distribute.ReduceOp.SUM, pairs
            )
            for k in range(self._num_models):
                xx, rx, count = reduced[3 * k : 3 * k + 3]
                self.cov_matrix[k].assign(gamma * self.cov_matrix[k] + xx)
                self.data_vector[k].assign(gamma * self.data_vector[k] + rx)
                self.num_samples[k].assign_add(count)

        flat = [t for increment in increments for t in increment]
        tf.distribute.get_replica_context().merge_call(merge, args=tuple(flat))
        loss = tf.cast(-tf.reduce_sum(reward), tf.float32)
        return tf_agent.LossInfo(loss=loss, extra=())

    # ------------------------------------------------------------------------
    # Training

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """One step of the current phase on `experience` (new samples only).

        Returns:
          The `LossInfo` of the phase's step: the regression loss before the
          gradient step, or `-sum(reward)` for a LinUCB update.
        """
        experience = self._as_trajectory(experience)
        observation, action, reward = bandit_utils.process_experience_for_neural_agents(
            experience, self._accepts_per_arm_features, self.training_data_spec
        )
        if self._observation_and_action_constraint_splitter is not None:
            observation, _ = self._observation_and_action_constraint_splitter(
                observation
            )
        reward = tf.cast(reward, self._dtype)

        if tf.distribute.has_strategy():
            if self._distributed_train_encoding_network:
                return self.compute_loss_using_reward_layer(
                    observation, action, reward, weights, training=True
                )
            return self.compute_loss_using_linucb_distributed(
                observation, action, reward, weights, training=True
            )

        self.actions_from_reward_layer.assign(
            tf.less(
                self.train_step_counter,
                tf.cast(
                    self._encoding_network_num_train_steps,
                    self.train_step_counter.dtype,
                ),
            )
        )
        if self._optimizer is not None:
            # Keras 3 optimizers cannot create their slots inside a tf.cond branch.
            keras_compat.build_optimizer(self._optimizer, self._network_variables())

        def train_encoder() -> tf_agent.LossInfo:
            return self.compute_loss_using_reward_layer(
                observation, action, reward, weights, training=True
            )

        def train_linucb() -> tf_agent.LossInfo:
            return self.compute_loss_using_linucb(
                observation, action, reward, weights, training=True
            )

        return tf.cond(self.actions_from_reward_layer, train_encoder, train_linucb)
