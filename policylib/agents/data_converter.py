"""Check experience against an agent's specs and convert it to what `_train` uses.

    as_transition = data_converter.AsTransition(agent.data_context, squeeze_time_dim=True)
    transition = as_transition(experience)   # Trajectory [B, 2] -> Transition [B]

Each converter validates its input first (structure, outer dims, time length),
with an error that names the leaf and shows the expected shape, drops
dictionary keys the specs do not have (extra observations or info), and then
converts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import tensorflow as tf

from policylib.base import composite, nest_utils
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "AsHalfTransition",
    "AsNStepTransition",
    "AsTrajectory",
    "AsTransition",
    "DataContext",
]


def _has_fields(
    value: object, cls: type[trajectory.Transition] | type[trajectory.Trajectory]
) -> bool:
    return isinstance(value, cls) or getattr(value, "_fields", None) == cls._fields


def _as_transition_type(value: Any) -> trajectory.Transition:
    """A transition-like tuple as policylib's `Transition` of its types."""
    time_step, action_step, next_time_step = value
    return trajectory.Transition(
        ts.TimeStep(*time_step),
        policy_step.PolicyStep(*action_step),
        ts.TimeStep(*next_time_step),
    )


class DataContext(tf.Module):
    """The specs that experience of an agent is checked against.

    Policy state is not part of the context: a policy that wants its state
    stored puts it in its info.

    Args:
      time_step_spec: `TimeStep` of `TypeSpec`s.
      action_spec: nest of `TypeSpec`s of the actions.
      info_spec: nest of `TypeSpec`s of the (collect) policy's info.
      policy_state_spec: nest of `TypeSpec`s of the state (transitions only).
      use_half_transition: the next time step's observation is a dummy scalar.

    Raises:
      TypeError: a spec nest holds something other than `TypeSpec`s.
    """

    def __init__(
        self,
        time_step_spec: ts.TimeStep,
        action_spec: types.NestedTensorSpec,
        info_spec: types.NestedTensorSpec,
        policy_state_spec: types.NestedTensorSpec = (),
        use_half_transition: bool = False,
    ):
        for spec, label in (
            (time_step_spec, "time_step_spec"),
            (action_spec, "action_spec"),
            (info_spec, "info_spec"),
        ):
            if not all(isinstance(s, tf.TypeSpec) for s in tf.nest.flatten(spec)):
                raise TypeError(
                    f"{label} has to contain TypeSpec (TensorSpec, SparseTensorSpec, "
                    f"etc) objects, but received: {spec}"
                )
        self._time_step_spec = time_step_spec
        self._action_spec = action_spec
        self._info_spec = info_spec
        self._policy_state_spec = policy_state_spec
        self._trajectory_spec = trajectory.Trajectory(
            step_type=time_step_spec.step_type,
            observation=time_step_spec.observation,
            action=action_spec,
            policy_info=info_spec,
            next_step_type=time_step_spec.step_type,
            reward=time_step_spec.reward,
            discount=time_step_spec.discount,
        )
        next_time_step_spec = time_step_spec
        if use_half_transition:
            next_time_step_spec = time_step_spec._replace(
                observation=tensor_spec.TensorSpec((), tf.float32, name="observation")
            )
        self._transition_spec = trajectory.Transition(
            time_step=time_step_spec,
            action_step=policy_step.PolicyStep(
                action=action_spec, state=policy_state_spec, info=info_spec
            ),
            next_time_step=next_time_step_spec,
        )

    @property
    def time_step_spec(self) -> ts.TimeStep:
        return self._time_step_spec

    @property
    def action_spec(self) -> types.NestedTensorSpec:
        return self._action_spec

    @property
    def info_spec(self) -> types.NestedTensorSpec:
        return self._info_spec

    @property
    def policy_state_spec(self) -> types.NestedTensorSpec:
        return self._policy_state_spec

    @property
    def trajectory_spec(self) -> trajectory.Trajectory:
        return self._trajectory_spec

    @property
    def transition_spec(self) -> trajectory.Transition:
        return self._transition_spec


