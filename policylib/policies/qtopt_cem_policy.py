"""`CEMPolicy`: QT-Opt's cross-entropy-method (CEM) maximisation of a Q-network.

A Q-network `Q((observation, action)) -> [B]` scores actions; the policy
searches, per observation, for the action that maximises it. Each of
`num_iterations` rounds, a sampler (`policies.samplers`) draws `num_samples`
actions around a per-row mean and variance, the network scores them, and the
sampler refits mean and variance to the `num_elites` best. The action is the
best of the last round; with an `actor_policy`, that policy's action wherever
its Q-value is at least as high.

Shapes: `B` batch, `T` time, `N` samples, `M` elites, `A` the size of a 1-d
action leaf.
"""

from __future__ import annotations

import collections
import collections.abc
from typing import Any

import gin
import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.networks import network
from policylib.networks import utils as network_utils
from policylib.policies import greedy_policy, tf_policy
from policylib.policies.samplers import qtopt_cem_actions_sampler
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common

__all__ = ["CEMPolicy", "convert_nest_lists_to_np_array"]


def convert_nest_lists_to_np_array(nested_list: types.NestedTensorOrArray) -> Any:
    """`nested_list` with each list or array leaf as a float32 NumPy array.

    A list is a leaf (an action vector), not a level of the nest; mappings
    and tuples (namedtuples too) are levels and keep their types. Everything
    becomes float32, the dtype the CEM loop runs in; samplers cast their
    samples back to the action dtypes.

    Raises:
      ValueError: a leaf is neither a list nor a NumPy array.
    """
    if isinstance(nested_list, collections.abc.Mapping):
        items = [(k, convert_nest_lists_to_np_array(v)) for k, v in nested_list.items()]
        mapping_type: Any = type(nested_list)
        if isinstance(nested_list, collections.defaultdict):
            return mapping_type(nested_list.default_factory, items)
        return mapping_type(items)
    if isinstance(nested_list, tuple):
        values = [convert_nest_lists_to_np_array(v) for v in nested_list]
        if hasattr(nested_list, "_fields"):  # namedtuple
            return type(nested_list)(*values)
        return tuple(values)
    if isinstance(nested_list, (list, np.ndarray)):
        return np.asarray(nested_list, dtype=np.float32)
    raise ValueError(
        "The nested type is not supported: expected a mapping, tuple, list or NumPy "
        f"array, got {type(nested_list).__name__}: {nested_list!r}."
    )


def _check_network_action_spec(action_spec: Any, q_network: Any) -> None:
    """ValueError unless `action_spec` matches `q_network.action_spec` (if it has one)."""
    network_spec = getattr(q_network, "action_spec", None)
    if network_spec is None:
        return
    try:
        tf.nest.assert_same_structure(action_spec, network_spec, check_types=False)
        compatible = all(
            a.is_compatible_with(b)
            for a, b in zip(tf.nest.flatten(action_spec), tf.nest.flatten(network_spec))
        )
    except (ValueError, TypeError):
        compatible = False
    if not compatible:
        raise ValueError(
            "action_spec must be compatible with q_network.action_spec; instead got "
            f"action_spec={action_spec}, q_network.action_spec={network_spec}"
        )


def _dim(tensor: tf.Tensor, axis: int) -> Any:
    """The size of `tensor` along `axis`: a Python int when static."""
    static = tensor.shape[axis]
    return static if static is not None else tf.shape(tensor)[axis]


def _relaxed_shape(tensor: tf.Tensor) -> tf.TensorShape:
    """`tensor`'s static shape with an unknown outer (batch) dim."""
    return tf.TensorShape([None]).concatenate(tensor.shape[1:])


