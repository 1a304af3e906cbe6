"""Constraints on bandit actions: which actions are feasible in a context.

A constraint maps a batch of observations to `[B, num_actions]`
feasibility probabilities. Policies multiply those of all their
constraints (and any action mask) and draw a 0/1 mask from the result
(`construct_mask_from_multiple_sources`), so infeasible actions are not
taken.

- `NeuralConstraint`: a trainable network predicts a value per action
  (`compute_loss` trains it on observed constraint values); the base class
  finds every action feasible, subclasses compare the predictions:
  `AbsoluteConstraint` (`value <op> threshold`), `RelativeConstraint`
  (`value <op> (1 - margin) * value of a baseline action`), and their
  quantile versions `QuantileConstraint` and `RelativeQuantileConstraint`,
  whose networks regress a quantile (pinball loss).
- `InputNetworkConstraint`: wraps an already trained network; subclasses
  say how its outputs map to feasibility.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable, Iterable
from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.bandits.policies import loss_utils
from policylib.base import nest_utils
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat

__all__ = [
    "AbsoluteConstraint",
    "BaseConstraint",
    "InputNetworkConstraint",
    "NeuralConstraint",
    "QuantileConstraint",
    "RelativeConstraint",
    "RelativeQuantileConstraint",
    "compute_feasibility_probability",
    "construct_mask_from_multiple_sources",
]


class BaseConstraint(tf.Module, metaclass=abc.ABCMeta):
    """A constraint: feasibility probabilities of actions for observations.

    `variables` and `trainable_variables` include Keras 3 weights of the
    networks a constraint holds (a plain `tf.Module` does not see them).

    Args:
      time_step_spec: the `TimeStep` spec of the policy's time steps.
      action_spec: the bounded action spec.
      name: module name (the snake-cased class name by default).

    Raises:
      ValueError: `time_step_spec` is not a `TimeStep`.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        name: str | None = None,
    ):
        super().__init__(name=name)
        if not isinstance(time_step_spec, ts.TimeStep):
            raise ValueError(
                "The `time_step_spec` must be an instance of `TimeStep`, but is "
                f"`{type(time_step_spec)}`."
            )
        self._time_step_spec = time_step_spec
        self._action_spec = action_spec

    @property
    def variables(self) -> tuple[tf.Variable, ...]:
        return tuple(keras_compat.collect_variables(self))

    @property
    def trainable_variables(self) -> tuple[tf.Variable, ...]:
        return tuple(keras_compat.collect_variables(self, trainable_only=True))

    @abc.abstractmethod
    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        """The probability that each action is feasible, `[B, num_actions]`."""


def _baseline_values(
    predictions: tf.Tensor,
    observation: types.NestedTensor,
    observation_spec: types.NestedTensorSpec,
    baseline_action_fn: Callable[[types.NestedTensor], types.Tensor] | None,
) -> tf.Tensor:
    """The predictions of each entry's baseline action, broadcast to `predictions`.

    The baseline action is `baseline_action_fn(observation)` (`[B]`), or
    action 0 without one.
    """
    batch_shape = nest_utils.get_outer_shape(observation, observation_spec)
    if baseline_action_fn is None:
        baseline_action = tf.zeros(batch_shape, dtype=tf.int32)
    else:
        baseline_action = tf.convert_to_tensor(baseline_action_fn(observation))
        if baseline_action.shape.rank is not None and baseline_action.shape.rank != 1:
            raise ValueError(
                "baseline_action_fn must return one action per batch entry ([B]); "
                f"got shape {baseline_action.shape}."
            )
    values = common.index_with_actions(predictions, tf.cast(baseline_action, tf.int32))
    return tf.broadcast_to(tf.reshape(values, [-1, 1]), tf.shape(predictions))


