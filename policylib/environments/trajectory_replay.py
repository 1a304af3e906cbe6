"""`TrajectoryReplay`: re-run a policy over recorded trajectories.

Given trajectories [batch, time] (or [time, batch]), the policy acts on each
step in time order, carrying its state, as it would have while collecting. The
time step it sees at t has the recorded step type and observation at t, and
the reward and discount of t-1 (zero reward, discount one at t=0).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import gin
import tensorflow as tf

from policylib.base import nest_utils
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory as trajectory_lib
from policylib.typing import types
from policylib.utils import common

if TYPE_CHECKING:  # environments sit below policies: a type hint only
    from policylib.policies import tf_policy

__all__ = ["TrajectoryReplay"]


def _shift_right(t: tf.Tensor, first: float) -> tf.Tensor:
    """[first, t[0], ..., t[T-2]] along the (leading) time axis."""
    head = tf.fill(tf.shape(t[:1]), tf.constant(first, t.dtype))
    return tf.concat([head, t[:-1]], axis=0)


@gin.configurable
class TrajectoryReplay:
    """Replays a `TFPolicy` over trajectories, returning its actions and info.

    Args:
      policy: the policy to run.
      time_major: trajectories are [time, batch] instead of [batch, time].
    """

    def __init__(self, policy: tf_policy.TFPolicy, time_major: bool = False):
        self._policy = policy
        self._time_major = time_major

    def run(
        self,
        trajectory: trajectory_lib.Trajectory,
        policy_state: types.NestedTensor | None = None,
    ) -> tuple[types.NestedTensor, types.NestedTensor, types.NestedTensor]:
        """Runs the policy over `trajectory`.

        Args:
          trajectory: a `Trajectory` matching `policy.trajectory_spec` with two
            outer dims.
          policy_state: the state before the first step; the policy's initial
            state when None.

        Returns:
          `(actions, policy_info, final_policy_state)`, actions and info with
          the same outer dims as `trajectory`.

        Raises:
          ValueError: `trajectory` does not have two outer dims, or
            `policy_state` does not match the policy's state spec.
        """
        spec = self._policy.trajectory_spec
        outer_shape = nest_utils.get_outer_shape(trajectory, spec)
        if outer_shape.shape[0] != 2:
            raise ValueError(
                f"Expected two outer dimensions, but saw '{outer_shape.shape[0]}' "
                f"dimensions.\nTrajectory:\n{trajectory}.\nTrajectory spec from "
                f"policy:\n{spec}."
            )
        if not self._time_major:
            trajectory = tf.nest.map_structure(common.transpose_batch_time, trajectory)
            outer_shape = tf.reverse(outer_shape, [0])
        num_steps, batch_size = outer_shape[0], outer_shape[1]
        static_batch = trajectory.discount.shape[1]
        if policy_state is None:
            policy_state = self._policy.get_initial_state(batch_size)
        else:
            nest_utils.assert_same_structure(
                policy_state, self._policy.policy_state_spec
            )

        time_steps = ts.TimeStep(
            step_type=trajectory.step_type,
            reward=tf.nest.map_structure(
                lambda r: _shift_right(r, 0.0), trajectory.reward
            ),
            discount=_shift_right(trajectory.discount, 1.0),
            observation=trajectory.observation,
        )

        def output_arrays(specs: types.NestedTensorSpec) -> types.NestedTensor:
            return tf.nest.map_structure(
                lambda s: tf.TensorArray(
                    s.dtype,
                    size=num_steps,
                    element_shape=tf.TensorShape([static_batch]).concatenate(s.shape),
                ),
                specs,
            )

        def body(t, state, actions, infos):
            time_step = tf.nest.map_structure(lambda x: x[t], time_steps)
            step = self._policy.action(time_step, state)
            write = lambda array, value: array.write(t, value)  # noqa: E731
            return (
                t + 1,
                step.state,
                tf.nest.map_structure(write, actions, step.action),
                tf.nest.map_structure(write, infos, step.info),
            )

        _, final_state, actions, infos = tf.while_loop(
            cond=lambda t, *_: t < num_steps,
            body=body,
            loop_vars=(
                tf.constant(0),
                policy_state,
                output_arrays(spec.action),
                output_arrays(spec.policy_info),
            ),
            name="trajectory_replay_loop",
        )

        def stack(array: tf.TensorArray) -> tf.Tensor:
            values = array.stack()
            return values if self._time_major else common.transpose_batch_time(values)

        return (
            tf.nest.map_structure(stack, actions),
            tf.nest.map_structure(stack, infos),
            final_state,
        )