@gin.configurable
class CEMPolicy(tf_policy.TFPolicy):
    """Acts with the action CEM finds to maximise a Q-network.

    Handles nests of 1-d actions that its sampler can draw: continuous
    (`qtopt_cem_actions_sampler_continuous`), continuous and discrete
    (`..._hybrid`), or continuous chosen by one one-hot action
    (`..._continuous_and_one_hot`).

    Args:
      time_step_spec: the `TimeStep` spec.
      action_spec: nest of 1-d `BoundedTensorSpec`s.
      q_network: a `Network` mapping `(observation, action)` to `[B]` Q-values
        (with `network_state` if it has a state).
      sampler: the `ActionsSampler` that draws and refits the candidates.
      init_mean: nest like `action_spec` of lists or arrays, the initial mean
        of every row (converted by `convert_nest_lists_to_np_array`).
      init_var: the initial variance, like `init_mean`.
      actor_policy: a policy whose action is used instead of CEM's wherever
        its Q-value is at least as high.
      minimal_var: the variance floor of each round, so the search does not
        collapse onto one point.
      info_spec: spec of the info; zeros, except a `"target_q"` key of a dict
        info, which gets the chosen action's Q-value.
      num_samples: `N`, actions drawn per row and round.
      num_elites: `M`, the best actions each round refits to (at most `N`).
      num_iterations: rounds of the search.
      emit_log_probability: add log-probabilities (0) to the info.
      preprocess_state_action: score all `B * N` (observation, action) pairs
        in one batch: observations, step types and states are repeated `N`
        times per row. Without it the network receives `[B, ...]` observations
        and `[B, N, A]` actions and returns `[B, N]`; with a time dim,
        `[B, T, ...]` observations and `[B, T, N, A]` actions, returning
        `[B, N, T]` (TF-Agents' layout).
      training: the `training` flag the network is called with.
      weights: kept for TF-Agents' signature; unused.
      name: module name.

    Raises:
      ValueError: `action_spec` is not compatible with `q_network.action_spec`,
        the network does not emit one float per row, a leaf is not 1-d, a
        count is out of range, or `init_mean` / `init_var` do not match
        `action_spec`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        q_network: network.Network,
        sampler: qtopt_cem_actions_sampler.ActionsSampler,
        init_mean: types.NestedArray,
        init_var: types.NestedArray,
        actor_policy: tf_policy.TFPolicy | None = None,
        minimal_var: float = 0.0001,
        info_spec: types.NestedSpecTensorOrArray = (),
        num_samples: int = 32,
        num_elites: int = 4,
        num_iterations: int = 32,
        emit_log_probability: bool = False,
        preprocess_state_action: bool = True,
        training: bool = False,
        weights: types.NestedTensorOrArray = None,
        name: str | None = None,
    ):
        action_spec = tensor_spec.from_spec(action_spec)
        _check_network_action_spec(action_spec, q_network)
        for path, spec in nest_utils.flatten_with_joined_paths(action_spec):
            if spec.shape.rank != 1 or spec.shape[0] is None:
                raise ValueError(
                    "CEMPolicy needs 1-d action leaves, but action_spec leaf "
                    f"{path or '<root>'!r} is {spec!r}; split it into 1-d leaves."
                )
        for label, count, least in (
            ("num_samples", num_samples, 1),
            ("num_elites", num_elites, 1),
            ("num_iterations", num_iterations, 0),
        ):
            if not isinstance(count, (int, np.integer)) or count < least:
                raise ValueError(
                    f"{label} must be an integer >= {least}, got {count!r}."
                )
        if minimal_var < 0:
            raise ValueError(f"minimal_var must be >= 0, got {minimal_var}.")
        if sampler is not None and not all(
            callable(getattr(sampler, method, None))
            for method in ("sample_batch_and_clip", "refit_distribution_to")
        ):
            raise TypeError(
                "sampler must be an ActionsSampler (with sample_batch_and_clip and "
                f"refit_distribution_to), got {type(sampler).__name__}."
            )
        self._action_spec = action_spec  # read by `_converted` before super().__init__
        for label, params in (("init_mean", init_mean), ("init_var", init_var)):
            if params is not None:
                self._converted(params, label)
        if q_network is not None:
            network_utils.check_single_floating_network_output(
                q_network.create_variables(), (), str(q_network)
            )
            policy_state_spec = q_network.state_spec
        else:
            policy_state_spec = ()
        self._actor_policy = actor_policy
        self._q_network = q_network
        self._init_mean = init_mean
        self._init_var = init_var
        self._minimal_var = minimal_var
        self._num_samples = int(num_samples)
        self._num_elites = int(num_elites)
        self._num_iterations = int(num_iterations)
        self._actions_sampler = sampler
        self._observation_spec = time_step_spec.observation
        self._training = training
        self._preprocess_state_action = preprocess_state_action
        self._weights = weights
        super().__init__(
            time_step_spec,
            action_spec,
            info_spec=info_spec,
            policy_state_spec=policy_state_spec,
            clip=False,
            emit_log_probability=emit_log_probability,
            name=name,
        )

    def _converted(self, params: types.NestedArray, label: str) -> Any:
        """`params` as float32 arrays, checked against the action spec."""
        if params is None:
            raise ValueError(
                f"CEMPolicy was built with {label}=None; the CEM search needs it."
            )
        converted = convert_nest_lists_to_np_array(params)
        nest_utils.assert_same_structure(
            converted,
            self._action_spec,
            check_types=False,
            message=f"CEMPolicy: {label} must have the structure of action_spec",
        )
        for (path, value), spec in zip(
            nest_utils.flatten_with_joined_paths(converted),
            tf.nest.flatten(self._action_spec),
        ):
            if value.ndim < 1 or value.shape[-1] != spec.shape[0]:
                raise ValueError(
                    f"CEMPolicy: {label} leaf {path or '<root>'!r} has shape "
                    f"{value.shape}; its last dim must be the action size "
                    f"{spec.shape[0]} of {spec!r}."
                )
        return converted

    def _initial_params(self, batch_size: types.Int) -> tuple[Any, Any]:
        """`init_mean` and `init_var` broadcast to `[batch_size, A]` per leaf."""

        def rows(value: np.ndarray) -> tf.Tensor:
            return tf.broadcast_to(tf.constant(value), [batch_size, value.shape[-1]])

        mean = tf.nest.map_structure(
            rows, self._converted(self._init_mean, "init_mean")
        )
        var = tf.nest.map_structure(rows, self._converted(self._init_var, "init_var"))
        return mean, var

    def actor_func(
        self,
        observation: types.NestedTensorOrArray,
        step_type: Any,
        policy_state: types.NestedTensor,
    ) -> tuple[types.NestedTensor, tf.Tensor, types.NestedTensor]:
        """Runs the CEM search for a batch of observations.

        Args:
          observation: `[B, ...]` or `[B, T, ...]` observations.
          step_type: their step types (or `()`), handed to the network.
          policy_state: the network state (or `()`).

        Returns:
          `(elites, scores, next_state)`: the last round's elites, best first,
          a nest of `[B, M, A]` (`[B, T, M, A]`); their Q-values `[B, M]`
          (`[B, T, M]`); the network state after scoring.
        """
        if self._actions_sampler is None:
            raise ValueError(
                "CEMPolicy was built with sampler=None; the search needs one."
            )
        if self._num_elites > self._num_samples:
            raise ValueError(
                f"num_elites ({self._num_elites}) must not exceed num_samples "
                f"({self._num_samples})."
            )
        outer_rank = nest_utils.get_outer_rank(observation, self._observation_spec)
        if outer_rank not in (1, 2):
            raise ValueError(
                "CEMPolicy needs observations with a batch dim, [B, ...], or batch and "
                f"time dims, [B, T, ...]; got {outer_rank} outer dims over "
                f"{self._observation_spec}."
            )
        first = tf.convert_to_tensor(tf.nest.flatten(observation)[0])
        seq_size = _dim(first, 1) if outer_rank == 2 else 1
        rows = _dim(first, 0) * seq_size  # B, or B * T
        sampler = self._actions_sampler
        num_samples, num_elites = self._num_samples, self._num_elites
        # What the network sees besides the actions is the same every round:
        # repeat it per sample once, not in each of the rounds.
        scored_observation, scored_step_type, scored_state = self._scoring_inputs(
            observation, step_type, policy_state
        )

        def body(
            i: tf.Tensor,
            mean: Any,
            var: Any,
            elites: Any,
            scores: tf.Tensor,
            state: Any,
        ) -> tuple[Any, ...]:
            del elites, scores, state
            var = tf.nest.map_structure(lambda v: tf.maximum(v, self._minimal_var), var)
            actions = sampler.sample_batch_and_clip(num_samples, mean, var, observation)
            scored = (scored_observation, actions, scored_step_type, scored_state)
            if outer_rank == 2:
                q_values, next_state = self._score_with_time(
                    *scored, seq_size, inputs_tiled=True
                )
            else:
                q_values, next_state = self._score(*scored, inputs_tiled=True)
            best_scores, indices = tf.math.top_k(
                tf.cast(q_values, tf.float32), num_elites
            )
            mean, var = sampler.refit_distribution_to(
                indices,
                tf.nest.map_structure(lambda a: tf.cast(a, tf.float32), actions),
            )
            best = tf.nest.map_structure(
                lambda a: tf.gather(a, indices, batch_dims=1), actions
            )
            return i + 1, mean, var, best, best_scores, next_state

        mean, var = self._initial_params(rows)
        elites = tf.nest.map_structure(
            lambda spec: tf.zeros([rows, num_elites, spec.shape[0]], spec.dtype),
            self._action_spec,
        )
        scores = tf.zeros([rows, num_elites], tf.float32)
        state_shape = (
            tf.nest.map_structure(
                lambda s: _relaxed_shape(tf.convert_to_tensor(s)), policy_state
            )
            if common.safe_has_state(policy_state)
            else policy_state
        )
        _, _, _, elites, scores, next_state = tf.while_loop(
            cond=lambda i, *_: i < self._num_iterations,
            body=body,
            loop_vars=(tf.constant(0), mean, var, elites, scores, policy_state),
            shape_invariants=(
                tf.TensorShape([]),
                tf.nest.map_structure(_relaxed_shape, mean),
                tf.nest.map_structure(_relaxed_shape, var),
                tf.nest.map_structure(_relaxed_shape, elites),
                tf.TensorShape([None, num_elites]),
                state_shape,
            ),
        )
        if outer_rank == 2:
            elites = tf.nest.map_structure(
                lambda e: tf.reshape(e, [-1, seq_size, num_elites, _dim(e, 2)]), elites
            )
            scores = tf.reshape(scores, [-1, seq_size, num_elites])
        return elites, scores, next_state

    def compute_target_q(
        self,
        observation: types.NestedTensorOrArray,
        action: types.NestedTensorOrArray,
        step_type: Any = None,
        policy_state: types.NestedTensor = (),
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        """`(Q-values, next network state)` of `action` in `observation`."""
        return self._q_network(
            (observation, action),
            step_type=step_type,
            network_state=policy_state,
            training=self._training,
        )

    def _tiled(self, value: Any) -> Any:
        """`value` with each row repeated `N` times (rows stay grouped)."""
        if value is None:
            return None
        return nest_utils.tile_batch(value, self._num_samples)

    def _scoring_inputs(
        self, observation: Any, step_type: Any, policy_state: Any
    ) -> tuple[Any, Any, Any]:
        """Observation, step type and state as the network scores them with samples.

        With `preprocess_state_action`, each row repeated `N` times; else as given.
        """
        if not self._preprocess_state_action:
            return observation, step_type, policy_state
        return (
            self._tiled(observation),
            self._tiled(step_type),
            self._tiled(policy_state),
        )

    def _score(
        self,
        observation: types.NestedTensorOrArray,
        sample_actions: types.NestedTensor,
        step_type: Any = None,
        policy_state: types.NestedTensor = (),
        inputs_tiled: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        """`[B, N]` Q-values of `[B, N, A]` sampled actions, and the next state.

        `inputs_tiled`: observation, step type and state come from
        `_scoring_inputs` already.
        """
        n = self._num_samples
        if not inputs_tiled:
            observation, step_type, policy_state = self._scoring_inputs(
                observation, step_type, policy_state
            )
        if self._preprocess_state_action:
            sample_actions = tf.nest.map_structure(
                lambda a: tf.reshape(a, [-1, _dim(a, 2)]), sample_actions
            )  # [B * N, A]
        q_values, next_state = self.compute_target_q(
            observation, sample_actions, step_type, policy_state
        )
        if self._preprocess_state_action:  # the state of each row's first sample
            next_state = tf.nest.map_structure(lambda s: s[::n], next_state)
        return tf.reshape(q_values, [-1, n]), next_state

    def _score_with_time(
        self,
        observation: types.NestedTensorOrArray,
        sample_actions: types.NestedTensor,
        step_type: Any,
        policy_state: types.NestedTensor,
        seq_size: Any,
        inputs_tiled: bool = False,
    ) -> tuple[tf.Tensor, types.NestedTensor]:
        """`[B * T, N]` Q-values of `[B * T, N, A]` actions for `[B, T, ...]` observations.

        `inputs_tiled`: as for `_score`.
        """
        n = self._num_samples
        if not inputs_tiled:
            observation, step_type, policy_state = self._scoring_inputs(
                observation, step_type, policy_state
            )

        def split_time(a: tf.Tensor) -> tf.Tensor:  # [B * T, N, A] -> [B, T, N, A]
            return tf.reshape(a, [-1, seq_size, _dim(a, 1), _dim(a, 2)])

        if self._preprocess_state_action:

            def samples_major(a: tf.Tensor) -> tf.Tensor:  # -> [B * N, T, A]
                size = _dim(a, 2)
                a = tf.transpose(split_time(a), [0, 2, 1, 3])
                return tf.reshape(a, [-1, seq_size, size])

            sample_actions = tf.nest.map_structure(samples_major, sample_actions)
        else:
            sample_actions = tf.nest.map_structure(split_time, sample_actions)
        q_values, next_state = self.compute_target_q(
            observation, sample_actions, step_type, policy_state
        )  # [B * N, T]
        if self._preprocess_state_action:
            next_state = tf.nest.map_structure(lambda s: s[::n], next_state)
        q_values = tf.transpose(tf.reshape(q_values, [-1, n, seq_size]), [0, 2, 1])
        return tf.reshape(q_values, [-1, n]), next_state

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        outer_shape = nest_utils.get_outer_shape(time_step, self._time_step_spec)
        if (
            not common.safe_has_state(policy_state)
            and self._q_network is not None
            and self._q_network.state_spec
        ):
            policy_state = self.get_initial_state(batch_size=outer_shape[0])
        elites, scores, next_state = self.actor_func(
            time_step.observation, time_step.step_type, policy_state
        )
        action = tf.nest.map_structure(lambda e: e[..., 0, :], elites)
        score = scores[..., 0]
        if self._actor_policy is not None:
            proposal = self._actor_policy.action(time_step).action
            proposal_q, _ = self.compute_target_q(time_step.observation, proposal)
            proposal_q = tf.cast(proposal_q, score.dtype)
            use_cem = score > proposal_q  # ties go to the actor, as in TF-Agents
            score = tf.where(use_cem, score, proposal_q)
            action = tf.nest.map_structure(
                lambda a, p: tf.where(use_cem[..., None], a, tf.cast(p, a.dtype)),
                action,
                proposal,
            )
        distribution = tf.nest.map_structure(
            lambda a: greedy_policy.DeterministicWithLogProb(loc=a), action
        )
        info = tensor_spec.zero_spec_nest(self._info_spec, outer_dims=outer_shape)
        if isinstance(info, collections.abc.MutableMapping) and "target_q" in info:
            info["target_q"] = tf.cast(score, info["target_q"].dtype)
        return policy_step.PolicyStep(distribution, next_state, info)