class NeuralConstraint(BaseConstraint):
    """A constraint whose feasibility comes from a trainable network.

    The network maps observations to one predicted constraint value per
    action; `compute_loss` is the loss to train it on observed values. This
    class finds every action feasible; subclasses compare the predictions
    (`AbsoluteConstraint`, `RelativeConstraint`, ...).

    Args:
      time_step_spec: the `TimeStep` spec of the policy's time steps.
      action_spec: scalar bounded integer spec with minimum 0.
      constraint_network: the network (built here), or None to set it later
        through `constraint_network`.
      error_loss_fn: elementwise loss of predictions against observed values,
        called as `fn(targets, predictions, reduction=NONE)`.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        constraint_network: types.Network | None,
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        name: str | None = "NeuralConstraint",
    ):
        super().__init__(time_step_spec, action_spec, name)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._constraint_network: types.Network | None = None
        self.constraint_network = constraint_network
        self._error_loss_fn = error_loss_fn

    @property
    def constraint_network(self) -> types.Network | None:
        return self._constraint_network

    @constraint_network.setter
    def constraint_network(self, constraint_network: types.Network | None) -> None:
        if constraint_network is not None:
            with self.name_scope:
                constraint_network.create_variables()
        self._constraint_network = constraint_network

    @property
    def observation_spec(self) -> types.NestedTensorSpec:
        return self._time_step_spec.observation

    @observation_spec.setter
    def observation_spec(self, observation_spec: types.NestedTensorSpec) -> None:
        self._time_step_spec = self._time_step_spec._replace(
            observation=observation_spec
        )

    def initialize(self) -> Any:
        """Initializes the constraint's variables (an op in graph mode, else None)."""
        return tf.compat.v1.variables_initializer(list(self.variables))

    def _network(self) -> types.Network:
        if self._constraint_network is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} has no constraint_network yet: "
                "set one with `constraint.constraint_network = network`."
            )
        return self._constraint_network

    def _predictions(
        self, observation: types.NestedTensor, training: bool = False
    ) -> tf.Tensor:
        """The network's `[B, num_actions]` predicted constraint values."""
        predictions, _ = self._network()(observation, training=training)
        return predictions

    def compute_loss(
        self,
        observations: types.NestedTensor,
        actions: types.NestedTensor,
        rewards: types.Tensor,
        weights: types.Float | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """The mean (weighted) error of the predictions for the taken actions.

        Args:
          observations: a batch of observations.
          actions: the `[B]` actions taken.
          rewards: the `[B]` observed constraint values.
          weights: optional scalar or `[B]` weights of the per-entry losses.
          training: whether the network runs in training mode.
        """
        with tf.name_scope("constraint_loss"):
            predictions = self._predictions(observations, training=training)
            taken = common.index_with_actions(
                predictions, tf.cast(actions, dtype=tf.int32)
            )
            # Weighted outside the loss function, so that weights of unknown
            # shape need no shape check there (which breaks XLA).
            losses = self._error_loss_fn(
                rewards, taken, reduction=tf.compat.v1.losses.Reduction.NONE
            )
            return tf.reduce_mean(losses * (1.0 if weights is None else weights))

    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        """Every action is feasible: ones of shape `[B, num_actions]`."""
        batch_shape = nest_utils.get_outer_shape(
            observation, self._time_step_spec.observation
        )
        shape = tf.concat(
            [batch_shape, tf.constant([self._num_actions], dtype=batch_shape.dtype)],
            axis=-1,
        )
        return tf.ones(shape)


class RelativeConstraint(NeuralConstraint):
    """Feasible: `value(action) <op> (1 - margin) * value(baseline action)`.

    Args:
      time_step_spec, action_spec, constraint_network, error_loss_fn: see
        `NeuralConstraint`.
      comparator_fn: the comparison `<op>`, e.g. `tf.greater` or `tf.less`.
      margin: how much worse than the baseline an action may be.
      baseline_action_fn: maps the observation to `[B]` baseline actions;
        action 0 when None.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        constraint_network: types.Network,
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        comparator_fn: types.ComparatorFn = tf.greater,
        margin: float = 0.0,
        baseline_action_fn: Callable[[types.NestedTensor], types.Tensor] | None = None,
        name: str = "RelativeConstraint",
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            constraint_network,
            error_loss_fn=error_loss_fn,
            name=name,
        )
        self._comparator_fn = comparator_fn
        self._margin = margin
        self._baseline_action_fn = baseline_action_fn

    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        predictions = self._predictions(observation)
        baseline = _baseline_values(
            predictions,
            observation,
            self._time_step_spec.observation,
            self._baseline_action_fn,
        )
        feasible = self._comparator_fn(predictions, (1 - self._margin) * baseline)
        return tf.cast(feasible, tf.float32)


class AbsoluteConstraint(NeuralConstraint):
    """Feasible: `value(action) <op> absolute_value`.

    Args:
      time_step_spec, action_spec, constraint_network, error_loss_fn: see
        `NeuralConstraint`.
      comparator_fn: the comparison `<op>`, e.g. `tf.greater` or `tf.less`.
      absolute_value: the threshold.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        constraint_network: types.Network,
        error_loss_fn: types.LossFn = tf.compat.v1.losses.mean_squared_error,
        comparator_fn: types.ComparatorFn = tf.greater,
        absolute_value: float = 0.0,
        name: str = "AbsoluteConstraint",
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            constraint_network,
            error_loss_fn=error_loss_fn,
            name=name,
        )
        self._comparator_fn = comparator_fn
        self._absolute_value = absolute_value

    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        feasible = self._comparator_fn(
            self._predictions(observation), self._absolute_value
        )
        return tf.cast(feasible, tf.float32)


