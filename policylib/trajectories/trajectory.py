"""`Trajectory` and `Transition`: experience as policies emit and agents consume it.

A `Trajectory` packs one step of experience (step type, observation, action,
policy info, next step type, reward, discount) so that consecutive steps can be
stacked along a time axis. A `Transition` is the `(time_step, action_step,
next_time_step)` view of the same data. Type names and field orders match
TF-Agents (they are part of `policy_specs.pbtxt`).
"""

from __future__ import annotations

import pprint
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from policylib.base.lazy_tf import is_loaded, is_tensor, nest, tf
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = [
    "Trajectory",
    "Transition",
    "boundary",
    "experience_to_transitions",
    "first",
    "from_episode",
    "from_transition",
    "last",
    "mid",
    "single_step",
    "to_n_step_transition",
    "to_transition",
    "to_transition_spec",
]


def _has_tensors(*values: types.NestedTensorOrArray) -> bool:
    if not is_loaded():
        return False
    return any(
        is_tensor(leaf) or isinstance(leaf, tf.__internal__.CompositeTensor)
        for leaf in nest.flatten(values)
    )


def _is_sparse(value: object) -> bool:
    return is_loaded() and isinstance(value, tf.SparseTensor)


def _equal(step_type: types.TensorOrArray, constant: np.ndarray) -> Any:
    if is_tensor(step_type):
        return tf.equal(step_type, constant)
    return np.equal(step_type, constant)


class _TrajectoryFields(NamedTuple):
    step_type: Any
    observation: Any
    action: Any
    policy_info: Any
    next_step_type: Any
    reward: Any
    discount: Any


class Trajectory(_TrajectoryFields):
    """One step of experience, optionally stacked along batch and time axes.

    Fields: step_type, observation, action, policy_info, next_step_type,
    reward, discount. `reward` and `discount` belong to the transition from
    this step to the next one.
    """

    __slots__ = ()

    def is_first(self) -> Any:
        return _equal(self.step_type, ts.StepType.FIRST)

    def is_mid(self) -> Any:
        if is_tensor(self.step_type):
            return tf.logical_and(
                tf.equal(self.step_type, ts.StepType.MID),
                tf.equal(self.next_step_type, ts.StepType.MID),
            )
        return np.logical_and(
            np.equal(self.step_type, ts.StepType.MID),
            np.equal(self.next_step_type, ts.StepType.MID),
        )

    def is_last(self) -> Any:
        return _equal(self.next_step_type, ts.StepType.LAST)

    def is_boundary(self) -> Any:
        return _equal(self.step_type, ts.StepType.LAST)

    def replace(self, **kwargs: Any) -> Trajectory:
        return self._replace(**kwargs)

    def __repr__(self) -> str:
        return (
            "Trajectory(\n"
            + pprint.pformat(dict(self._asdict()), sort_dicts=False)
            + ")"
        )


class _TransitionFields(NamedTuple):
    time_step: ts.TimeStep
    action_step: policy_step.PolicyStep
    next_time_step: ts.TimeStep


class Transition(_TransitionFields):
    """`(time_step, action_step, next_time_step)`: one step seen as a transition."""

    __slots__ = ()

    def replace(self, **kwargs: Any) -> Transition:
        return self._replace(**kwargs)

    def __repr__(self) -> str:
        return "Transition(\n" + pprint.pformat(dict(self._asdict())) + ")"


def _make(
    step_type: np.ndarray,
    next_step_type: np.ndarray,
    observation: types.NestedTensorOrArray,
    action: types.NestedTensorOrArray,
    policy_info: types.Nested,
    reward: types.NestedTensorOrArray,
    discount: types.NestedTensorOrArray,
) -> Trajectory:
    """A trajectory whose step types are shaped like `discount`."""
    if _has_tensors(observation, action, policy_info, reward, discount):
        discount = tf.convert_to_tensor(discount)
        outer_shape = tf.shape(discount)
        return Trajectory(
            step_type=tf.fill(outer_shape, step_type),
            observation=observation,
            action=action,
            policy_info=policy_info,
            next_step_type=tf.fill(outer_shape, next_step_type),
            reward=reward,
            discount=discount,
        )
    discount = np.asarray(discount)
    return Trajectory(
        step_type=np.tile(step_type, discount.shape),
        observation=observation,
        action=action,
        policy_info=policy_info,
        next_step_type=np.tile(next_step_type, discount.shape),
        reward=reward,
        discount=discount,
    )


