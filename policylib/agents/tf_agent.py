"""`TFAgent`: the base class of agents, the template of every training step.

An agent owns a `policy` (to act well), a `collect_policy` (to explore) and
the training that updates their networks from experience:

    agent.initialize()
    agent.train = common.function(agent.train)         # trace once
    for experience, _ in dataset:                      # [B, T] trajectories
        loss_info = agent.train(experience)

`train_sequence_length` is the `T` `train` wants (2 for one-step DQN; None:
any), to pass to `ReplayBuffer.as_dataset(num_steps=...)`. Subclasses
implement `_train` (which must increment `train_step_counter` once), `_loss`,
and optionally `_initialize` and `_preprocess_sequence`; they check and
convert their experience with a `data_converter` built on `data_context`.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable
from typing import Any

import tensorflow as tf

from policylib.agents import data_converter
from policylib.policies import tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, eager_utils, keras_compat, summaries

__all__ = ["LossInfo", "TFAgent"]

LossInfo = collections.namedtuple("LossInfo", ("loss", "extra"))


class TFAgent(tf.Module):
    """Base class of TensorFlow agents.

    Args:
      time_step_spec: `TimeStep` of specs of the environment's time steps.
      action_spec: nest of `BoundedTensorSpec`s of the actions.
      policy: the greedy ("production") policy.
      collect_policy: the exploring policy experience is collected with.
      train_sequence_length: the time length `train` requires, or None.
      num_outer_dims: 2 (`[B, T]` experience) or 1 (`[B]`).
      training_data_spec: what `train` reads, if not the collect policy's
        trajectory spec (fields it lacks come from the other specs).
      debug_summaries: subclasses write debug summaries.
      summarize_grads_and_vars: subclasses write gradient/variable summaries.
      enable_summaries: False turns all summaries off.
      train_step_counter: counts `train` calls; the global step if None.

    Raises:
      TypeError: `time_step_spec` is not a `TimeStep`.
      ValueError: `num_outer_dims` is not 1 or 2.
    """

    _enable_functions = True

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        policy: tf_policy.TFPolicy,
        collect_policy: tf_policy.TFPolicy,
        train_sequence_length: int | None,
        num_outer_dims: int = 2,
        training_data_spec: types.NestedTensorSpec | None = None,
        debug_summaries: bool = False,
        summarize_grads_and_vars: bool = False,
        enable_summaries: bool = True,
        train_step_counter: tf.Variable | None = None,
    ):
        common.check_tf1_allowed()
        if not isinstance(time_step_spec, ts.TimeStep):
            raise TypeError(
                "The `time_step_spec` must be an instance of `TimeStep`, but is "
                f"`{type(time_step_spec)}`."
            )
        if num_outer_dims not in (1, 2):
            raise ValueError("num_outer_dims must be in [1, 2].")
        time_step_spec = tensor_spec.from_spec(time_step_spec)
        action_spec = tensor_spec.from_spec(action_spec)
        self._time_step_spec = time_step_spec
        self._action_spec = action_spec
        self._policy = policy
        self._collect_policy = collect_policy
        self._train_sequence_length = train_sequence_length
        self._num_outer_dims = num_outer_dims
        self._debug_summaries = debug_summaries
        self._summarize_grads_and_vars = summarize_grads_and_vars
        self._enable_summaries = enable_summaries
        self._training_data_spec = training_data_spec
        self._collect_data_context = data_converter.DataContext(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            info_spec=collect_policy.info_spec,
        )
        self._data_context = self._training_data_context(
            training_data_spec, time_step_spec, action_spec, collect_policy
        )
        if train_step_counter is None:
            train_step_counter = tf.compat.v1.train.get_or_create_global_step()
        self._train_step_counter = train_step_counter
        in_tf1 = common.function_in_tf1()
        self._train_fn = in_tf1(self._train)
        self._initialize_fn = in_tf1(self._initialize)
        self._preprocess_sequence_fn = in_tf1(self._preprocess_sequence)
        self._loss_fn = in_tf1(self._loss)

    @staticmethod
    def _training_data_context(
        training_data_spec: types.NestedTensorSpec | None,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        collect_policy: tf_policy.TFPolicy,
    ) -> data_converter.DataContext:
        """The context `train`'s experience is checked against."""
        if training_data_spec is None:
            return data_converter.DataContext(
                time_step_spec=time_step_spec,
                action_spec=action_spec,
                info_spec=collect_policy.info_spec,
            )
        spec = tensor_spec.from_spec(training_data_spec)
        return data_converter.DataContext(
            time_step_spec=ts.TimeStep(
                step_type=getattr(spec, "step_type", time_step_spec.step_type),
                reward=getattr(spec, "reward", time_step_spec.reward),
                discount=getattr(spec, "discount", time_step_spec.discount),
                observation=getattr(spec, "observation", time_step_spec.observation),
            ),
            action_spec=getattr(spec, "action", action_spec),
            info_spec=getattr(spec, "policy_info", collect_policy.info_spec),
        )

    # ------------------------------------------------------------------------
    # Public template

    def initialize(self) -> tf.Operation | None:
        """Initializes the agent (e.g. copies the network into the target network).

        Returns:
          In TF1 graph mode, an op that does it; eagerly, None.

        Raises:
          RuntimeError: the subclass did not call `super().__init__`.
        """
        if not self._enable_functions:
            return self._initialize()
        self._require("_initialize_fn")
        self._initialize_fn()
        if not tf.executing_eagerly():
            return tf.compat.v1.get_default_graph().get_operations()[-1]
        return None

    def preprocess_sequence(self, experience: types.NestedTensor) -> types.NestedTensor:
        """Collected sequences (`collect_data_spec`) -> training data; for `as_dataset`."""
        if self._enable_functions:
            return self._preprocess_sequence_fn(experience)
        return self._preprocess_sequence(experience)

    def train(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None = None,
        **kwargs: Any,
    ) -> LossInfo:
        """One training step on `experience` (`[B, T]` per `training_data_spec`).

        Args:
          experience: a batch of experience, typically a `Trajectory`.
          weights: optional per-example (`[B]`) or scalar loss weights.
          **kwargs: passed on to the subclass's `_train`.

        Returns:
          The `LossInfo` computed before the update.

        Raises:
          RuntimeError: the subclass did not call `super().__init__`.
          TypeError: `_train` returned something other than a `LossInfo`.
          ValueError: `experience` does not fit the agent's specs (raised by
            the agent's data converter, naming the leaf).
        """
        if self._enable_functions:
            self._require("_train_fn")
            loss_info = self._train_fn(experience=experience, weights=weights, **kwargs)
        else:
            loss_info = self._train(experience=experience, weights=weights, **kwargs)
        return _checked_loss_info(loss_info)

    def loss(
        self,
        experience: types.NestedTensor,
        weights: types.Tensor | None = None,
        training: bool = False,
        **kwargs: Any,
    ) -> LossInfo:
        """The loss on `experience` without updating anything.

        Call it under a `tf.GradientTape` to take gradients yourself.
        """
        if self._enable_functions:
            self._require("_loss_fn")
            loss_info = self._loss_fn(
                experience=experience, weights=weights, training=training, **kwargs
            )
        else:
            loss_info = self._loss(
                experience=experience, weights=weights, training=training, **kwargs
            )
        return _checked_loss_info(loss_info)

    def post_process_policy(self) -> tf_policy.TFPolicy:
        """The policy after any post-training processing (by default `policy`)."""
        return self.policy

    def _require(self, attribute: str) -> None:
        if getattr(self, attribute, None) is None:
            raise RuntimeError(
                f"Cannot find {attribute}.  Did {type(self).__name__}.__init__ call super?"
            )

    # ------------------------------------------------------------------------
    # Helpers for subclasses

    def _apply_gradients(
        self,
        loss: tf.Tensor,
        variables_to_train: Iterable[tf.Variable],
        tape: tf.GradientTape,
        optimizer: types.Optimizer | None,
        check_numerics: bool = True,
    ) -> None:
        """One optimizer step on `loss`: checked for NaN (unless `check_numerics`
        is False), gradients clipped by `self._gradient_clipping` (if set) and
        summarized if asked.

        Raises:
          ValueError: there are no variables to train, or no optimizer.
        """
        if optimizer is None:
            raise ValueError(
                f"{type(self).__name__}: the optimizer is undefined (None); pass one "
                "to the agent's constructor to train."
            )
        if check_numerics:
            tf.debugging.check_numerics(loss, "Loss is inf or nan")
        variables_to_train = list(variables_to_train)
        if not variables_to_train:
            raise ValueError("No variables in the agent's network.")
        grads_and_vars = list(
            zip(tape.gradient(loss, variables_to_train), variables_to_train)
        )
        keras_compat.build_optimizer(optimizer, variables_to_train)  # one trace
        clipping = getattr(self, "_gradient_clipping", None)
        if clipping:
            grads_and_vars = eager_utils.clip_gradient_norms(grads_and_vars, clipping)
        if self.summarize_grads_and_vars:
            eager_utils.add_variables_summaries(grads_and_vars, self.train_step_counter)
            eager_utils.add_gradients_summaries(grads_and_vars, self.train_step_counter)
        optimizer.apply_gradients(grads_and_vars)

    def _minimize(
        self,
        loss_fn: Callable[[], tf.Tensor],
        variables_to_train: Iterable[tf.Variable],
        optimizer: types.Optimizer | None,
        label: str,
        apply_when: types.Bool | None = None,
    ) -> tf.Tensor:
        """`loss_fn()` under a tape that watches only `variables_to_train`,
        then one `_apply_gradients` step on it (only where `apply_when` is
        true, if given: e.g. TD3's delayed actor). Returns the loss.

        Raises:
          ValueError: there are no variables to train, or no optimizer.
        """
        variables_to_train = _unique(variables_to_train)
        if not variables_to_train:
            raise ValueError(f"No trainable {label} variables to optimize.")
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(variables_to_train)
            loss = loss_fn()
        tf.debugging.check_numerics(loss, f"{label.capitalize()} loss is inf or nan.")
        if apply_when is None:
            self._apply_gradients(loss, variables_to_train, tape, optimizer)
            return loss
        keras_compat.build_optimizer(optimizer, variables_to_train)

        def apply() -> tf.Operation:
            self._apply_gradients(loss, variables_to_train, tape, optimizer)
            return tf.no_op()

        tf.cond(apply_when, apply, tf.no_op)
        return loss

    def _apply_loss(
        self,
        aggregated_losses: common.AggregatedLosses,
        variables_to_train: Iterable[tf.Variable],
        tape: tf.GradientTape,
        optimizer: types.Optimizer | None,
    ) -> None:
        """`_apply_gradients` of `aggregated_losses.total_loss`, then loss summaries."""
        total_loss = aggregated_losses.total_loss
        self._apply_gradients(total_loss, variables_to_train, tape, optimizer)
        if self.summaries_enabled:
            summaries.summarize_scalar_dict(
                {
                    "loss": aggregated_losses.weighted,
                    "reg_loss": aggregated_losses.regularization,
                    "total_loss": total_loss,
                },
                step=self.train_step_counter,
                name_scope="Losses/",
            )

    # ------------------------------------------------------------------------
    # Properties

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        """Every variable of the agent, Keras 3 network weights included
        (`tf.Module`'s own walk does not enter Keras 3 layers)."""
        return tuple(keras_compat.collect_variables(self))

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        """The agent's trainable variables, Keras 3 network weights included."""
        return tuple(keras_compat.collect_variables(self, trainable_only=True))

    @property
    def time_step_spec(self) -> ts.TimeStep:
        return self._time_step_spec

    @property
    def action_spec(self) -> types.NestedTensorSpec:
        return self._action_spec

    @property
    def data_context(self) -> data_converter.DataContext:
        """The specs `train`'s experience is checked against."""
        return self._data_context

    @property
    def collect_data_context(self) -> data_converter.DataContext:
        return self._collect_data_context

    @property
    def policy(self) -> tf_policy.TFPolicy:
        return self._policy

    @property
    def collect_policy(self) -> tf_policy.TFPolicy:
        return self._collect_policy

    @property
    def collect_data_spec(self) -> types.NestedTensorSpec:
        """The trajectory spec of collected experience (what a replay buffer stores)."""
        return self.collect_data_context.trajectory_spec

    @property
    def training_data_spec(self) -> types.NestedTensorSpec:
        """What `train` reads (the collect data spec unless given)."""
        if self._training_data_spec is not None:
            return self._training_data_spec
        return self.collect_data_spec

    @property
    def train_sequence_length(self) -> int | None:
        return self._train_sequence_length

    @property
    def summaries_enabled(self) -> bool:
        return self._enable_summaries

    @property
    def debug_summaries(self) -> bool:
        return self._debug_summaries and self.summaries_enabled

    @property
    def summarize_grads_and_vars(self) -> bool:
        return self._summarize_grads_and_vars and self.summaries_enabled

    @property
    def train_step_counter(self) -> tf.Variable:
        return self._train_step_counter

    # ------------------------------------------------------------------------
    # Hooks

    def _initialize(self) -> tf.Operation | None:
        return None

    def _preprocess_sequence(
        self, experience: types.NestedTensor
    ) -> types.NestedTensor:
        return experience

    # Called as `_loss(experience=, weights=, training=, **kwargs)` and
    # `_train(experience=, weights=, **kwargs)`; subclasses name what they take.

    def _loss(self, *args: Any, **kwargs: Any) -> LossInfo | None:
        raise NotImplementedError("Loss not implemented.")

    def _train(self, *args: Any, **kwargs: Any) -> LossInfo:
        raise NotImplementedError("Train not implemented.")


def _unique(variables: Iterable[tf.Variable]) -> list[tf.Variable]:
    """`variables` in order, each once (layers shared between networks)."""
    seen: set[int] = set()
    unique: list[tf.Variable] = []
    for variable in variables:
        if id(variable) not in seen:
            seen.add(id(variable))
            unique.append(variable)
    return unique


def _checked_loss_info(loss_info: object) -> LossInfo:
    if not isinstance(loss_info, LossInfo):
        raise TypeError(f"loss_info is not a subclass of LossInfo: {loss_info}")
    return loss_info