def _pinball_loss_fn(quantile: float) -> types.LossFn:
    """The pinball loss at `quantile`; ValueError unless it lies in `[0, 1]`."""
    if not 0.0 <= quantile <= 1.0:
        raise ValueError(f"quantile must be in [0, 1]; got {quantile}.")
    return functools.partial(loss_utils.pinball_loss, quantile=quantile)


class QuantileConstraint(NeuralConstraint):
    """Feasible: `quantile_q(action) <op> quantile_value`.

    The network regresses the `quantile` of the constraint value (trained
    with the pinball loss).

    Args:
      time_step_spec, action_spec, constraint_network: see `NeuralConstraint`.
      quantile: the quantile regressed, in `[0, 1]`.
      comparator_fn: the comparison `<op>`, e.g. `tf.greater` or `tf.less`.
      quantile_value: the bound on the quantile.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        constraint_network: types.Network,
        quantile: float = 0.5,
        comparator_fn: types.ComparatorFn = tf.greater,
        quantile_value: float = 0.0,
        name: str = "QuantileConstraint",
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            constraint_network,
            error_loss_fn=_pinball_loss_fn(quantile),
            name=name,
        )
        self._comparator_fn = comparator_fn
        self._quantile_value = quantile_value

    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        feasible = self._comparator_fn(
            self._predictions(observation), self._quantile_value
        )
        return tf.cast(feasible, tf.float32)


class RelativeQuantileConstraint(NeuralConstraint):
    """Feasible: `quantile_q(action) <op> quantile_q(baseline action)`.

    Args:
      time_step_spec, action_spec, constraint_network: see `NeuralConstraint`.
      quantile: the quantile regressed, in `[0, 1]`.
      comparator_fn: the comparison `<op>`, e.g. `tf.greater` or `tf.less`.
      baseline_action_fn: maps the observation to `[B]` baseline actions;
        action 0 when None.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        constraint_network: types.Network,
        quantile: float = 0.5,
        comparator_fn: types.ComparatorFn = tf.greater,
        baseline_action_fn: Callable[[types.NestedTensor], types.Tensor] | None = None,
        name: str = "RelativeQuantileConstraint",
    ):
        super().__init__(
            time_step_spec,
            action_spec,
            constraint_network,
            error_loss_fn=_pinball_loss_fn(quantile),
            name=name,
        )
        self._comparator_fn = comparator_fn
        self._baseline_action_fn = baseline_action_fn

    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        predictions = self._predictions(observation)
        baseline = _baseline_values(
            predictions,
            observation,
            self._time_step_spec.observation,
            self._baseline_action_fn,
        )
        return tf.cast(self._comparator_fn(predictions, baseline), tf.float32)


