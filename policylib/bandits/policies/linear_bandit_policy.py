"""`LinearBanditPolicy`: acts on ridge-regression reward estimates and their uncertainty.

A model is `A` (sum of outer products of the contexts it was trained on),
`b` (reward-weighted sum of those contexts) and the ridge weight `lambda`.
For a context `x` it predicts the mean reward `x^T (A + lambda I)^-1 b` and
the variance proxy `x^T (A + lambda I)^-1 x`, then picks the arm with the
largest

- `mean + alpha * sqrt(variance)` (`ExplorationStrategy.optimistic`, LinUCB:
  Li et al., WWW 2010), or
- a draw from `Normal(mean, alpha * sqrt(variance))`
  (`ExplorationStrategy.sampling`, linear Thompson sampling: Agrawal & Goyal,
  ICML 2013).

Without per-arm features each arm has its own model on the global context.
With per-arm features (`accepts_per_arm_features=True`) there is one model
whose context for arm `k` is `[global, per_arm[k]]`.

The model quantities may be tensors or `tf.Variable`s; with variables the
policy follows every assignment (an agent trains them in place).
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.policies import greedy_policy, tf_policy
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

from . import linalg

__all__ = [
    "ExplorationStrategy",
    "LinearBanditPolicy",
    "context_dims_from_spec",
    "regularized_solve",
]

# Below this (static) alpha, exploration is off and a given `theta` suffices.
_GREEDY_ALPHA = 1e-12


class ExplorationStrategy(enum.Enum):
    """How a linear bandit policy turns reward estimates into an action."""

    optimistic = 1
    sampling = 2


def context_dims_from_spec(
    context_spec: Any, accepts_per_arm_features: bool
) -> tuple[int, int]:
    """(global dim, per-arm dim) of a linear bandit's context spec.

    A scalar global context counts as one feature; the per-arm dim is 0
    without per-arm features.

    Raises:
      ValueError: the spec is not a vector (or scalar) spec, or a per-arm
        dict without `global` / `per_arm` entries of rank 1 / 2.
    """
    if accepts_per_arm_features:
        if not isinstance(context_spec, dict) or not {
            bandit_spec_utils.GLOBAL_FEATURE_KEY,
            bandit_spec_utils.PER_ARM_FEATURE_KEY,
        } <= set(context_spec):
            raise ValueError(
                "With per-arm features the observation spec must be a dict with "
                f"'{bandit_spec_utils.GLOBAL_FEATURE_KEY}' and "
                f"'{bandit_spec_utils.PER_ARM_FEATURE_KEY}' entries; got {context_spec!r}."
            )
        global_shape = context_spec[bandit_spec_utils.GLOBAL_FEATURE_KEY].shape
        arm_shape = context_spec[bandit_spec_utils.PER_ARM_FEATURE_KEY].shape
        if global_shape.rank != 1 or arm_shape.rank != 2:
            raise ValueError(
                "Per-arm observation specs must be global [global_dim] and per_arm "
                f"[num_actions, arm_dim]; got {global_shape} and {arm_shape}."
            )
        return int(global_shape[0]), int(arm_shape[1])
    shape = getattr(context_spec, "shape", None)
    if shape is None or tf.nest.is_nested(context_spec):
        raise ValueError(
            "A linear bandit without per-arm features needs one vector observation "
            f"spec (after the action-mask splitter); got {context_spec!r}."
        )
    shape = tf.TensorShape(shape)
    if shape.rank == 0:
        return 1, 0
    if shape.rank != 1 or shape[0] is None:
        raise ValueError(
            "A linear bandit's observation spec must have shape [context_dim]; "
            f"got {shape}."
        )
    return int(shape[0]), 0


def regularized_solve(
    cov_matrix: types.Float,
    rhs: types.Float,
    tikhonov_weight: types.Float,
    eig_vals: types.Float | None = None,
    eig_matrix: types.Float | None = None,
) -> tf.Tensor:
    """`(A + tikhonov_weight * I)^-1 rhs` for a model's `A` and `rhs` `[d, n]`.

    Also for a stack of models at once: `A` `[m, d, d]` and `rhs` `[m, d, n]`
    (eigen-pairs `[m, d]` and `[m, d, d]`). With `eig_vals`/`eig_matrix`
    (`A = Q diag(e) Q^T`) the solve is two matmuls; otherwise it runs
    conjugate gradients on the regularized `A`.
    """
    rhs = tf.convert_to_tensor(rhs)
    if eig_matrix is not None and eig_vals is not None:
        q = tf.convert_to_tensor(eig_matrix, dtype=rhs.dtype)
        inv_vals = 1.0 / (
            tf.convert_to_tensor(eig_vals, dtype=rhs.dtype) + tikhonov_weight
        )
        return tf.matmul(
            q, inv_vals[..., tf.newaxis] * tf.matmul(q, rhs, transpose_a=True)
        )
    a_mat = tf.convert_to_tensor(cov_matrix, dtype=rhs.dtype)
    dim = tf.shape(a_mat)[-1]
    regularized = a_mat + tf.cast(tikhonov_weight, rhs.dtype) * tf.eye(
        dim, dtype=rhs.dtype
    )
    if regularized.shape.rank == 3:
        return linalg.batch_conjugate_gradient(regularized, rhs)
    return linalg.conjugate_gradient(regularized, rhs)


def stacked_models(values: Sequence[Any] | None, dtype: tf.DType) -> tf.Tensor | None:
    """The models' variables (or tensors) as one `[num_models, ...]` tensor.

    None when there are none (e.g. no eigendecomposition is kept), so the
    result goes straight to `regularized_solve`.
    """
    if not values:
        return None
    return tf.stack([tf.convert_to_tensor(v, dtype=dtype) for v in values])


def _as_list(value: Any, name: str, kind: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ValueError(
            f"{name} must be a list of {kind} (Tensors or Variables), one per model; "
            f"got {type(value).__name__}."
        )
    return list(value)


def _static_number(value: Any) -> float | None:
    if isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
        return float(value)
    return None


class LinearBanditPolicy(tf_policy.TFPolicy):
    """The policy of LinUCB and linear Thompson sampling agents.

    Args:
      action_spec: a scalar int32/int64 `BoundedTensorSpec` with minimum 0.
      cov_matrix: per model, the `[d, d]` matrix `A`. One model per arm, or
        exactly one with per-arm features.
      data_vector: per model, the `[d]` vector `b`.
      num_samples: per model, the number of examples it was trained on.
      time_step_spec: the `TimeStep` spec of the observations.
      exploration_strategy: an `ExplorationStrategy`.
      alpha: scale of the exploration bonus (or sampling std).
      eig_vals: per model, the eigenvalues of `A` (with `eig_matrix`: solve
        through the eigen-decomposition instead of conjugate gradients).
      eig_matrix: per model, the `[d, d]` eigenvectors of `A` (columns).
      tikhonov_weight: the ridge weight `lambda`.
      add_bias: append a constant 1 feature to the global context.
      emit_policy_info: `InfoFields` names of the predicted rewards to emit.
      emit_log_probability: emit the log probability (0: the choice is
        deterministic given the sample). Ignored for sampling.
      accepts_per_arm_features: observations are per-arm dicts.
      observation_and_action_constraint_splitter: `obs -> (context, mask)`
        with a `[batch, num_actions]` 0/1 mask of allowed actions.
      theta: optional `[num_models, d]` precomputed `(A + lambda I)^-1 b`;
        with `alpha` ~ 0 it replaces the solves (fast greedy inference). It
        must agree with the other arguments.
      name: the policy's name.

    Raises:
      ValueError: inconsistent arguments; the message names the argument.
      NotImplementedError: an action mask together with per-arm features.
    """

    def __init__(
        self,
        action_spec: types.BoundedTensorSpec,
        cov_matrix: Sequence[types.Float],
        data_vector: Sequence[types.Float],
        num_samples: Sequence[types.Int],
        time_step_spec: ts.TimeStep | None = None,
        exploration_strategy: ExplorationStrategy = ExplorationStrategy.optimistic,
        alpha: types.Float = 1.0,
        eig_vals: Sequence[types.Float] = (),
        eig_matrix: Sequence[types.Float] = (),
        tikhonov_weight: float = 1.0,
        add_bias: bool = False,
        emit_policy_info: Sequence[str] = (),
        emit_log_probability: bool = False,
        accepts_per_arm_features: bool = False,
        observation_and_action_constraint_splitter: types.Splitter = None,
        theta: types.Tensor | None = None,
        name: str | None = None,
    ):
        policy_utilities.check_no_mask_with_arm_features(
            accepts_per_arm_features, observation_and_action_constraint_splitter
        )
        if time_step_spec is None:
            raise ValueError("LinearBanditPolicy needs a time_step_spec.")
        if tf.nest.is_nested(action_spec):
            raise ValueError(
                f"Nested `action_spec` is not supported; got {action_spec!r}."
            )
        if not isinstance(exploration_strategy, ExplorationStrategy):
            raise ValueError(
                "exploration_strategy must be an ExplorationStrategy "
                f"(optimistic or sampling); got {exploration_strategy!r}."
            )
        self._cov_matrix = _as_list(cov_matrix, "cov_matrix", "matrices")
        self._data_vector = _as_list(data_vector, "data_vector", "vectors")
        self._num_samples = _as_list(num_samples, "num_samples", "counts")
        self._eig_vals = _as_list(eig_vals, "eig_vals", "vectors")
        self._eig_matrix = _as_list(eig_matrix, "eig_matrix", "matrices")
        self._exploration_strategy = exploration_strategy
        if exploration_strategy == ExplorationStrategy.sampling:
            # A sampled argmax has no closed-form probability.
            emit_log_probability = False
        self._alpha = alpha
        self._tikhonov_weight = tikhonov_weight
        self._add_bias = add_bias
        self._accepts_per_arm_features = accepts_per_arm_features
        self._use_eigendecomp = bool(self._eig_matrix)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._num_models = 1 if accepts_per_arm_features else self._num_actions
        self._check_model_lists()

        context_spec: Any = time_step_spec.observation
        if observation_and_action_constraint_splitter is not None:
            context_spec, _ = observation_and_action_constraint_splitter(context_spec)
        self._global_context_dim, self._arm_context_dim = context_dims_from_spec(
            context_spec, accepts_per_arm_features
        )
        # The size of each observed global context (before the bias feature);
        # None for a scalar context.
        global_spec = (
            context_spec[bandit_spec_utils.GLOBAL_FEATURE_KEY]
            if accepts_per_arm_features
            else context_spec
        )
        self._observed_global_dim = (
            self._global_context_dim if global_spec.shape.rank == 1 else None
        )
        if add_bias:
            self._global_context_dim += 1  # The constant 1 feature.
        self._overall_context_dim = self._global_context_dim + self._arm_context_dim
        self._check_model_dims()

        self._dtype = tf.as_dtype(self._data_vector[0].dtype)
        if theta is not None and tf.as_dtype(theta.dtype) != self._dtype:
            raise ValueError(
                f"The dtype of `theta` ({tf.as_dtype(theta.dtype).name}) must be the "
                f"dtype of `data_vector` ({self._dtype.name})."
            )
        self._theta = theta
        self._emit_policy_info = policy_utilities.checked_info_fields(emit_policy_info)
        info_spec = self._info_spec(time_step_spec.observation)
        super().__init__(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            info_spec=info_spec,
            emit_log_probability=emit_log_probability,
            observation_and_action_constraint_splitter=(
                observation_and_action_constraint_splitter
            ),
            name=name,
        )

    # ------------------------------------------------------------------------
    # Construction checks and specs

    def _check_model_lists(self) -> None:
        counts = {
            "data_vector": len(self._data_vector),
            "num_samples": len(self._num_samples),
        }
        for arg, count in counts.items():
            if count != len(self._cov_matrix):
                raise ValueError(
                    f"The lists cov_matrix and {arg} must have one entry per model; "
                    f"got {len(self._cov_matrix)} and {count}."
                )
        if self._accepts_per_arm_features and len(self._cov_matrix) != 1:
            raise ValueError(
                "With per-arm features there is one model: cov_matrix must have "
                f"length 1; got {len(self._cov_matrix)}."
            )
        if not self._accepts_per_arm_features and (
            len(self._cov_matrix) != self._num_actions
        ):
            raise ValueError(
                f"cov_matrix has {len(self._cov_matrix)} entries but the action_spec "
                f"has {self._num_actions} actions; one model per action is needed."
            )
        if self._use_eigendecomp and (
            len(self._eig_matrix) != self._num_models
            or len(self._eig_vals) != self._num_models
        ):
            raise ValueError(
                f"eig_matrix and eig_vals need {self._num_models} entries (one per "
                f"model); got {len(self._eig_matrix)} and {len(self._eig_vals)}."
            )
        if self._eig_vals and not self._eig_matrix:
            raise ValueError("eig_vals was given without eig_matrix.")

    def _check_model_dims(self) -> None:
        d = self._overall_context_dim
        cov_dim = tf.compat.dimension_value(self._cov_matrix[0].shape[0])
        if cov_dim != d:
            raise ValueError(
                f"The dimension of `cov_matrix` must be the overall context dimension "
                f"{d} (global {self._global_context_dim}, per-arm "
                f"{self._arm_context_dim}); got {cov_dim}."
            )
        data_dim = tf.compat.dimension_value(self._data_vector[0].shape[0])
        if data_dim != d:
            raise ValueError(
                f"The dimension of `data_vector` must be the overall context dimension "
                f"{d}; got {data_dim}."
            )

    def _info_spec(
        self, observation_spec: Any
    ) -> policy_utilities.PolicyInfo | policy_utilities.PerArmPolicyInfo:
        def _rewards_spec(field: str) -> Any:
            if field not in self._emit_policy_info:
                return ()
            return tensor_spec.TensorSpec([self._num_actions], dtype=self._dtype)

        fields = {
            field: _rewards_spec(field)
            for field in (
                policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,
                policy_utilities.InfoFields.PREDICTED_REWARDS_OPTIMISTIC,
                policy_utilities.InfoFields.PREDICTED_REWARDS_SAMPLED,
            )
        }
        if self._accepts_per_arm_features:
            return policy_utilities.PerArmPolicyInfo(
                chosen_arm_features=policy_utilities.create_chosen_arm_features_info_spec(
                    observation_spec
                ),
                **fields,
            )
        return policy_utilities.PolicyInfo(**fields)

    # ------------------------------------------------------------------------
    # Reward estimates

    def _solve(self, model: int, rhs: tf.Tensor) -> tf.Tensor:
        """`(A + lambda I)^-1 rhs` of model `model`, for `rhs` of shape `[d, n]`."""
        return regularized_solve(
            self._cov_matrix[model],
            rhs,
            self._tikhonov_weight,
            self._eig_vals[model] if self._use_eigendecomp else None,
            self._eig_matrix[model] if self._use_eigendecomp else None,
        )

    def _contexts(
        self, global_observation: tf.Tensor, arm_observations: tf.Tensor | None
    ) -> tf.Tensor:
        """The model input of every arm, `[batch, num_actions, d]` (per-arm only)."""
        assert arm_observations is not None
        tiled_global = tf.tile(
            global_observation[:, tf.newaxis, :], [1, self._num_actions, 1]
        )
        return tf.concat([tiled_global, arm_observations], axis=-1)

    def _predict_mean_reward(
        self,
        theta: types.Tensor,
        global_observation: tf.Tensor,
        arm_observations: tf.Tensor | None,
    ) -> tf.Tensor:
        """`[batch, num_actions]` mean rewards from `theta` (`[num_models, d]`)."""
        theta = tf.convert_to_tensor(theta)
        if self._accepts_per_arm_features:
            contexts = self._contexts(global_observation, arm_observations)
            return tf.linalg.matvec(contexts, theta[0])
        return tf.matmul(global_observation, theta, transpose_b=True)

    def _predict_mean_reward_and_variance(
        self, global_observation: tf.Tensor, arm_observations: tf.Tensor | None
    ) -> tuple[tf.Tensor, tf.Tensor]:
        """`[batch, num_actions]` means `x^T A_l^-1 b` and variances `x^T A_l^-1 x`."""
        if self._accepts_per_arm_features:
            contexts = self._contexts(global_observation, arm_observations)
            flat = tf.reshape(contexts, [-1, self._overall_context_dim])
            a_inv_x = self._solve(0, tf.transpose(flat))  # [d, batch * arms]
            mean = tf.linalg.matvec(a_inv_x, self._data_vector[0], transpose_a=True)
            variance = tf.reduce_sum(tf.transpose(flat) * a_inv_x, axis=0)
            shape = [-1, self._num_actions]
            return tf.reshape(mean, shape), tf.reshape(variance, shape)
        # Every arm's model in one batched solve (one set of ops, not one per arm).
        x_t = tf.transpose(global_observation)  # [d, batch]
        models = len(self._cov_matrix)
        a_inv_x = regularized_solve(  # [arms, d, batch]
            stacked_models(self._cov_matrix, x_t.dtype),
            tf.tile(x_t[tf.newaxis], [models, 1, 1]),
            self._tikhonov_weight,
            stacked_models(
                self._eig_vals if self._use_eigendecomp else None, x_t.dtype
            ),
            stacked_models(
                self._eig_matrix if self._use_eigendecomp else None, x_t.dtype
            ),
        )
        data = stacked_models(self._data_vector, x_t.dtype)  # [arms, d]
        means = tf.einsum("adb,ad->ba", a_inv_x, data)
        variances = tf.einsum("db,adb->ba", x_t, a_inv_x)
        return means, variances

    # ------------------------------------------------------------------------
    # Acting

    def _checked_inputs(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor, caller: str
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        # A context of the wrong size is the likeliest input mistake: report it
        # in bandit terms before the generic spec check does.
        self._check_global_observation_size(time_step.observation)
        return super()._checked_inputs(time_step, policy_state, caller)

    def _check_global_observation_size(self, observation: Any) -> None:
        if self._observed_global_dim is None:
            return
        if self._observation_and_action_constraint_splitter is not None:
            observation, _ = self._observation_and_action_constraint_splitter(
                observation
            )
        path = "time_step.observation"
        if self._accepts_per_arm_features:
            if not isinstance(observation, dict):
                return  # The spec check names the structure mismatch.
            observation = observation.get(bandit_spec_utils.GLOBAL_FEATURE_KEY)
            path += f"/{bandit_spec_utils.GLOBAL_FEATURE_KEY}"
        shape = getattr(observation, "shape", None)
        if shape is None:
            return
        shape = tf.TensorShape(shape)
        if shape.rank is None or shape.rank < 1:
            return
        size = tf.compat.dimension_value(shape[-1])
        if size is not None and size != self._observed_global_dim:
            expected = [None, self._observed_global_dim]
            raise ValueError(
                f"Global observation shape is expected to be {expected}. Got "
                f"{shape.as_list()}. ({path}: the agent's context dimension is "
                f"{self._observed_global_dim}, the observation's {size}.)"
            )

    def _split_observation(
        self, observation: Any
    ) -> tuple[tf.Tensor, tf.Tensor | None]:
        """(global `[batch, global_dim]` with the bias feature, per-arm or None)."""
        if self._accepts_per_arm_features:
            global_observation = observation[bandit_spec_utils.GLOBAL_FEATURE_KEY]
            arm_observations = observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
            expected = [None, self._num_actions, self._arm_context_dim]
            if not arm_observations.shape.is_compatible_with(expected):
                raise ValueError(
                    f"Arm observation shape is expected to be {expected}. Got "
                    f"{arm_observations.shape.as_list()}."
                )
        else:
            global_observation = observation
            arm_observations = None
            if global_observation.shape.rank == 1:  # A scalar context per entry.
                global_observation = global_observation[:, tf.newaxis]
        if self._add_bias:
            ones = tf.ones([tf.shape(global_observation)[0], 1], dtype=self._dtype)
            global_observation = tf.concat([global_observation, ones], axis=1)
        expected = [None, self._global_context_dim]
        if not global_observation.shape.is_compatible_with(expected):
            raise ValueError(
                f"Global observation shape is expected to be {expected}. Got "
                f"{global_observation.shape.as_list()}."
            )
        return global_observation, arm_observations

    def _action_mask(self, observation: types.NestedTensor) -> tf.Tensor | None:
        """The splitter's mask, or a mask from the `num_actions` feature, or None."""
        if self._observation_and_action_constraint_splitter is not None:
            _, mask = self._observation_and_action_constraint_splitter(observation)
            return mask
        if (
            isinstance(observation, dict)
            and bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY in observation
        ):
            return tf.sequence_mask(
                observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY],
                maxlen=self._num_actions,
                dtype=tf.int32,
            )
        return None

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        observation: Any = time_step.observation
        if self._observation_and_action_constraint_splitter is not None:
            observation, _ = self._observation_and_action_constraint_splitter(
                observation
            )
        # The info reports the chosen arm's features as observed (spec dtype).
        raw_arm_observations = (
            observation[bandit_spec_utils.PER_ARM_FEATURE_KEY]
            if self._accepts_per_arm_features
            else None
        )
        observation = tf.nest.map_structure(
            lambda t: tf.cast(t, self._dtype), observation
        )
        global_observation, arm_observations = self._split_observation(observation)

        alpha = _static_number(self._alpha)
        if self._theta is not None and alpha is not None and abs(alpha) < _GREEDY_ALPHA:
            est_rewards = self._predict_mean_reward(
                self._theta, global_observation, arm_observations
            )
            rewards_for_argmax = est_rewards
        else:
            est_rewards, variances = self._predict_mean_reward_and_variance(
                global_observation, arm_observations
            )
            # Rounding can leave tiny negative variances.
            scale = tf.cast(self._alpha, self._dtype) * tf.sqrt(
                tf.maximum(variances, 0.0)
            )
            if self._exploration_strategy == ExplorationStrategy.optimistic:
                rewards_for_argmax = est_rewards + scale
            else:
                noise = tf.random.normal(tf.shape(est_rewards), dtype=self._dtype)
                rewards_for_argmax = est_rewards + scale * noise

        action_dtype = self._action_spec.dtype
        mask = self._action_mask(time_step.observation)
        if mask is not None:
            chosen_actions = policy_utilities.masked_argmax(
                rewards_for_argmax, mask, output_type=action_dtype
            )
        else:
            chosen_actions = tf.argmax(
                rewards_for_argmax, axis=-1, output_type=action_dtype
            )
        info = policy_utilities.populate_policy_info(
            raw_arm_observations,
            chosen_actions,
            rewards_for_argmax,
            est_rewards,
            self._emit_policy_info,
            self._accepts_per_arm_features,
        )
        return policy_step.PolicyStep(
            greedy_policy.DeterministicWithLogProb(loc=chosen_actions),
            policy_state,
            info,
        )
