"""`PyTFPolicy`: a `TFPolicy` run through a TF1 `Session`, as a NumPy policy.

For TF1-style graph code only; in eager TF2 use
`py_tf_eager_policy.PyTFEagerPolicy`. The graph (placeholders for one batch
size and the policy's `action`) is built on `initialize` or on the first call:

    with graph.as_default():
        policy = py_tf_policy.PyTFPolicy(tf_policy)
        policy.session = tf.compat.v1.Session(graph=graph)
        policy.initialize(batch_size=None)      # None: unbatched time steps
        step = policy.action(numpy_time_step)
"""

from __future__ import annotations

import logging
from typing import Any

import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import py_policy, tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, session_utils

__all__ = ["PyTFPolicy"]


class PyTFPolicy(py_policy.PyPolicy, session_utils.SessionUser):
    """A `TFPolicy` in a TF1 graph, called with NumPy through a session.

    Args:
      policy: the `TFPolicy`.
      batch_size: deprecated and ignored (the batch size is set by `initialize`).
      seed: seed for the policy's `action`.
    """

    def __init__(
        self,
        policy: tf_policy.TFPolicy,
        batch_size: int | None = None,
        seed: types.Seed = None,
    ):
        if not isinstance(policy, tf_policy.TFPolicy):
            logging.warning("Policy should implement tf_policy.TFPolicy")
        if batch_size is not None:
            logging.warning("PyTFPolicy: `batch_size` is deprecated and has no effect.")
        super().__init__(
            tensor_spec.to_nest_array_spec(policy.time_step_spec),
            tensor_spec.to_nest_array_spec(policy.action_spec),
            policy_state_spec=tensor_spec.to_nest_array_spec(policy.policy_state_spec),
            info_spec=(),
        )
        self._tf_policy = policy
        self._seed = seed
        self._batch_size: int | None = None
        self._batched = False
        self._built = False

    def initialize(self, batch_size: int | None, graph: tf.Graph | None = None) -> None:
        """Builds the graph for `batch_size` (None: unbatched) and initializes variables.

        Raises:
          RuntimeError: called twice.
        """
        if self._built:
            raise RuntimeError("PyTFPolicy can only be initialized once.")
        graph = graph or tf.compat.v1.get_default_graph()
        self._batch_size = batch_size
        self._batched = batch_size is not None
        outer: list[int | None] = [batch_size] if self._batched else [1]
        with graph.as_default():
            self._time_step = tensor_spec.to_nest_placeholder(
                self._tf_policy.time_step_spec, outer_dims=outer
            )
            self._tf_initial_state = self._tf_policy.get_initial_state(
                batch_size=batch_size or 1
            )
            self._policy_state = tf.nest.map_structure(
                lambda s: tf.compat.v1.placeholder(
                    s.dtype, s.shape, name="policy_state"
                ),
                self._tf_initial_state,
            )
            self._action_step = self._tf_policy.action(
                self._time_step, self._policy_state, seed=self._seed
            )
            variables = tf.nest.flatten(self._tf_policy.variables())
            if variables:
                initialized = self.session.run(
                    [tf.compat.v1.is_variable_initialized(v) for v in variables]
                )
                pending = [v for v, done in zip(variables, initialized) if not done]
                if pending:
                    self.session.run(tf.compat.v1.variables_initializer(pending))
        self._built = True

    def save(
        self, policy_dir: str | None = None, graph: tf.Graph | None = None
    ) -> None:
        """Writes a checkpoint of the policy (numbered by the global step) to `policy_dir`."""
        if not self._built:
            raise RuntimeError("PyTFPolicy has not been initialized yet.")
        with (graph or tf.compat.v1.get_default_graph()).as_default():
            checkpointer, global_step = self._checkpointer(policy_dir)
            checkpointer.initialize_or_restore(self.session)
            with self.session.as_default():
                checkpointer.save(global_step)

    def restore(
        self,
        policy_dir: str,
        graph: tf.Graph | None = None,
        assert_consumed: bool = True,
    ) -> Any:
        """Restores the latest checkpoint in `policy_dir`; returns its global step.

        Raises:
          RuntimeError: not initialized.
          AssertionError: with `assert_consumed`, the checkpoint has values that
            match no variable of the policy.
        """
        if not self._built:
            raise RuntimeError("PyTFPolicy must be initialized before being restored.")
        with (graph or tf.compat.v1.get_default_graph()).as_default():
            checkpointer, global_step = self._checkpointer(policy_dir)
            status = checkpointer.initialize_or_restore(self.session)
            with self.session.as_default():
                if assert_consumed:
                    status.assert_consumed()
                status.run_restore_ops()
            return self.session.run(global_step)

    def _checkpointer(self, policy_dir: str | None) -> tuple[common.Checkpointer, Any]:
        if policy_dir is None:
            raise ValueError(
                "A policy_dir is required to save or restore a PyTFPolicy."
            )
        global_step = tf.compat.v1.train.get_or_create_global_step()
        checkpointer = common.Checkpointer(
            ckpt_dir=policy_dir, policy=self._tf_policy, global_step=global_step
        )
        return checkpointer, global_step

    def _build_from_time_step(self, time_step: ts.TimeStep) -> None:
        outer = nest_utils.get_outer_array_shape(time_step, self._time_step_spec)
        if len(outer) > 1:
            raise ValueError(
                f"Cannot handle more than one outer dimension. Saw {len(outer)} outer "
                f"dimensions: {outer}"
            )
        self.initialize(outer[0] if outer else None)

    def _get_initial_state(self, batch_size: int | None) -> types.NestedArray:
        if not self._built:
            self.initialize(batch_size)
        if batch_size not in (self._batch_size, self._batch_size or 1):
            raise ValueError(
                "`batch_size` argument is different from the batch size provided previously. "
                f"Expected {self._batch_size}, but saw {batch_size}."
            )
        return self.session.run(self._tf_initial_state)

    def _action(
        self,
        time_step: ts.TimeStep,
        policy_state: types.NestedArray,
        seed: types.Seed = None,
    ) -> policy_step.PolicyStep:
        if seed is not None:
            raise ValueError(
                "PyTFPolicy takes its seed in the constructor, not per call."
            )
        if not self._built:
            self._build_from_time_step(time_step)
        batch_size = None
        if time_step.step_type.shape:
            batch_size = time_step.step_type.shape[0]
        if self._batch_size != batch_size:
            raise ValueError(
                "The batch size of time_step is different from the batch size provided "
                f"previously. Expected {self._batch_size}, but saw {batch_size}."
            )
        if not self._batched:
            time_step = nest_utils.batch_nested_array(time_step)
        nest_utils.assert_same_structure(self._time_step, time_step)
        feed = dict(zip(tf.nest.flatten(self._time_step), tf.nest.flatten(time_step)))
        if policy_state is not None:
            for placeholder, value in zip(
                tf.nest.flatten(self._policy_state), tf.nest.flatten(policy_state)
            ):
                feed[placeholder] = value
        action, state, info = self.session.run(self._action_step, feed)
        if not self._batched:
            action, info = nest_utils.unbatch_nested_array([action, info])
        return policy_step.PolicyStep(action, state, info)