# ----------------------------------------------------------------------------
# Validation


def _shape_rows(
    value: types.NestedTensor, spec: types.NestedTensorSpec, num_outer_dims: int
) -> str:
    """One line per leaf whose shape does not end in its spec's shape."""
    outer = "[B, T]" if num_outer_dims == 2 else "[B]"
    rows = []
    value = nest_utils.prune_extra_keys(spec, value)
    for (path, s), t in zip(
        nest_utils.flatten_with_joined_paths(spec), tf.nest.flatten(value)
    ):
        shape = composite.shape(t)
        expected = [None] * num_outer_dims + s.shape.as_list()
        ok = shape.rank == len(expected) and s.shape.is_compatible_with(
            shape[num_outer_dims:]
        )
        if not ok:
            rows.append(
                f"  {path or '<value>'}: got {shape.as_list() if shape.rank is not None else shape}, "
                f"expected {outer} + {s.shape.as_list()}"
            )
    return "\n".join(rows)


def _is_batched(
    value: types.NestedTensor, spec: types.NestedTensorSpec, num_outer_dims: int
) -> bool:
    """Whether every leaf has `num_outer_dims` outer dims; False for a mix of outer dims."""
    try:
        return nest_utils.is_batched_nested_tensors(
            value, spec, num_outer_dims=num_outer_dims, allow_extra_fields=True
        )
    except ValueError as e:
        if "mix of batched and unbatched" not in str(e):
            raise  # a structure mismatch: its message draws both structures
        return False


def _validate_trajectory(
    value: trajectory.Trajectory,
    trajectory_spec: trajectory.Trajectory,
    sequence_length: int | None,
    num_outer_dims: Literal[1, 2] = 2,
) -> None:
    """Raises ValueError unless `value` has `num_outer_dims` outer dims (and time length)."""
    if not _is_batched(value, trajectory_spec, num_outer_dims):
        dims = "two outer dimensions" if num_outer_dims == 2 else "one outer dimension"
        prefix = "[B, T]" if num_outer_dims == 2 else "[B]"
        raise ValueError(
            f"All of the Tensors in `value` must have {dims}. Specifically, tensors "
            f"must have shape `{prefix} + spec.shape`.\n"
            f"Leaves that do not:\n{_shape_rows(value, trajectory_spec, num_outer_dims)}\n"
            "Full shapes of value tensors:\n  "
            f"{tf.nest.map_structure(lambda t: composite.shape(t), value)}.\n"
            f"Expected shapes (excluding the {dims}):\n  "
            f"{tf.nest.map_structure(lambda s: s.shape, trajectory_spec)}."
        )
    if sequence_length is None:
        return
    for path, t in nest_utils.flatten_with_joined_paths(value):
        time = composite.shape(t)[1]
        if time != sequence_length:
            raise ValueError(
                f"The agent was configured to expect a `sequence_length` of "
                f"'{sequence_length}'. Value is expected to be shaped `[B, T] + "
                "spec.shape` but at least one of the Tensors in `value` has a time "
                f"axis dim value '{time}' vs the expected '{sequence_length}'.\n"
                f"First such tensor is:\n\tvalue.{path}. \nFull shape structure of "
                f"value:\n\t{tf.nest.map_structure(lambda x: composite.shape(x), value)}"
            )