class InputNetworkConstraint(BaseConstraint):
    """A constraint built on an already trained network (it is not trained here).

    Subclasses implement `__call__` from the network's outputs; the network
    can be given later through `network`. `compute_loss` is 0.

    Args:
      time_step_spec: the `TimeStep` spec of the policy's time steps.
      action_spec: scalar bounded integer spec with minimum 0.
      input_network: the trained network, or None.
      name: module name.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.BoundedTensorSpec,
        input_network: types.Network | None = None,
        name: str | None = "InputNetworkConstraint",
    ):
        super().__init__(time_step_spec, action_spec, name)
        self._num_actions = policy_utilities.get_num_actions_from_tensor_spec(
            action_spec
        )
        self._network = input_network

    @property
    def network(self) -> types.Network | None:
        return self._network

    @network.setter
    def network(self, input_network: types.Network | None) -> None:
        self._network = input_network

    def compute_loss(
        self,
        observations: types.NestedTensor,
        actions: types.NestedTensor,
        rewards: types.Tensor,
        weights: types.TensorOrArray | None = None,
        training: bool = False,
    ) -> tf.Tensor:
        """Zero: the input network is not trained through the constraint."""
        with tf.name_scope("constraint_loss"):
            return tf.constant(0.0)

    @abc.abstractmethod
    def __call__(
        self, observation: types.NestedTensor, actions: types.Tensor | None = None
    ) -> types.Tensor:
        """The probability that each action is feasible, `[B, num_actions]`."""


def compute_feasibility_probability(
    observation: types.NestedTensor,
    constraints: Iterable[BaseConstraint],
    batch_size: types.Int,
    num_actions: int,
    action_mask: types.Tensor | None = None,
) -> tf.Tensor:
    """The `[batch_size, num_actions]` probability that each action is feasible.

    The constraints are taken as independent: their probabilities (and the
    0/1 `action_mask`, if any) are multiplied.
    """
    if action_mask is None:
        feasibility = tf.ones([batch_size, num_actions])
    else:
        feasibility = tf.cast(action_mask, tf.float32)
    for constraint in constraints:
        feasibility *= constraint(observation)
    return feasibility


def construct_mask_from_multiple_sources(
    observation: types.NestedTensor,
    observation_and_action_constraint_splitter: types.Splitter,
    constraints: Iterable[BaseConstraint],
    max_num_actions: int,
) -> types.Tensor | None:
    """The `[B, max_num_actions]` 0/1 mask of the actions allowed in each context.

    An action is allowed only if every source allows it: the mask the
    splitter takes from the observation, else the `num_actions` feature of a
    per-arm observation (the first that many actions), and a draw from the
    constraints' feasibility probabilities.

    Returns:
      The mask, or None when no source restricts the actions.
    """
    mask = None
    if observation_and_action_constraint_splitter is not None:
        observation, mask = observation_and_action_constraint_splitter(observation)
    elif (
        isinstance(observation, dict)
        and bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY in observation
    ):
        mask = tf.sequence_mask(
            observation[bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY],
            maxlen=max_num_actions,
            dtype=tf.int32,
        )
    constraints = list(constraints)
    if constraints:
        batch_size = tf.shape(tf.nest.flatten(observation)[0])[0]
        feasibility = compute_feasibility_probability(
            observation, constraints, batch_size, max_num_actions, mask
        )
        mask = tfp.distributions.Bernoulli(probs=feasibility).sample()
    return mask
