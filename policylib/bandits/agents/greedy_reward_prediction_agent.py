"""`GreedyRewardPredictionAgent`: a bandit agent that regresses rewards with a network.

    agent = GreedyRewardPredictionAgent(
        time_step_spec, action_spec,
        reward_network=q_network.QNetwork(obs_spec, action_spec, fc_layer_params=(32,)),
        optimizer=tf.keras.optimizers.Adam(1e-2))
    loss_info = agent.train(experience)      # `[B, T]` bandit trajectories

The network predicts one reward per arm; training fits the prediction of the
arm that was played to the reward that was observed (mean squared error by
default), and the policy plays the arm with the highest prediction. Also
supported: per-arm features (the network scores each arm's feature vector),
action masks, trainable constraints (trained on the `'constraint'` entry of a
dict reward), heteroscedastic networks (which predict a log-variance per arm
as well and are trained with the Gaussian negative log-likelihood), and
Laplacian smoothing of the predictions over a graph of related arms.
Subclasses swap the greedy policy for an exploring one (`_build_policy`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.agents import utils as bandit_utils
from policylib.bandits.policies import constraints as constr
from policylib.bandits.policies import (
    greedy_reward_prediction_policy as greedy_reward_policy,
)
from policylib.policies import tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, summaries

__all__ = ["GreedyRewardPredictionAgent"]

_LOG = logging.getLogger(__name__)


@gin.configurable
class GreedyRewardPredictionAgent(tf_agent.TFAgent):
    """Trains a reward network and acts greedily on its predictions.

    Laplacian smoothing: when the arms form a graph (e.g. ordinal actions),
    `laplacian_smoothing_weight * r^T L r`, averaged over the batch, is added
    to the loss, where `r` is the vector of predicted rewards of all arms and
    `L` the graph's Laplacian; it pulls predictions of neighbouring arms
    together (M. Valko, "Bandits on graphs and structures", 2016).

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
        Its reward is a scalar spec, or (with constraints) a dict with a
        `'reward'` scalar and a `'constraint'` vector, one entry per
        constraint.
      action_spec: one scalar bounded int spec with minimum 0.
      reward_network: a `Network` mapping an observation to one predicted
        reward per arm (a `[B, num_actions]` tensor, or an output with
        `q_value_logits` and `log_variance` fields for a heteroscedastic
        network).
      optimizer: a Keras (2 or 3) optimizer or a `tf.compat.v1.train` one;
        None for an agent that only acts.
      observation_and_action_constraint_splitter: `obs -> (network_obs,
        mask)`, for observations that carry a mask of the allowed arms.
      accepts_per_arm_features: the observation is a dict of global and
        per-arm features (see `bandit_spec_utils`).
      constraints: `BaseConstraint`s; the trainable ones (`NeuralConstraint`)
        are trained alongside the reward network.
      error_loss_fn: `loss(labels, predictions, reduction=...)`, called with
        `reduction=tf.compat.v1.losses.Reduction.NONE` (any function of
        `tf.compat.v1.losses` fits).
      gradient_clipping: if set, each variable's gradient is clipped to this
        norm.
      debug_summaries: passed to `TFAgent`.
      summarize_grads_and_vars: write gradient and variable summaries.
      enable_summaries: False turns all summaries off.
      emit_policy_info: `policy_utilities.InfoFields` the policy emits.
      train_step_counter: counts train steps (default: the global step).
      num_samples_list: int `tf.Variable`s counting the training samples: one
        per arm, or a single total with per-arm features. Updated by `train`;
        exploring policies read them.
      laplacian_matrix: `[num_actions, num_actions]` Laplacian of the arm
        graph (rows and columns summing to 0), or None for no smoothing.
      laplacian_smoothing_weight: weight of the smoothing term.
      name: the agent's name scope.

    Raises:
      ValueError: the action spec is not a scalar int spec starting at 0,
        `num_samples_list` has the wrong length, the Laplacian has the wrong
        shape, or the network does not emit one prediction per arm.
      tf.errors.InvalidArgumentError: the Laplacian's rows or columns do not
        sum to 0.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        optimizer: types.Optimizer | None,
        observation_and_action_constraint_splitter: types.Splitter | None = None,
        accepts_per_arm_features: bool = False,
        constraints: Iterable[constr.BaseConstraint] = (),
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        gradient_clipping: float | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        emit_policy_info: tuple[str, ...] = (),
        train_step_counter: tf.Variable | None = None,
        num_samples_list: Sequence[tf.Variable] = (),
        laplacian_matrix: types.Float | None = None,
        laplacian_smoothing_weight: float = 0.001,
        name: str | None = None,
    ):
        tf.Module.__init__(self, name=name)
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._accepts_per_arm_features = accepts_per_arm_features
        self._constraints = tuple(constraints)
        self._num_samples_list = _checked_num_samples_list(
            num_samples_list, accepts_per_arm_features, self._num_actions
        )
        network_observation_spec = time_step_spec.observation
        if observation_and_action_constraint_splitter is not None:
            network_observation_spec, _ = observation_and_action_constraint_splitter(
                network_observation_spec
            )
        output_spec = reward_network.create_variables(network_observation_spec)
        self._heteroscedastic = _is_heteroscedastic(output_spec)
        # A per-arm network scores one arm per row (its output spec is [1], as in
        # TF-Agents) even where the agent is not told about per-arm features
        # (TF-Agents' MovieLens script does that): only check plain networks.
        per_arm_input = isinstance(network_observation_spec, dict) and (
            bandit_spec_utils.PER_ARM_FEATURE_KEY in network_observation_spec
        )
        if not accepts_per_arm_features and not per_arm_input:
            _check_reward_output(output_spec, self._num_actions, self._heteroscedastic)
        self._reward_network = reward_network
        self._optimizer = optimizer
        self._error_loss_fn = error_loss_fn
        self._gradient_clipping = gradient_clipping
        self._laplacian_matrix = _checked_laplacian(laplacian_matrix, self._num_actions)
        self._laplacian_smoothing_weight = laplacian_smoothing_weight

        policy = self._build_policy(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            reward_network=reward_network,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            constraints=self._constraints,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
            num_samples_list=self._num_samples_list,
        )
        training_data_spec = None
        if accepts_per_arm_features:
            # Training sees only the chosen arm's features (from the policy
            # info), never the per-arm features of all arms.
            training_data_spec = bandit_spec_utils.drop_arm_observation(
                policy.trajectory_spec
            )
        super().__init__(
            time_step_spec,
            action_spec,
            policy,
            collect_policy=policy,
            train_sequence_length=None,
            training_data_spec=training_data_spec,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    def _build_policy(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        reward_network: types.Network,
        observation_and_action_constraint_splitter: types.Splitter | None,
        constraints: Sequence[constr.BaseConstraint],
        accepts_per_arm_features: bool,
        emit_policy_info: tuple[str, ...],
        num_samples_list: Sequence[tf.Variable],
    ) -> tf_policy.TFPolicy:
        """The agent's policy (used to act and to collect); greedy here.

        Exploring subclasses override this; it runs inside `__init__`, before
        `TFAgent.__init__`, so anything it reads must be set before that.
        """
        del num_samples_list  # The greedy policy does not explore.
        return greedy_reward_policy.GreedyRewardPredictionPolicy(
            time_step_spec,
            action_spec,
            reward_network,
            observation_and_action_constraint_splitter,
            constraints=constraints,
            accepts_per_arm_features=accepts_per_arm_features,
            emit_policy_info=emit_policy_info,
        )

    @property
    def num_samples(self) -> Sequence[tf.Variable]:
        """The sample counters given as `num_samples_list`."""
        return self._num_samples_list

    def _initialize(self) -> None:
        # Variables exist from construction on; only TF1 graphs need an op.
        if not tf.executing_eagerly():
            tf.compat.v1.variables_initializer(list(self.variables))

    def _variables_to_train(self) -> list[tf.Variable]:
        """The reward network's and the constraints' trainable variables."""
        variables = list(self._reward_network.trainable_variables)
        for constraint in self._constraints:
            # Walked with keras_compat: a tf.Module walk misses Keras 3 weights.
            variables.extend(
                keras_compat.collect_variables(constraint, trainable_only=True)
            )
        seen: set[int] = set()
        unique = []
        for variable in variables:
            if id(variable) not in seen:
                seen.add(id(variable))
                unique.append(variable)
        return unique

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        experience = self._as_trajectory(experience)
        variables_to_train = self._variables_to_train()
        with tf.GradientTape() as tape:
            loss_info = self._loss(experience, weights=weights, training=True)
        if not variables_to_train:
            _LOG.info("%s has no variables to train.", type(self).__name__)
            return loss_info
        self._apply_gradients(loss_info.loss, variables_to_train, tape, self._optimizer)
        self.train_step_counter.assign_add(1)
        if self._num_samples_list:
            self._count_samples(experience.action)
        return loss_info

    def _count_samples(self, actions: types.Tensor) -> None:
        """Adds the batch's sample counts (per arm, or in total) to `num_samples`."""
        actions = tf.reshape(actions, [-1])
        if self._accepts_per_arm_features:
            counter = self._num_samples_list[0]
            counter.assign_add(tf.cast(tf.size(actions), counter.dtype))
            return
        actions = tf.cast(actions, tf.int32)
        for arm, counter in enumerate(self._num_samples_list):
            played = tf.reduce_sum(tf.cast(tf.equal(actions, arm), counter.dtype))
            counter.assign_add(played)

    def reward_loss(
        self,
        observations: types.NestedTensor,
        actions: types.Tensor,
        rewards: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """The reward network's loss on a `[B]` batch (no outer time dim).

        Args:
          observations: network observations (mask already split off).
          actions: the arms played, `[B]`.
          rewards: the rewards observed, `[B]`.
          weights: optional scalar or `[B]` per-example weights.
          training: passed to the network (dropout, batch norm).

        Returns:
          The scalar mean of the weighted per-example losses, plus the
          Laplacian smoothing term if configured.
        """
        with tf.name_scope("loss"):
            sample_weights: Any = 1.0 if weights is None else weights
            predictions, _ = self._reward_network(observations, training=training)
            actions = tf.cast(actions, tf.int32)
            loss = tf.constant(0.0)
            if self._heteroscedastic:
                # Gaussian negative log-likelihood with a learned variance:
                # (y - f(x))^2 / (2 var) + log(var) / 2 (Kendall & Gal, 2017).
                predicted = predictions.q_value_logits
                log_variance = common.index_with_actions(
                    predictions.log_variance, actions
                )
                sample_weights = sample_weights * 0.5 * tf.exp(-log_variance)
                loss += 0.5 * _mean(log_variance)
            else:
                predicted = predictions
            played = common.index_with_actions(predicted, actions)
            if self._laplacian_matrix is not None:
                # diag(P L P^T): r^T L r for each row r of the predictions.
                smoothness = tf.reduce_sum(
                    tf.matmul(predicted, self._laplacian_matrix) * predicted, axis=-1
                )
                loss += self._laplacian_smoothing_weight * _mean(
                    smoothness * sample_weights
                )
            # Reduced here rather than by the loss function: weights of
            # unknown shape would make it validate shapes, which XLA rejects.
            per_example = self._error_loss_fn(
                tf.cast(rewards, played.dtype),
                played,
                reduction=tf.compat.v1.losses.Reduction.NONE,
            )
            loss += _mean(per_example * sample_weights)
        return loss

    def _loss(
        self,
        experience: types.NestedTensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """The reward loss plus the constraints' losses on `experience`.

        Args:
          experience: a `Trajectory` of `[B, T]` (or `[B]`) bandit steps, per
            `training_data_spec`.
          weights: optional scalar or per-example weights.
          training: passed to the networks.

        Returns:
          `LossInfo(total_loss, ())`.

        Raises:
          ValueError: the reward is not a scalar per example, or constraints
            are set and the reward lacks its `'reward'`/`'constraint'` entries.
        """
        observations, actions, rewards = (
            bandit_utils.process_experience_for_neural_agents(
                experience, self._accepts_per_arm_features, self.training_data_spec
            )
        )
        if self._observation_and_action_constraint_splitter is not None:
            observations, _ = self._observation_and_action_constraint_splitter(
                observations
            )
        reward_targets, constraint_targets = self._split_rewards(rewards)
        reward_loss = self.reward_loss(
            observations, actions, reward_targets, weights, training
        )
        constraint_loss = None
        if constraint_targets is not None:  # Exactly when there are constraints.
            constraint_loss = tf.constant(0.0)
            for i, constraint in enumerate(self._constraints):
                compute_loss = getattr(constraint, "compute_loss", None)
                if compute_loss is None:
                    continue  # Not trainable.
                constraint_loss += compute_loss(
                    observations,
                    actions,
                    constraint_targets[:, i],
                    weights,
                    training,
                )
        self.compute_summaries(reward_loss, constraint_loss=constraint_loss)
        total_loss = reward_loss
        if constraint_loss is not None:
            total_loss += constraint_loss
        return tf_agent.LossInfo(total_loss, extra=())

    def _split_rewards(self, rewards: Any) -> tuple[tf.Tensor, tf.Tensor | None]:
        """`(reward targets [B], constraint targets [B, num_constraints] or None)`.

        A dict reward (the multi-signal reward spec of constrained bandits)
        gives its `'reward'` entry as the target and, with constraints, one
        `'constraint'` column per constraint.
        """
        reward_key = bandit_spec_utils.REWARD_SPEC_KEY
        constraint_key = bandit_spec_utils.CONSTRAINTS_SPEC_KEY
        if not isinstance(rewards, Mapping):
            if self._constraints:
                raise ValueError(
                    f"{type(self).__name__} has {len(self._constraints)} "
                    f"constraint(s), so the reward must be a dict with keys "
                    f"'{reward_key}' and '{constraint_key}'; got {rewards!r}."
                )
            return rewards, None
        if reward_key not in rewards:
            raise ValueError(
                f"The reward dict needs a '{reward_key}' entry to train the reward "
                f"network; got keys {sorted(rewards)}."
            )
        if not self._constraints:
            return rewards[reward_key], None
        if constraint_key not in rewards:
            raise ValueError(
                f"With constraints the reward dict needs a '{constraint_key}' "
                f"entry (one column per constraint); got keys {sorted(rewards)}."
            )
        targets = tf.convert_to_tensor(rewards[constraint_key])
        batch = tf.shape(targets)[0]
        targets = tf.reshape(targets, [batch, -1])
        width = targets.shape[-1]
        if width is not None and width < len(self._constraints):
            raise ValueError(
                f"reward['{constraint_key}'] has {width} column(s), fewer than the "
                f"{len(self._constraints)} constraints."
            )
        return rewards[reward_key], targets

    def compute_summaries(
        self, loss: types.Tensor, constraint_loss: types.Tensor | None = None
    ) -> None:
        """Writes `Losses/loss` (and `Losses/constraint_loss`), and the
        variables' histograms with `summarize_grads_and_vars`."""
        if not self.summaries_enabled:
            return
        summaries.summarize_scalar_dict(
            {"loss": loss, "constraint_loss": constraint_loss},
            step=self.train_step_counter,
            name_scope="Losses/",
        )
        if self.summarize_grads_and_vars:
            with tf.name_scope("Variables/"):
                for variable in self._variables_to_train():
                    summaries.histogram(
                        variable.name.replace(":", "_"),
                        variable,
                        self.train_step_counter,
                    )


def _checked_num_samples_list(
    num_samples_list: Sequence[tf.Variable],
    accepts_per_arm_features: bool,
    num_actions: int,
) -> tuple[tf.Variable, ...]:
    """`num_samples_list` as a tuple, checked for its length.

    Raises:
      ValueError: not one counter per arm (or one in total with per-arm
        features).
    """
    counters = tuple(num_samples_list)
    if not counters:
        return counters
    expected = 1 if accepts_per_arm_features else num_actions
    if len(counters) != expected:
        what = (
            "a single total counter with per-arm features"
            if accepts_per_arm_features
            else f"one counter per action ({num_actions})"
        )
        raise ValueError(
            f"num_samples_list must hold {what}, but has {len(counters)} "
            f"element(s): {list(counters)}."
        )
    return counters


def _is_heteroscedastic(output_spec: Any) -> bool:
    """Whether a network's output spec carries a per-arm log-variance."""
    return hasattr(output_spec, "q_value_logits") and hasattr(
        output_spec, "log_variance"
    )


def _check_reward_output(
    output_spec: Any, num_actions: int, heteroscedastic: bool
) -> None:
    """Raises ValueError unless the network predicts one reward per arm."""
    spec = output_spec.q_value_logits if heteroscedastic else output_spec
    if not isinstance(spec, tf.TensorSpec):
        raise ValueError(
            "reward_network must output one tensor of predicted rewards (or a "
            f"heteroscedastic result), but its output spec is {output_spec!r}."
        )
    width = spec.shape[-1] if spec.shape.rank else None
    if spec.shape.rank != 1 or (width is not None and width != num_actions):
        raise ValueError(
            f"reward_network must predict one reward per action, shape "
            f"[{num_actions}] per example, but its output spec is {spec}."
        )


def _checked_laplacian(
    laplacian_matrix: types.Float | None, num_actions: int
) -> tf.Tensor | None:
    """The Laplacian as a float32 tensor, or None.

    Raises:
      ValueError: it is not `[num_actions, num_actions]`.
      tf.errors.InvalidArgumentError: its rows or columns do not sum to 0
        (checked when executing eagerly; in a graph, when the op runs).
    """
    if laplacian_matrix is None:
        return None
    matrix = tf.convert_to_tensor(laplacian_matrix, dtype=tf.float32)
    if not matrix.shape.is_compatible_with([num_actions, num_actions]):
        raise ValueError(
            f"laplacian_matrix must be [{num_actions}, {num_actions}] (one row "
            f"and column per action), got shape {matrix.shape}."
        )
    for axis, what in ((1, "rows"), (0, "columns")):
        tf.debugging.assert_near(
            0.0,
            tf.norm(tf.reduce_sum(matrix, axis=axis)),
            message=f"laplacian_matrix is not a graph Laplacian: its {what} "
            "must sum to 0",
        )
    return matrix


def _mean(values: tf.Tensor) -> tf.Tensor:
    """The mean of `values`, 0 when there are none.

    A mixture agent trains each sub-agent on the rounds its policy played, so
    a sub-agent's batch can be empty; a plain mean would make its loss NaN.
    """
    values = tf.convert_to_tensor(values)
    count = tf.cast(tf.size(values), values.dtype)
    return tf.math.divide_no_nan(tf.reduce_sum(values), count)
