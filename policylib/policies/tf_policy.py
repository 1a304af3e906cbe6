"""`TFPolicy`: the base class of policies written in TensorFlow.

A TF policy maps a batch of `TimeStep` tensors (and its state) to a
`PolicyStep`, either as actions (`action`) or as distributions over actions
(`distribution`). Both work eagerly and inside `tf.function`:

    policy_state = policy.get_initial_state(batch_size)
    step = policy.action(time_step, policy_state)      # tensors
    dist = policy.distribution(time_step, policy_state).action  # TFP distributions

The public methods are a fixed template that validates inputs, resets the
state of episodes that start, calls the subclass hook (`_action` or
`_distribution`), clips and checks the outputs. Subclasses implement
`_distribution` (then `_action` samples from it), or `_action` directly, and
`_get_initial_state` when zeros per state spec do not fit.
"""

from __future__ import annotations

import abc

import numpy as np
import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import policy_specs
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat, spec_ops

__all__ = ["TFPolicy"]


def _log_probability_spec() -> tf.TypeSpec:
    return tensor_spec.BoundedTensorSpec(
        shape=(), dtype=tf.float32, minimum=-np.inf, maximum=0.0, name="log_probability"
    )


class TFPolicy(tf.Module, policy_specs.PolicySpecs, metaclass=abc.ABCMeta):
    """Abstract TensorFlow policy.

    Args:
      time_step_spec: a `TimeStep` of tensor (or array) specs.
      action_spec: nest of (bounded) tensor specs of the actions.
      policy_state_spec: nest of tensor specs of the state; `()` if stateless.
      info_spec: nest of tensor specs of `PolicyStep.info`.
      clip: clip actions to the bounds of `BoundedTensorSpec` action leaves.
      emit_log_probability: add the actions' log probability to the info.
      automatic_state_reset: zero the state of batch entries whose step is FIRST.
      observation_and_action_constraint_splitter: function splitting an
        observation into `(observation, action_mask)`.
      validate_args: check input and output structures and action dtypes.
      name: module name; the snake-cased class name by default.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        policy_state_spec: types.NestedTensorSpec = (),
        info_spec: types.NestedTensorSpec = (),
        clip: bool = True,
        emit_log_probability: bool = False,
        automatic_state_reset: bool = True,
        observation_and_action_constraint_splitter: types.Splitter = None,
        validate_args: bool = True,
        name: str | None = None,
    ):
        super().__init__(name=name)
        common.check_tf1_allowed()
        common.assert_members_are_not_overridden(base_cls=TFPolicy, instance=self)
        if not isinstance(time_step_spec, ts.TimeStep):
            raise ValueError(
                "time_step_spec must be a TimeStep (see trajectories.time_step.time_step_spec), "
                f"got {type(time_step_spec).__name__}: {time_step_spec!r}."
            )
        action_spec = tensor_spec.from_spec(action_spec)
        info_spec = tensor_spec.from_spec(info_spec)
        if emit_log_probability:
            log_prob_spec = tf.nest.map_structure(
                lambda _: _log_probability_spec(), action_spec
            )
            info_spec = policy_step.set_log_probability(info_spec, log_prob_spec)
        self._emit_log_probability = emit_log_probability
        self._clip = clip
        self._automatic_state_reset = automatic_state_reset
        self._validate_args = validate_args
        self._setup_specs(
            tensor_spec.from_spec(time_step_spec),
            action_spec,
            tensor_spec.from_spec(policy_state_spec),
            info_spec,
            observation_and_action_constraint_splitter,
        )

    # ------------------------------------------------------------------------
    # Public template

    def variables(self) -> tuple[tf.Variable, ...]:
        """Every `tf.Variable` the policy holds, network weights included.

        Keras 3 weights count too (`tf.Module` alone does not see them), so
        `update()`, checkpoints and the saver work under both Keras versions.
        """
        return tuple(keras_compat.collect_variables(self))

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """The trainable ones of `variables()` (`tf.Module`'s own misses Keras 3 weights)."""
        return tuple(keras_compat.collect_variables(self, trainable_only=True))

    def get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        """The state for the first step: zeros of the state spec by default.

        Args:
          batch_size: the outer dim of the state, or None for an unbatched state.
        """
        return self._get_initial_state(batch_size)

    def action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor = (),
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        """The actions for a (batched) time step.

        Args:
          time_step: a `TimeStep` of tensors matching `time_step_spec`, with
            outer (batch) dims.
          policy_state: the state from the previous call or `get_initial_state`.
          seed: optional seed for stochastic policies.

        Returns:
          `PolicyStep(action, state, info)`; bounded actions are clipped to the
          spec when the policy clips.

        Raises:
          ValueError: the time step or state does not have the spec's structure.
          TypeError: the policy produced an action of the wrong dtype.
        """
        if not hasattr(self, "_validate_args"):
            raise RuntimeError(
                f"{type(self).__name__} was not initialized: call super().__init__() in its "
                "constructor."
            )
        time_step, policy_state = self._checked_inputs(
            time_step, policy_state, "action"
        )
        if self._automatic_state_reset:
            policy_state = self._maybe_reset_state(time_step, policy_state)
        step = self._action(time_step=time_step, policy_state=policy_state, seed=seed)
        if self._validate_args:
            nest_utils.assert_same_structure(
                step.action,
                self._action_spec,
                message="action output and action_spec structures do not match",
            )
        if self._clip:
            step = step._replace(action=_clip_bounded(step.action, self._action_spec))
        if self._validate_args:
            self._check_step(step)
            _check_action_dtypes(step.action, self._action_spec)
        return step

    def distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor = ()
    ) -> policy_step.PolicyStep:
        """The action distributions for a (batched) time step.

        Returns:
          `PolicyStep(action=<nest of TFP distributions>, state, info)`.
        """
        time_step, policy_state = self._checked_inputs(
            time_step, policy_state, "distribution"
        )
        if self._automatic_state_reset:
            policy_state = self._maybe_reset_state(time_step, policy_state)
        step = self._distribution(time_step=time_step, policy_state=policy_state)
        if self._emit_log_probability:
            # Only fills the info spec: a distribution has no single log probability.
            zeros = tf.nest.map_structure(lambda _: tf.constant(0.0), self._action_spec)
            step = step._replace(info=policy_step.set_log_probability(step.info, zeros))
        if self._validate_args:
            self._check_step(step)
        return step

    def update(
        self,
        policy: TFPolicy,
        tau: float = 1.0,
        tau_non_trainable: float | None = None,
        sort_variables_by_name: bool = False,
    ) -> tf.Operation:
        """Moves this policy's variables towards `policy`'s: `(1-tau)*self + tau*other`."""
        own = self.variables()
        if not own:
            return tf.no_op()
        return common.soft_variables_update(
            policy.variables(),
            own,
            tau=tau,
            tau_non_trainable=tau_non_trainable,
            sort_variables_by_name=sort_variables_by_name,
        )

    # ------------------------------------------------------------------------
    # Properties

    @property
    def emit_log_probability(self) -> bool:
        return self._emit_log_probability

    @property
    def validate_args(self) -> bool:
        return self._validate_args

    # ------------------------------------------------------------------------
    # Helpers of the template

    def _checked_inputs(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor, caller: str
    ) -> tuple[ts.TimeStep, types.NestedTensor]:
        if not self._validate_args:
            return time_step, policy_state
        # Extra observation keys and a state given to a stateless policy are dropped.
        time_step = nest_utils.prune_extra_keys(self._time_step_spec, time_step)
        policy_state = nest_utils.prune_extra_keys(
            self._policy_state_spec, policy_state
        )
        masks, vector_reward = self._input_leniency()
        if masks:
            time_step = self._with_masks_cast(time_step, masks)
        if vector_reward is not None:
            time_step = _with_scalar_reward_broadcast(time_step, vector_reward)
        _assert_fits(time_step, self._time_step_spec, caller, "time_step")
        if common.safe_has_state(policy_state) or caller == "distribution":
            _assert_fits(policy_state, self._policy_state_spec, caller, "policy_state")
        return time_step, policy_state

    def _input_leniency(self) -> tuple[tuple[int, ...], tf.TensorSpec | None]:
        """`(mask leaf indices, vector reward spec or None)`: what `_checked_inputs`
        adapts before its checks. Found on the first call and kept (the specs and
        splitter never change), so a policy with neither pays one lookup per call.
        """
        leniency = self.__dict__.get("_input_leniency_cache")
        if leniency is None:
            reward = self._time_step_spec.reward
            vector = (
                isinstance(reward, tf.TypeSpec)
                and reward.shape.rank
                and reward.shape.is_fully_defined()
            )
            leniency = (
                _mask_leaves(
                    self._time_step_spec.observation,
                    self._observation_and_action_constraint_splitter,
                ),
                reward if vector else None,
            )
            self.__dict__["_input_leniency_cache"] = leniency
        return leniency

    def _with_masks_cast(
        self, time_step: ts.TimeStep, masks: tuple[int, ...]
    ) -> ts.TimeStep:
        """`time_step` with the 0/1 action masks (leaves `masks`) in their spec's dtype.

        Masks come as floats or bools as often as in the spec's integer dtype
        (TF-Agents' bandit tests pass float masks for an int32 spec, and TF-Agents
        does not check dtypes); the policies only compare a mask with zero, so
        a mask of another numeric dtype is cast here rather than refused. Every
        other leaf keeps the exact dtype check.
        """
        specs = tf.nest.flatten(self._time_step_spec.observation)
        try:
            leaves = tf.nest.flatten(time_step.observation)
        except (AttributeError, TypeError):
            return time_step
        if len(leaves) != len(specs):
            return time_step  # the structure check names the mismatch
        changed = False
        for i in masks:
            dtype = getattr(leaves[i], "dtype", None)
            if dtype is None or not hasattr(leaves[i], "shape"):
                continue
            dtype = tf.as_dtype(dtype)
            numeric = dtype.is_bool or dtype.is_integer or dtype.is_floating
            if numeric and dtype != specs[i].dtype:
                leaves[i] = tf.cast(leaves[i], specs[i].dtype)
                changed = True
        if not changed:
            return time_step
        observation = tf.nest.pack_sequence_as(time_step.observation, leaves)
        return time_step._replace(observation=observation)

    def _check_step(self, step: policy_step.PolicyStep) -> None:
        nest_utils.assert_same_structure(
            step,
            self._policy_step_spec,
            message="policy step and policy_step_spec structures do not match",
        )

    def _maybe_reset_state(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> types.NestedTensor:
        if not common.safe_has_state(policy_state) or not tf.nest.flatten(policy_state):
            return policy_state
        discount = tf.convert_to_tensor(time_step.discount)
        is_first = tf.equal(time_step.step_type, ts.StepType.FIRST)
        if discount.shape.rank == 0:
            batch_size = None
        else:
            batch_size = (
                tf.compat.dimension_value(discount.shape[0]) or tf.shape(discount)[0]
            )
            if is_first.shape.rank == 2:  # [B, T]: reset by the first time step.
                is_first = is_first[:, 0]
        zero_state = self.get_initial_state(batch_size=batch_size)
        return nest_utils.where(is_first, zero_state, policy_state)

    # ------------------------------------------------------------------------
    # Hooks for subclasses

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedTensor,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        """Samples `_distribution`'s distributions (and their log probability)."""
        import tensorflow_probability as tfp

        from policylib.distributions import reparameterized_sampling

        # TF-Agents' salt: a seeded `action` samples what TF-Agents samples.
        seed_stream = tfp.util.SeedStream(seed=seed, salt="tf_agents_tf_policy")
        step = self._distribution(time_step=time_step, policy_state=policy_state)
        actions = tf.nest.map_structure(
            lambda d: reparameterized_sampling.sample(d, seed=seed_stream()),
            step.action,
        )
        info = step.info
        if self._emit_log_probability:
            try:
                log_probs = tf.nest.map_structure(
                    lambda a, d: d.log_prob(a), actions, step.action
                )
            except Exception as e:
                raise TypeError(
                    f"{type(self).__name__} does not support emitting log-probabilities: {e}"
                ) from e
            info = policy_step.set_log_probability(info, log_probs)
        return step._replace(action=actions, info=info)

    def _distribution(
        self, time_step: ts.TimeStep, policy_state: types.NestedTensor
    ) -> policy_step.PolicyStep:
        """Returns `PolicyStep(<distributions>, state, info)`; implemented by subclasses."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement distribution()."
        )

    def _get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        outer = None if batch_size is None else [batch_size]
        return tensor_spec.zero_spec_nest(self._policy_state_spec, outer_dims=outer)


def _with_scalar_reward_broadcast(
    time_step: ts.TimeStep, reward_spec: tf.TensorSpec
) -> ts.TimeStep:
    """`time_step` with a scalar-per-row reward broadcast to the vector `reward_spec`.

    `ts.restart(observation, batch_size)` (TF-Agents' idiom, without its
    `reward_spec` argument) gives a `[batch_size]` reward even where the spec has
    one entry per objective. Acting never reads the reward, and TF-Agents does
    not check its shape, so such a reward stands for every objective here;
    training still requires the spec's shape.
    """
    if not isinstance(time_step, ts.TimeStep):
        return time_step  # the structure check names what it is
    reward, step_type = time_step.reward, time_step.step_type
    if not (tf.is_tensor(reward) and tf.is_tensor(step_type)):
        return time_step
    if reward.shape.rank is None or reward.shape.rank != step_type.shape.rank:
        return time_step
    ones = [1] * reward_spec.shape.rank
    column = tf.reshape(reward, tf.concat([tf.shape(reward), ones], 0))
    target = tf.concat([tf.shape(reward), reward_spec.shape.as_list()], 0)
    return time_step._replace(reward=tf.broadcast_to(column, target))


def _mask_leaves(
    observation_spec: types.NestedTensorSpec, splitter: types.Splitter
) -> tuple[int, ...]:
    """Indices (in `tf.nest.flatten` order) of the observation leaves that are masks.

    Found by applying the splitter to the spec itself, which works for splitters
    that select parts of the observation (`lambda o: (o[0], o[1])`, dict
    lookups); a splitter that computes instead gives no mask leaves.
    """
    if splitter is None:
        return ()
    try:
        _, mask_spec = splitter(observation_spec)
        wanted = {id(s) for s in tf.nest.flatten(mask_spec)}
    except Exception:  # noqa: BLE001 - a computing splitter: no leniency, no harm
        return ()
    flat = tf.nest.flatten(observation_spec)
    return tuple(i for i, spec in enumerate(flat) if id(spec) in wanted)


def _assert_fits(
    value: types.NestedTensor, spec: types.NestedTensorSpec, caller: str, name: str
) -> None:
    """Raises naming `caller` and `name` unless `value` has `spec`'s structure and fits it."""
    nest_utils.assert_same_structure(
        value,
        spec,
        message=f"{caller}: {name} and {name}_spec structures do not match",
    )
    nest_utils.assert_values_fit_specs(value, spec, f"{caller}: {name}")


def _clip_bounded(
    actions: types.NestedTensor, action_spec: types.NestedTensorSpec
) -> types.NestedTensor:
    """Clips every action whose spec is a `BoundedTensorSpec` to its bounds."""

    def _clip(action: tf.Tensor, spec: tf.TypeSpec) -> tf.Tensor:
        if not isinstance(spec, tensor_spec.BoundedTensorSpec):
            return action
        if _argmax_over_spec_range(action, spec):
            return action
        return spec_ops.clip_to_spec(action, spec)

    return tf.nest.map_structure(_clip, actions, action_spec)


def _argmax_over_spec_range(
    action: object, spec: tensor_spec.BoundedTensorSpec
) -> bool:
    """Whether a traced `action` is an argmax over exactly the spec's values [0, n).

    Such an action is in bounds by construction (a greedy Q policy's), so its
    clip (two ops per call) is left out; any other action is clipped.
    """
    if tf.executing_eagerly() or not isinstance(action, tf.Tensor):
        return False
    op = action.op
    while op.type == "Identity":
        op = op.inputs[0].op
    if op.type != "ArgMax":
        return False
    logits, axis = op.inputs
    rank, axis_value = logits.shape.rank, tf.get_static_value(axis)
    if rank is None or axis_value is None or int(axis_value) not in (-1, rank - 1):
        return False
    minimum, maximum = np.unique(spec.minimum), np.unique(spec.maximum)
    return (
        logits.shape[-1] is not None
        and minimum.size == maximum.size == 1
        and minimum[0] == 0
        and maximum[0] == logits.shape[-1] - 1
    )


def _check_action_dtypes(
    actions: types.NestedTensor, action_spec: types.NestedTensorSpec
) -> None:
    flat_specs = tf.nest.flatten(action_spec)
    for index, (spec, action) in enumerate(zip(flat_specs, tf.nest.flatten(actions))):
        dtype = getattr(action, "dtype", None)
        if dtype is None or not tf.as_dtype(dtype).is_compatible_with(spec.dtype):
            path = nest_utils.flatten_with_joined_paths(action_spec)[index][0]
            raise TypeError(
                "Policy produced an action with a dtype that doesn't match its action_spec"
                f" at '{path or '<root>'}': got {action!r} with dtype {dtype}, "
                f"expected action_spec {spec!r}."
            )