def _step_builder(
    step_type: np.ndarray, next_step_type: np.ndarray, name: str, doc: str
) -> Callable[..., Trajectory]:
    """A public builder of one-step trajectories with fixed step types."""

    def build(observation, action, policy_info, reward, discount) -> Trajectory:
        return _make(
            step_type,
            next_step_type,
            observation,
            action,
            policy_info,
            reward,
            discount,
        )

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"{doc}\n\nStep types are shaped like `discount`; tensors in, tensors out."
    )
    return build


F, M, L = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST
first = _step_builder(
    F, M, "first", "A FIRST -> MID step (the first step of an episode)."
)
mid = _step_builder(M, M, "mid", "A MID -> MID step.")
last = _step_builder(
    M, L, "last", "A MID -> LAST step (the last action of an episode)."
)
single_step = _step_builder(
    F, L, "single_step", "A FIRST -> LAST step (a one-step episode, e.g. a bandit)."
)
boundary = _step_builder(
    L, F, "boundary", "A LAST -> FIRST step (between two episodes)."
)
del F, M, L


def from_episode(
    observation: types.NestedTensorOrArray,
    action: types.NestedTensorOrArray,
    policy_info: types.Nested,
    reward: types.NestedTensorOrArray,
    discount: types.NestedTensorOrArray = None,
) -> Trajectory:
    """A trajectory for one whole episode whose leaves have a leading time axis.

    Step types run FIRST, MID, ..., MID and next step types MID, ..., MID, LAST.
    `discount` defaults to ones shaped like the reward's time axis.
    """
    first_reward = nest.flatten(reward)[0]
    if _has_tensors(observation, action, policy_info, reward, discount):
        num_frames = (
            tf.compat.dimension_value(first_reward.shape[0])
            or tf.shape(first_reward)[0]
        )
        if discount is None:
            discount = tf.ones([num_frames], dtype=tf.float32)
        positions = tf.range(num_frames)
        step_type = tf.where(tf.equal(positions, 0), ts.StepType.FIRST, ts.StepType.MID)
        next_step_type = tf.where(
            tf.equal(positions, num_frames - 1), ts.StepType.LAST, ts.StepType.MID
        )
        discount = tf.convert_to_tensor(discount)
    else:
        num_frames = np.shape(first_reward)[0]
        if discount is None:
            discount = np.ones([num_frames], dtype=np.float32)
        step_type = np.full([num_frames], ts.StepType.MID, dtype=np.int32)
        next_step_type = np.full([num_frames], ts.StepType.MID, dtype=np.int32)
        if num_frames:
            step_type[0] = ts.StepType.FIRST
            next_step_type[-1] = ts.StepType.LAST
    return Trajectory(
        step_type=step_type,
        observation=observation,
        action=action,
        policy_info=policy_info,
        next_step_type=next_step_type,
        reward=reward,
        discount=discount,
    )


def from_transition(
    time_step: ts.TimeStep,
    action_step: policy_step.PolicyStep,
    next_time_step: ts.TimeStep,
) -> Trajectory:
    """Rebuilds a trajectory from a `(time_step, action_step, next_time_step)` triple."""
    return Trajectory(
        step_type=time_step.step_type,
        observation=time_step.observation,
        action=action_step.action,
        policy_info=action_step.info,
        next_step_type=next_time_step.step_type,
        reward=next_time_step.reward,
        discount=next_time_step.discount,
    )


def _slice_time(value: types.TensorOrArray, start: int | None, stop: int | None) -> Any:
    """`value[:, start:stop]` for arrays, dense tensors and sparse tensors."""
    if _is_sparse(value):
        shape = tf.shape(value, out_type=tf.int64)
        length = shape[1]
        begin = 0 if start is None else (start if start >= 0 else length + start)
        end = length if stop is None else (stop if stop >= 0 else length + stop)
        starts = tf.concat([[0, begin], tf.zeros_like(shape[2:])], 0)
        sizes = tf.concat([[shape[0], end - begin], shape[2:]], 0)
        return tf.sparse.slice(value, starts, sizes)
    return value[:, start:stop]


def _at_time(value: types.TensorOrArray, t: int) -> types.TensorOrArray:
    """`value[:, t]`, for sparse tensors too."""
    if _is_sparse(value):
        from policylib.base import composite

        return composite.squeeze(_slice_time(value, t, None if t == -1 else t + 1), 1)
    return value[:, t]


def _zeros_like(value: types.TensorOrArray) -> types.TensorOrArray:
    return tf.zeros_like(value) if is_tensor(value) else np.zeros_like(value)