def _validate_transition(
    value: trajectory.Transition,
    transition_spec: trajectory.Transition,
    num_outer_dims: int,
) -> None:
    """Raises ValueError unless every leaf (state: one dim) has `num_outer_dims` outer dims."""
    if value.action_step.state:
        state_spec = transition_spec.action_step.state
        if not nest_utils.is_batched_nested_tensors(
            value.action_step.state, state_spec, num_outer_dims=1
        ):
            raise ValueError(
                "action_step.state does not match spec (expected [B] + spec.shape):\n"
                f"{_shape_rows(value.action_step.state, state_spec, 1)}\n"
                f"action_step.state: {value.action_step.state}, spec: {state_spec}"
            )
        value = value._replace(action_step=value.action_step._replace(state=()))
        transition_spec = transition_spec._replace(
            action_step=transition_spec.action_step._replace(state=())
        )
    if not _is_batched(value, transition_spec, num_outer_dims):
        raise ValueError(
            "All of the Tensors in `value` must have a single outer (batch size) "
            f"dimension. Specifically, tensors must have {num_outer_dims} outer "
            "dimensions.\nLeaves that do not:\n"
            f"{_shape_rows(value, transition_spec, num_outer_dims)}\n"
            "Full shapes of value tensors:\n  "
            f"{tf.nest.map_structure(lambda t: composite.shape(t), value)}.\n"
            "Expected shapes (excluding the outer dimensions):\n  "
            f"{tf.nest.map_structure(lambda s: s.shape, transition_spec)}."
        )


def _trajectory_of(transition: trajectory.Transition) -> trajectory.Trajectory:
    return trajectory.Trajectory(
        step_type=transition.time_step.step_type,
        observation=transition.time_step.observation,
        action=transition.action_step.action,
        policy_info=transition.action_step.info,
        next_step_type=transition.next_time_step.step_type,
        reward=transition.next_time_step.reward,
        discount=transition.next_time_step.discount,
    )


def _checked_transition(
    value: Any,
    context: DataContext,
    sequence_length: int | None,
    from_trajectory: Callable[[trajectory.Trajectory], trajectory.Transition],
    num_outer_dims: int,
) -> trajectory.Transition:
    """A transition-like `value` as is, or a trajectory (of `sequence_length`)
    converted by `from_trajectory`; then checked and pruned against the context.

    Raises:
      TypeError: `value` is neither transition- nor trajectory-like.
      ValueError: its shapes or time length do not fit.
    """
    if _has_fields(value, trajectory.Transition):
        value = _as_transition_type(value)
    elif _has_fields(value, trajectory.Trajectory):
        _validate_trajectory(
            value, context.trajectory_spec, sequence_length=sequence_length
        )
        value = from_trajectory(value)
    else:
        raise TypeError(f"Input type not supported: {value}")
    _validate_transition(value, context.transition_spec, num_outer_dims)
    return nest_utils.prune_extra_keys(context.transition_spec, value)


# ----------------------------------------------------------------------------
# Converters


class AsTrajectory(tf.Module):
    """Validates experience as a `Trajectory` (`[B, T]`, or `[B]`), pruning extra keys.

    Args:
      data_context: the agent's `DataContext`.
      sequence_length: the required time length, or None for any.
      num_outer_dims: 2 (`[B, T]`) or 1 (`[B]`).
    """

    def __init__(
        self,
        data_context: DataContext,
        sequence_length: int | None = None,
        num_outer_dims: Literal[1, 2] = 2,
    ):
        self._data_context = data_context
        self._sequence_length = sequence_length
        self._num_outer_dims = num_outer_dims

    def __call__(self, value: Any) -> trajectory.Trajectory:
        """The validated, pruned `Trajectory` (a `[B, T]` `Transition` is repacked).

        Raises:
          TypeError: `value` is neither a `Trajectory` nor a `Transition`.
          ValueError: its shapes or time length do not fit.
        """
        if isinstance(value, trajectory.Transition):
            value = _trajectory_of(value)
        elif not isinstance(value, trajectory.Trajectory):
            raise TypeError(f"Input type not supported: {value}")
        spec = self._data_context.trajectory_spec
        _validate_trajectory(
            value,
            spec,
            sequence_length=self._sequence_length,
            num_outer_dims=self._num_outer_dims,
        )
        return nest_utils.prune_extra_keys(spec, value)


