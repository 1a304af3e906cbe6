"""`LinearBanditAgent`: ridge-regression reward models trained in closed form.

    agent = linear_bandit_agent.LinearBanditAgent(
        linear_bandit_agent.ExplorationPolicy.linear_ucb_policy,
        env.time_step_spec(), env.action_spec(), alpha=1.0)
    loss_info = agent.train(experience)   # [B, T] (or [B]) bandit trajectories

Each model keeps `A = gamma * A + sum x x^T` and `b = gamma * b + sum r x`
over the contexts `x` of the actions it is responsible for (one model per
arm; a single model on `[global, chosen arm]` contexts with per-arm
features). `theta = (A + lambda I)^-1 b` is refreshed after every update and
the agent's policy (`LinearBanditPolicy`, LinUCB or Thompson sampling) reads
the same variables. `train` must only see new experience: a replay buffer
feeding it should be cleared after each call.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import gin
import tensorflow as tf

from policylib.agents import data_converter, tf_agent
from policylib.bandits.agents import utils as bandit_utils
from policylib.bandits.policies import linear_bandit_policy as lin_policy
from policylib.base import nest_utils
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import summaries

__all__ = [
    "ExplorationPolicy",
    "LinearBanditAgent",
    "LinearBanditVariableCollection",
    "update_a_and_b_with_forgetting",
]

_DTYPES = (tf.float32, tf.float64)


class ExplorationPolicy(enum.Enum):
    """Which policy a `LinearBanditAgent` acts with."""

    linear_ucb_policy = 1
    linear_thompson_sampling_policy = 2


_STRATEGIES = {
    ExplorationPolicy.linear_ucb_policy: lin_policy.ExplorationStrategy.optimistic,
    ExplorationPolicy.linear_thompson_sampling_policy: (
        lin_policy.ExplorationStrategy.sampling
    ),
}


def _check_dtype(dtype: Any) -> tf.DType:
    dtype = tf.as_dtype(dtype)
    if dtype not in _DTYPES:
        raise ValueError(
            f"Linear bandit dtype should be tf.float32 or tf.float64; got {dtype.name}."
        )
    return dtype


class LinearBanditVariableCollection(tf.Module):
    """The variables of a `LinearBanditAgent`; share one between agents to share models.

    Attributes (lists have one entry per model): `theta` (`[num_models, d]`),
    `cov_matrix_list` (`A`, `[d, d]`), `data_vector_list` (`b`, `[d]`),
    `num_samples_list` (scalars), `eig_matrix_list` / `eig_vals_list` (the
    eigen-decomposition of `A` with `use_eigendecomp`, else empty).

    Args:
      context_dim: `d`, the overall context dimension (with the bias feature).
      num_models: the number of arms, or 1 with per-arm features.
      use_eigendecomp: keep the eigen-decomposition of each `A`.
      dtype: tf.float32 or tf.float64.
      name: the module's name.
    """

    def __init__(
        self,
        context_dim: int,
        num_models: int,
        use_eigendecomp: bool = False,
        dtype: tf.DType = tf.float32,
        name: str | None = None,
    ):
        super().__init__(name=name)
        dtype = _check_dtype(dtype)
        if context_dim < 1 or num_models < 1:
            raise ValueError(
                "context_dim and num_models must be positive; got "
                f"{context_dim} and {num_models}."
            )
        self.theta = tf.Variable(
            tf.zeros([num_models, context_dim], dtype), name="theta"
        )
        self.cov_matrix_list: list[tf.Variable] = []
        self.data_vector_list: list[tf.Variable] = []
        self.eig_matrix_list: list[tf.Variable] = []
        self.eig_vals_list: list[tf.Variable] = []
        self.num_samples_list: list[tf.Variable] = []
        for k in range(num_models):
            self.cov_matrix_list.append(
                tf.Variable(tf.zeros([context_dim, context_dim], dtype), name=f"a_{k}")
            )
            self.data_vector_list.append(
                tf.Variable(tf.zeros([context_dim], dtype), name=f"b_{k}")
            )
            self.num_samples_list.append(
                tf.Variable(tf.zeros([], dtype), name=f"num_samples_{k}")
            )
            # Without eigen-decomposition the slots stay empty (but exist, so
            # checkpoints of both kinds have the same structure).
            eig_matrix = tf.eye(context_dim, dtype=dtype) if use_eigendecomp else []
            eig_vals = tf.zeros([context_dim], dtype) if use_eigendecomp else []
            self.eig_matrix_list.append(
                tf.Variable(tf.constant(eig_matrix, dtype), name=f"eig_matrix{k}")
            )
            self.eig_vals_list.append(
                tf.Variable(tf.constant(eig_vals, dtype), name=f"eig_vals{k}")
            )


def update_a_and_b_with_forgetting(
    a_prev: types.Tensor,
    b_prev: types.Tensor,
    r: types.Tensor,
    x: types.Tensor,
    gamma: types.Float,
) -> tuple[tf.Tensor, tf.Tensor]:
    """`(gamma * A + x^T x, gamma * b + sum_i r_i x_i)`.

    Args:
      a_prev: `A`, `[d, d]`.
      b_prev: `b`, `[d]`.
      r: rewards, `[batch_size]`.
      x: contexts, `[batch_size, d]`.
      gamma: forgetting factor in [0, 1] (1: no forgetting).
    """
    x = tf.convert_to_tensor(x)
    a_new = gamma * a_prev + tf.matmul(x, x, transpose_a=True)
    b_new = gamma * b_prev + bandit_utils.sum_reward_weighted_observations(r, x)
    return a_new, b_new


@gin.configurable
class LinearBanditAgent(tf_agent.TFAgent):
    """Linear reward models per arm (or shared, with per-arm features), updated exactly.

    Args:
      exploration_policy: an `ExplorationPolicy` (LinUCB or Thompson sampling).
      time_step_spec: the `TimeStep` spec.
      action_spec: a scalar int32/int64 `BoundedTensorSpec` with minimum 0.
      variable_collection: a `LinearBanditVariableCollection` to train
        (e.g. shared with another agent); a new one if None.
      alpha: exploration scale (a float, or a `tf.Variable` to change it
        later with `update_alpha`).
      gamma: forgetting factor in [0, 1] applied to `A` and `b` at each update.
      use_eigendecomp: keep eigen-decompositions of `A` and solve with them
        instead of conjugate gradients.
      tikhonov_weight: the ridge weight `lambda`.
      add_bias: append a constant 1 feature to the global context.
      emit_policy_info: `InfoFields` names the policy emits.
      emit_log_probability: the policy emits log probabilities (0).
      observation_and_action_constraint_splitter: `obs -> (context, mask)`.
      accepts_per_arm_features: per-arm observations and one shared model.
      debug_summaries: write debug summaries.
      summarize_grads_and_vars: write variable summaries (and biases).
      enable_summaries: False turns all summaries off.
      dtype: tf.float32 or tf.float64, the dtype of the model variables.
      name: the agent's name.
      train_step_counter: counts the training examples seen (the global step
        if None); not a TF-Agents argument.

    Raises:
      ValueError: an unknown `exploration_policy`, `gamma` outside [0, 1], a
        bad `dtype`, or a `variable_collection` that does not fit.
      TypeError: `variable_collection` is not a `LinearBanditVariableCollection`.
    """

    def __init__(
        self,
        exploration_policy: ExplorationPolicy,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        variable_collection: LinearBanditVariableCollection | None = None,
        alpha: types.Float = 1.0,
        gamma: float = 1.0,
        use_eigendecomp: bool = False,
        tikhonov_weight: float = 1.0,
        add_bias: bool = False,
        emit_policy_info: Sequence[str] = (),
        emit_log_probability: bool = False,
        observation_and_action_constraint_splitter: types.Splitter = None,
        accepts_per_arm_features: bool = False,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        dtype: tf.DType = tf.float32,
        name: str | None = None,
        train_step_counter: tf.Variable | None = None,
    ):
        tf.Module.__init__(self, name=name)
        if exploration_policy not in _STRATEGIES:
            raise ValueError(
                f"Linear bandit agent with policy {exploration_policy!r} not "
                "implemented; use an ExplorationPolicy."
            )
        if not 0.0 <= gamma <= 1.0:
            raise ValueError(
                f"Forgetting factor `gamma` must be in [0.0, 1.0]; got {gamma}."
            )
        self._dtype = _check_dtype(dtype)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._num_models = 1 if accepts_per_arm_features else self._num_actions
        self._accepts_per_arm_features = accepts_per_arm_features
        self._observation_and_action_constraint_splitter = (
            observation_and_action_constraint_splitter
        )
        self._add_bias = add_bias
        if observation_and_action_constraint_splitter is not None:
            context_spec, _ = observation_and_action_constraint_splitter(
                time_step_spec.observation
            )
        else:
            context_spec = time_step_spec.observation
        self._global_context_dim, self._arm_context_dim = (
            lin_policy.context_dims_from_spec(context_spec, accepts_per_arm_features)
        )
        if add_bias:
            self._global_context_dim += 1  # The constant 1 feature.
        self._overall_context_dim = self._global_context_dim + self._arm_context_dim

        if variable_collection is None:
            variable_collection = LinearBanditVariableCollection(
                context_dim=self._overall_context_dim,
                num_models=self._num_models,
                use_eigendecomp=use_eigendecomp,
                dtype=self._dtype,
            )
        elif not isinstance(variable_collection, LinearBanditVariableCollection):
            raise TypeError(
                "Parameter `variable_collection` should be of type "
                f"`LinearBanditVariableCollection`; got {type(variable_collection).__name__}."
            )
        self._check_variable_collection(variable_collection, use_eigendecomp)
        self._variable_collection = variable_collection
        self._cov_matrix_list = variable_collection.cov_matrix_list
        self._data_vector_list = variable_collection.data_vector_list
        self._eig_matrix_list = variable_collection.eig_matrix_list
        self._eig_vals_list = variable_collection.eig_vals_list
        self._num_samples_list = variable_collection.num_samples_list
        self._theta = variable_collection.theta
        self._alpha = alpha
        self._gamma = gamma
        self._use_eigendecomp = use_eigendecomp
        self._tikhonov_weight = tikhonov_weight

        policy = lin_policy.LinearBanditPolicy(
            action_spec=action_spec,
            cov_matrix=self._cov_matrix_list,
            data_vector=self._data_vector_list,
            num_samples=self._num_samples_list,
            time_step_spec=time_step_spec,
            exploration_strategy=_STRATEGIES[exploration_policy],
            alpha=alpha,
            eig_vals=self._eig_vals_list if use_eigendecomp else (),
            eig_matrix=self._eig_matrix_list if use_eigendecomp else (),
            tikhonov_weight=tikhonov_weight,
            add_bias=add_bias,
            emit_policy_info=emit_policy_info,
            emit_log_probability=emit_log_probability,
            accepts_per_arm_features=accepts_per_arm_features,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            theta=self._theta,
        )
        training_data_spec = None
        if accepts_per_arm_features:
            # Training reads the chosen arm's features from the policy info.
            training_data_spec = bandit_spec_utils.drop_arm_observation(
                policy.trajectory_spec
            )
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            policy=policy,
            collect_policy=policy,
            training_data_spec=training_data_spec,
            debug_summaries=debug_summaries,
            summarize_grads_and_vars=summarize_grads_and_vars,
            enable_summaries=enable_summaries,
            train_sequence_length=None,
            train_step_counter=train_step_counter,
        )
        self._as_trajectory = data_converter.AsTrajectory(
            self.data_context, sequence_length=None
        )

    def _check_variable_collection(
        self, collection: LinearBanditVariableCollection, use_eigendecomp: bool
    ) -> None:
        d = self._overall_context_dim
        if len(collection.cov_matrix_list) != self._num_models:
            raise ValueError(
                f"variable_collection has {len(collection.cov_matrix_list)} models; "
                f"the agent needs {self._num_models}."
            )
        if collection.theta.shape.as_list() != [self._num_models, d]:
            raise ValueError(
                f"variable_collection.theta has shape {collection.theta.shape}; the "
                f"agent needs [{self._num_models}, {d}] (context dim {d})."
            )
        if collection.theta.dtype != self._dtype:
            raise ValueError(
                f"variable_collection has dtype {collection.theta.dtype.name}; the agent "
                f"was given dtype {self._dtype.name}."
            )
        if use_eigendecomp and collection.eig_matrix_list[0].shape.as_list() != [d, d]:
            raise ValueError(
                "use_eigendecomp=True needs a variable_collection created with "
                "use_eigendecomp=True."
            )

    # ------------------------------------------------------------------------
    # Properties

    @property
    def num_actions(self) -> int:
        return self._num_actions

    @property
    def cov_matrix(self) -> list[tf.Variable]:
        """Per model, `A` (the sum of the outer products of its contexts)."""
        return self._cov_matrix_list

    @property
    def eig_matrix(self) -> list[tf.Variable]:
        return self._eig_matrix_list

    @property
    def eig_vals(self) -> list[tf.Variable]:
        return self._eig_vals_list

    @property
    def data_vector(self) -> list[tf.Variable]:
        """Per model, `b` (the reward-weighted sum of its contexts)."""
        return self._data_vector_list

    @property
    def num_samples(self) -> list[tf.Variable]:
        return self._num_samples_list

    @property
    def alpha(self) -> types.Float:
        return self._alpha

    def update_alpha(self, alpha: types.Float) -> tf.Tensor:
        """Sets the exploration scale; the agent must have been given a `tf.Variable` alpha."""
        if not isinstance(self._alpha, tf.Variable):
            raise TypeError(
                "update_alpha needs the agent's alpha to be a tf.Variable; it was "
                f"constructed with {self._alpha!r}."
            )
        return self._alpha.assign(alpha)

    @property
    def theta(self) -> tf.Tensor:
        """`[num_models, d]`: per model `(A + lambda I)^-1 b`, from the current variables."""
        return _compute_theta(
            self._cov_matrix_list,
            self._data_vector_list,
            self._eig_vals_list if self._use_eigendecomp else None,
            self._eig_matrix_list if self._use_eigendecomp else None,
            self._tikhonov_weight,
        )

    # ------------------------------------------------------------------------
    # Training

    def _initialize(self) -> None:
        pass  # The variables are created initialized.

    def compute_summaries(self, loss: types.Tensor) -> None:
        """The loss summary, and with `summarize_grads_and_vars` variables and biases."""
        if not self.summaries_enabled:
            return
        summaries.summarize_scalar_dict(
            {"loss": loss}, step=self.train_step_counter, name_scope="Losses/"
        )
        if not self._summarize_grads_and_vars:
            return
        step = tf.cast(self.train_step_counter, tf.int64)
        with tf.name_scope("Variables/"):
            for var in self.policy.variables():
                var_name = var.name.replace(":", "_")
                tf.summary.histogram(name=var_name, data=var, step=step)
                tf.summary.scalar(
                    name=var_name + "_value_norm",
                    data=tf.linalg.global_norm([var]),
                    step=step,
                )
        if self._add_bias:
            biases = self.theta[:, self._global_context_dim - 1]
            for model in range(self._num_models):
                tf.summary.scalar(
                    name=f"bias/action_{model}", data=biases[model], step=step
                )

    def _process_experience(
        self, experience: types.NestedTensor
    ) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor]:
        """`(reward [N], action [N], context [N, d], N)` with all outer dims merged.

        With per-arm features the context is `[global, chosen arm features]`
        and the action is 0 (the only model).
        """
        exp: Any = experience
        reward, _ = nest_utils.flatten_multi_batched_nested_tensors(
            exp.reward, self.time_step_spec.reward
        )
        observation: Any
        observation, _ = nest_utils.flatten_multi_batched_nested_tensors(
            exp.observation, self._training_spec().observation
        )
        if self._observation_and_action_constraint_splitter is not None:
            observation, _ = self._observation_and_action_constraint_splitter(
                observation
            )
        batch_size = tf.shape(reward, out_type=tf.int64)[0]
        if self._accepts_per_arm_features:
            global_observation = observation[bandit_spec_utils.GLOBAL_FEATURE_KEY]
            chosen_arm, _ = nest_utils.flatten_multi_batched_nested_tensors(
                exp.policy_info.chosen_arm_features,
                self._info_spec().chosen_arm_features,
            )
            action = tf.zeros([batch_size], dtype=tf.int64)
        else:
            global_observation = observation
            chosen_arm = None
            action, _ = nest_utils.flatten_multi_batched_nested_tensors(
                exp.action, self.action_spec
            )
        parts = [tf.reshape(tf.cast(global_observation, self._dtype), [batch_size, -1])]
        if self._add_bias:
            parts.append(tf.ones([batch_size, 1], dtype=self._dtype))
        if chosen_arm is not None:
            parts.append(tf.reshape(tf.cast(chosen_arm, self._dtype), [batch_size, -1]))
        context = tf.concat(parts, axis=1) if len(parts) > 1 else parts[0]
        context = tf.ensure_shape(context, [None, self._overall_context_dim])
        return tf.cast(reward, self._dtype), action, context, batch_size

    def _training_spec(self) -> Any:
        return self.training_data_spec

    def _info_spec(self) -> Any:
        return self.policy.info_spec

    def _maybe_apply_per_example_weight(
        self, observation: tf.Tensor, reward: tf.Tensor, weights: types.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """Scales contexts and rewards by `sqrt(weights)`: weighted least squares."""
        if weights is None:
            return observation, reward
        w_sqrt = tf.sqrt(tf.cast(weights, self._dtype))
        return w_sqrt[:, tf.newaxis] * observation, w_sqrt * reward

    def _local_updates(
        self, action: tf.Tensor, context: tf.Tensor, reward: tf.Tensor
    ) -> tuple[list[tf.Tensor], list[tf.Tensor], list[tf.Tensor]]:
        """Per model: `x^T x`, `sum r x` and the count over its examples."""
        cov_updates, data_updates, counts = [], [], []
        for model in range(self._num_models):
            selected = tf.cast(
                tf.equal(action, tf.cast(model, action.dtype)), self._dtype
            )
            masked_context = selected[:, tf.newaxis] * context
            cov_updates.append(tf.matmul(masked_context, context, transpose_a=True))
            data_updates.append(
                bandit_utils.sum_reward_weighted_observations(reward, masked_context)
            )
            counts.append(tf.reduce_sum(selected))
        return cov_updates, data_updates, counts

    def _forget_and_add(
        self, previous: tf.Tensor, update: tf.Tensor, total_samples: tf.Tensor
    ) -> tf.Tensor:
        """`gamma * previous + update` once the model has seen data, else `previous`."""
        return tf.where(total_samples > 0, self._gamma * previous + update, previous)

    def _loss(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None = None,
        training: bool = False,
    ) -> tf_agent.LossInfo:
        """Mean squared error of `theta`'s predictions for the taken actions (0 if none)."""
        del training
        reward, action, context, _ = self._process_experience(experience)
        context, reward = self._maybe_apply_per_example_weight(context, reward, weights)
        theta_for_action = tf.gather(self._theta, action)
        predicted = tf.reduce_sum(context * theta_for_action, axis=-1)
        # Zero, not NaN, for an empty batch (e.g. a mixture's unused sub-agent).
        loss = tf.math.divide_no_nan(
            tf.reduce_sum(tf.square(reward - predicted)),
            tf.cast(tf.size(reward), self._dtype),
        )
        self.compute_summaries(loss)
        return tf_agent.LossInfo(loss, extra=())

    def _train(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """One exact update of every model on `experience`.

        Returns:
          The loss of the models before the update.
        """
        experience = self._as_trajectory(experience)
        if tf.distribute.has_strategy():
            return self._distributed_train_step(experience, weights)
        loss = self._loss(experience, weights, training=True)
        reward, action, context, batch_size = self._process_experience(experience)
        context, reward = self._maybe_apply_per_example_weight(context, reward, weights)
        cov_updates, data_updates, counts = self._local_updates(action, context, reward)
        for model in range(self._num_models):
            total = self._num_samples_list[model].assign_add(counts[model])
            self._cov_matrix_list[model].assign(
                self._forget_and_add(
                    self._cov_matrix_list[model], cov_updates[model], total
                )
            )
            self._data_vector_list[model].assign(
                self._forget_and_add(
                    self._data_vector_list[model], data_updates[model], total
                )
            )
        if self._use_eigendecomp:
            eig_vals, eig_matrices = tf.linalg.eigh(tf.stack(self._cov_matrix_list))
            for model in range(self._num_models):
                self._eig_vals_list[model].assign(eig_vals[model])
                self._eig_matrix_list[model].assign(eig_matrices[model])
        self._theta.assign(self.theta)
        self.train_step_counter.assign_add(
            tf.cast(batch_size, self.train_step_counter.dtype)
        )
        return loss

    def _distributed_train_step(
        self, experience: types.NestedTensor, weights: types.Tensor | None = None
    ) -> tf_agent.LossInfo:
        """The update of `_train` under a `tf.distribute` strategy.

        Each replica computes `x^T x`, `sum r x` and counts on its share of
        the batch; a merge call sums them over replicas and updates every
        device's copy of the variables (forgetting included).
        """
        loss = self._loss(experience, weights, training=True)
        reward, action, context, batch_size = self._process_experience(experience)
        context, reward = self._maybe_apply_per_example_weight(context, reward, weights)
        cov_updates, data_updates, counts = self._local_updates(action, context, reward)
        tf.distribute.get_replica_context().merge_call(
            self._merge_updates,
            args=(cov_updates, data_updates, counts, tf.cast(batch_size, self._dtype)),
        )
        return loss

    def _merge_updates(
        self,
        strategy: tf.distribute.Strategy,
        cov_updates: list[Any],
        data_updates: list[Any],
        counts: list[Any],
        batch_size: Any,
    ) -> None:
        """Cross-replica part of `_distributed_train_step`."""
        extended = strategy.extended
        pairs = (
            list(zip(cov_updates, self._cov_matrix_list))
            + list(zip(data_updates, self._data_vector_list))
            + list(zip(counts, self._num_samples_list))
        )
        reduced = extended.batch_reduce_to(tf.distribute.ReduceOp.SUM, pairs)
        n = self._num_models
        reduced_cov, reduced_data, reduced_counts = (
            reduced[:n],
            reduced[n : 2 * n],
            reduced[2 * n :],
        )

        def _add_count(variable: tf.Variable, count: tf.Tensor) -> Any:
            return variable.assign_add(count)

        def _update_model(variable: tf.Variable, update: tf.Tensor, total: Any) -> Any:
            return variable.assign(self._forget_and_add(variable, update, total))

        def _update_eig(
            eig_vals: tf.Variable, eig_matrix: tf.Variable, cov: Any
        ) -> Any:
            values, vectors = tf.linalg.eigh(tf.convert_to_tensor(cov))
            return eig_vals.assign(values), eig_matrix.assign(vectors)

        def _update_theta(theta: tf.Variable, covs: Any, datas: Any, eigs: Any) -> Any:
            eig_vals, eig_matrices = eigs if self._use_eigendecomp else (None, None)
            return theta.assign(
                _compute_theta(
                    covs, datas, eig_vals, eig_matrices, self._tikhonov_weight
                )
            )

        for model in range(n):
            num_samples = self._num_samples_list[model]
            extended.update(num_samples, _add_count, args=(reduced_counts[model],))
            extended.update(
                self._cov_matrix_list[model],
                _update_model,
                args=(reduced_cov[model], num_samples),
            )
            extended.update(
                self._data_vector_list[model],
                _update_model,
                args=(reduced_data[model], num_samples),
            )
            if self._use_eigendecomp:
                extended.update(
                    self._eig_vals_list[model],
                    _update_eig,
                    args=(self._eig_matrix_list[model], self._cov_matrix_list[model]),
                )
        extended.update(
            self._theta,
            _update_theta,
            args=(
                tuple(self._cov_matrix_list),
                tuple(self._data_vector_list),
                (tuple(self._eig_vals_list), tuple(self._eig_matrix_list)),
            ),
        )
        total_batch = extended.reduce_to(
            tf.distribute.ReduceOp.SUM, batch_size, self.train_step_counter
        )
        extended.update(
            self.train_step_counter,
            lambda counter, inc: counter.assign_add(tf.cast(inc, counter.dtype)),
            args=(total_batch,),
        )


def _compute_theta(
    cov_matrices: Sequence[Any],
    data_vectors: Sequence[Any],
    eig_vals: Sequence[Any] | None,
    eig_matrices: Sequence[Any] | None,
    tikhonov_weight: types.Float,
) -> tf.Tensor:
    """`[num_models, d]`: `(A_k + lambda I)^-1 b_k` for each model `k` (one solve)."""
    data = tf.stack([tf.convert_to_tensor(d) for d in data_vectors])
    solved = lin_policy.regularized_solve(
        lin_policy.stacked_models(cov_matrices, data.dtype),
        data[..., tf.newaxis],
        tikhonov_weight,
        lin_policy.stacked_models(eig_vals, data.dtype),
        lin_policy.stacked_models(eig_matrices, data.dtype),
    )
    return solved[..., 0]