def _first_steps(
    frame: Trajectory,
    filler: Callable[[types.TensorOrArray], types.TensorOrArray],
) -> tuple[ts.TimeStep, policy_step.PolicyStep]:
    """The time step and action step a transition starts from, taken from `frame`.

    Their reward and discount belong to the transition before, so they are
    replaced by `filler`'s values (zeros or NaN) of the same shapes.
    """
    time_step = ts.TimeStep(
        step_type=frame.step_type,
        reward=nest.map_structure(filler, frame.reward),
        discount=filler(frame.discount),
        observation=frame.observation,
    )
    action_step = policy_step.PolicyStep(
        action=frame.action, state=(), info=frame.policy_info
    )
    return time_step, action_step


def to_transition(
    trajectory: Trajectory, next_trajectory: Trajectory | None = None
) -> Transition:
    """Converts a trajectory (or a pair of aligned ones) to a `Transition`.

    With one trajectory of shape `[B, T, ...]`, the result pairs steps
    `[:, :-1]` with `[:, 1:]`. The time step's reward and discount are dummy
    zeros: they belong to the transition before it.
    """
    if next_trajectory is None:
        next_trajectory = nest.map_structure(
            lambda x: _slice_time(x, 1, None), trajectory
        )
        trajectory = nest.map_structure(lambda x: _slice_time(x, None, -1), trajectory)
    time_steps, action_steps = _first_steps(trajectory, _zeros_like)
    next_time_steps = ts.TimeStep(
        step_type=trajectory.next_step_type,
        reward=trajectory.reward,
        discount=trajectory.discount,
        observation=next_trajectory.observation,
    )
    return Transition(time_steps, action_steps, next_time_steps)


def to_n_step_transition(trajectory: Trajectory, gamma: types.Float) -> Transition:
    """Collapses `[B, N + 1]` frames into one N-step transition per batch entry.

    The next time step's reward is `sum_t gamma^t * prod_{k<t} d_k * r_t` over
    the first N frames and its discount `gamma^(N-1) * prod_{k<N} d_k`. The
    first time step's reward and discount are NaN: they are not defined.
    """
    discount = tf.convert_to_tensor(trajectory.discount)
    if discount.shape.rank != 2:
        raise ValueError(
            f"to_n_step_transition needs discount of rank 2 [B, N + 1], got shape {discount.shape}."
        )
    first_frame = nest.map_structure(lambda x: _at_time(x, 0), trajectory)
    final_frame = nest.map_structure(lambda x: _at_time(x, -1), trajectory)

    discounts = discount[:, :-1]
    gamma = tf.cast(gamma, discounts.dtype)
    num_steps = tf.shape(discounts)[1]
    powers = tf.pow(gamma, tf.cast(tf.range(num_steps), discounts.dtype))
    weights = powers * tf.math.cumprod(discounts, axis=1, exclusive=True)

    def _n_step_reward(reward: types.NestedTensorOrArray) -> tf.Tensor:
        reward = tf.convert_to_tensor(reward)[:, :-1]
        w = tf.cast(weights, reward.dtype)
        w = tf.reshape(
            w, tf.concat([tf.shape(w), tf.ones([reward.shape.rank - 2], tf.int32)], 0)
        )
        return tf.reduce_sum(reward * w, axis=1)

    n_step_discount = tf.pow(
        gamma, tf.cast(num_steps - 1, discounts.dtype)
    ) * tf.reduce_prod(discounts, axis=1)

    def _nan_like(value: types.TensorOrArray) -> types.TensorOrArray:
        value = tf.convert_to_tensor(value)
        return tf.fill(tf.shape(value), tf.constant(np.nan, value.dtype))

    time_steps, action_steps = _first_steps(first_frame, _nan_like)
    next_time_steps = ts.TimeStep(
        step_type=nest.map_structure(lambda x: x[:, -2], trajectory.next_step_type),
        reward=nest.map_structure(_n_step_reward, trajectory.reward),
        discount=n_step_discount,
        observation=final_frame.observation,
    )
    return Transition(time_steps, action_steps, next_time_steps)


def to_transition_spec(trajectory_spec: Trajectory) -> Transition:
    """The `Transition` of specs that `to_transition` produces from this spec."""
    time_step_spec = ts.TimeStep(
        step_type=trajectory_spec.step_type,
        reward=trajectory_spec.reward,
        discount=trajectory_spec.discount,
        observation=trajectory_spec.observation,
    )
    action_spec = policy_step.PolicyStep(
        action=trajectory_spec.action, state=(), info=trajectory_spec.policy_info
    )
    return Transition(time_step_spec, action_spec, time_step_spec)


def experience_to_transitions(
    experience: Trajectory, squeeze_time_dim: bool
) -> Transition:
    """`to_transition`, optionally removing a time axis of length one."""
    transitions = to_transition(experience)
    if squeeze_time_dim:
        transitions = nest.map_structure(lambda x: tf.squeeze(x, axis=[1]), transitions)
    return transitions