class AsTransition(tf.Module):
    """Validates experience and converts it to a `Transition`.

    Args:
      data_context: the agent's `DataContext`.
      squeeze_time_dim: trajectories must be `[B, 2]` and become `[B]`
        transitions (False: `[B, T]` -> `[B, T - 1]`).
      prepend_t0_to_next_time_step: the next observations get the first
        observation prepended (`[B, T]` for sequence models' targets).
    """

    def __init__(
        self,
        data_context: DataContext,
        squeeze_time_dim: bool = False,
        prepend_t0_to_next_time_step: bool = False,
    ):
        self._data_context = data_context
        self._squeeze_time_dim = squeeze_time_dim
        self._prepend_t0_to_next_time_step = prepend_t0_to_next_time_step

    def __call__(self, value: Any) -> trajectory.Transition:
        """The validated, pruned `Transition`.

        Raises:
          TypeError: `value` is neither transition- nor trajectory-like.
          ValueError: its shapes do not fit (with `squeeze_time_dim`, a
            trajectory's time length is not 2).
        """
        squeeze = self._squeeze_time_dim

        def from_trajectory(traj: trajectory.Trajectory) -> trajectory.Transition:
            transition = trajectory.to_transition(traj)
            if squeeze:
                transition = tf.nest.map_structure(
                    lambda x: composite.squeeze(x, 1), transition
                )
            return transition

        value = _checked_transition(
            value,
            self._data_context,
            2 if squeeze else None,
            from_trajectory,
            1 if squeeze else 2,
        )
        if self._prepend_t0_to_next_time_step:
            observation = tf.nest.map_structure(
                lambda first, rest: tf.concat([first[:, :1, ...], rest], axis=1),
                value.time_step.observation,
                value.next_time_step.observation,
            )
            value = value._replace(
                next_time_step=value.next_time_step._replace(observation=observation)
            )
        return value


class AsHalfTransition(tf.Module):
    """Converts experience to a transition whose next observation is a dummy.

    For agents that never look at the next observation (e.g. behavioral
    cloning): trajectories of length 1 suffice.

    Args:
      data_context: the agent's `DataContext` (with `use_half_transition`).
      squeeze_time_dim: trajectories must be `[B, 1]` and become `[B]`.
    """

    def __init__(self, data_context: DataContext, squeeze_time_dim: bool = False):
        self._data_context = data_context
        self._squeeze_time_dim = squeeze_time_dim

    def __call__(self, value: Any) -> trajectory.Transition:
        squeeze = self._squeeze_time_dim

        def from_trajectory(traj: trajectory.Trajectory) -> trajectory.Transition:
            if squeeze:
                traj = tf.nest.map_structure(lambda x: tf.squeeze(x, axis=1), traj)
            return trajectory.Transition(
                ts.TimeStep(
                    traj.step_type,
                    reward=tf.nest.map_structure(tf.zeros_like, traj.reward),
                    discount=tf.zeros_like(traj.discount),
                    observation=traj.observation,
                ),
                policy_step.PolicyStep(
                    action=traj.action, state=(), info=traj.policy_info
                ),
                ts.TimeStep(
                    step_type=traj.next_step_type,
                    reward=traj.reward,
                    discount=traj.discount,
                    observation=tf.zeros_like(traj.discount),
                ),
            )

        return _checked_transition(
            value,
            self._data_context,
            1 if squeeze else None,
            from_trajectory,
            1 if squeeze else 2,
        )


class AsNStepTransition(tf.Module):
    """Converts `[B, n + 1]` trajectories to `[B]` n-step transitions.

    Rewards of the n steps are summed with discount `gamma`
    (`trajectory.to_n_step_transition`).

    Args:
      data_context: the agent's `DataContext`.
      gamma: the discount factor.
      n: the expected number of steps (time length `n + 1`); None: any.
    """

    def __init__(
        self, data_context: DataContext, gamma: types.Float, n: int | None = None
    ):
        self._data_context = data_context
        self._gamma = gamma
        self._n = n

    def __call__(self, value: Any) -> trajectory.Transition:
        return _checked_transition(
            value,
            self._data_context,
            None if self._n is None else self._n + 1,
            lambda traj: trajectory.to_n_step_transition(traj, gamma=self._gamma),
            num_outer_dims=1,
        )
