"""Which time-step leaves a policy's action reads, and the leaves one by one.

Most policies read only the observation (and the step type, to reset
state), not the reward or discount. `PyTFEagerPolicy` therefore traces its
action on the leaves the graph reads and converts only those per call; the
leaves it skips are still checked against their specs, so a bad time step
fails the same way whichever leaves a policy happens to read.

A leaf counts as read if any output or stateful op depends on it
(`graph_reads`). For a loaded SavedModel that is found in its restored
`action` graph; for a `TFPolicy`, by tracing once with every leaf.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
import tensorflow as tf

from policylib.base import nest_utils
from policylib.policies import tf_policy
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import graph_reads

__all__ = ["TimeStepLeaves", "loaded_action_reads", "state_spec_of", "trace_on_read"]

# The traced action on some time-step leaves: (indices of the leaves fed, function).
Traced = tuple[list[int], Callable[..., policy_step.PolicyStep]]


class TimeStepLeaves:
    """The flat leaves of one unbatched time-step spec: conversion and checks.

    Args:
      time_step_spec: `TimeStep` of array specs of one (unbatched) time step.
    """

    def __init__(self, time_step_spec: ts.TimeStep):
        self.time_step_spec = time_step_spec
        self.specs: list[types.ArraySpec] = tf.nest.flatten(time_step_spec)
        self.paths = [
            path for path, _ in nest_utils.flatten_with_joined_paths(time_step_spec)
        ]
        self.dtypes = [np.dtype(s.dtype) for s in self.specs]
        # The rank of an unbatched first leaf (the step type): one more is a batch.
        self.unbatched_rank = len(self.specs[0].shape)

    def __len__(self) -> int:
        return len(self.specs)

    def input_specs(self, outer: Sequence[int | None]) -> list[tf.TensorSpec]:
        """Tensor specs of the leaves with `outer` dims in front."""
        return [tf.TensorSpec(list(outer) + list(s.shape), s.dtype) for s in self.specs]

    def fill(
        self,
        leaves: Sequence[tf.Tensor],
        indices: Sequence[int],
        outer: Sequence[int | tf.Tensor],
    ) -> ts.TimeStep:
        """The time step with `leaves` at `indices` and zeros (of `outer` dims) elsewhere."""
        flat: list[tf.Tensor | None] = [None] * len(self.specs)
        for i, leaf in zip(indices, leaves):
            flat[i] = leaf
        for i, spec in enumerate(self.specs):
            if flat[i] is None:
                flat[i] = tf.zeros(list(outer) + list(spec.shape), spec.dtype)
        return tf.nest.pack_sequence_as(self.time_step_spec, flat)

    def to_tensor(self, value: npt.ArrayLike | None, i: int) -> tf.Tensor:
        """Leaf `i` as a tensor of its spec's dtype.

        NumPy arrays of the spec's dtype go straight through; other values are
        cast if NumPy calls that a same-kind cast (float64 -> float32), else a
        ValueError names the spec.
        """
        dtype = self.dtypes[i]
        if isinstance(value, np.ndarray) and value.dtype == dtype:
            return tf.constant(value)
        spec = self.specs[i]
        if isinstance(value, tf.Tensor) and value.dtype == spec.dtype:
            return value
        if value is None:
            raise self._none_error(i)
        array = np.asarray(value)
        if not np.can_cast(array.dtype, dtype, "same_kind"):
            raise ValueError(
                f"time_step.{self.paths[i]} has dtype {array.dtype}, which does not fit its spec {spec}.\n"
                f"Expected time_step_spec: {self.time_step_spec}"
            )
        return tf.constant(array.astype(dtype, copy=False))

    def check_unread(
        self,
        flat: Sequence[npt.ArrayLike],
        first_used: int,
        unread: Sequence[int],
        add_batch: bool,
    ) -> None:
        """Checks the leaves that are not converted because the action does not read them.

        Each must still fit its spec: not None, a dtype of the spec's kind, the
        spec's shape with the batch of the leaves that are read.
        """
        batch = () if add_batch else np.shape(flat[first_used])[:1]
        for i in unread:
            value = flat[i]
            spec = self.specs[i]
            if value is None:
                raise self._none_error(i)
            shape = np.shape(value)
            if shape != batch + spec.shape:
                raise ValueError(
                    f"time_step.{self.paths[i]} has shape {shape}; "
                    f"expected {batch + spec.shape} (batch {batch}) for {spec}."
                )
            dtype = getattr(value, "dtype", None)
            if dtype is not None and not np.can_cast(
                np.dtype(getattr(dtype, "as_numpy_dtype", dtype)),
                self.dtypes[i],
                "same_kind",
            ):
                raise ValueError(
                    f"time_step.{self.paths[i]} has dtype {dtype}, which "
                    f"does not fit its spec {spec}."
                )

    def _none_error(self, i: int) -> ValueError:
        return ValueError(
            f"time_step.{self.paths[i]} is None; expected an array for {self.specs[i]}."
        )

    def shape_problems(self, time_step: types.NestedArray) -> str:
        """`" (time_step.observation: shape (3,), expected (4,) or [B] + (4,))"`, or ""."""
        try:
            flat = nest_utils.flatten_up_to(self.time_step_spec, time_step)
        except (TypeError, ValueError):
            return " (its structure differs)"
        problems = []
        for path, value, spec in zip(self.paths, flat, self.specs):
            want = tuple(spec.shape)
            got = tuple(np.shape(value))
            if got != want and got[1:] != want:
                problems.append(
                    f"time_step.{path}: shape {got}, expected {want} or [B] + {want}"
                )
        return f" ({'; '.join(problems)})" if problems else ""


def loaded_action_reads(policy: object, count: int) -> list[int] | None:
    """For a loaded SavedModel: the time-step leaves its saved `action` reads.

    Read from the restored graph, which saves tracing the wrapper twice; None
    for a `TFPolicy` (or when the restored functions cannot be read).
    """
    if isinstance(policy, tf_policy.TFPolicy):
        return None
    action = getattr(policy, "action", None)
    for concrete in getattr(action, "concrete_functions", ()):
        args, _ = concrete.structured_input_signature
        if args and len(tf.nest.flatten(args[0])) == count:
            return graph_reads.read_inputs(concrete, count)
    return None


def trace_on_read(
    trace: Callable[[list[int]], Callable[..., policy_step.PolicyStep]],
    count: int,
    known_reads: list[int] | None,
) -> Traced:
    """The action traced for the leaves it reads, among `count` leaves.

    Args:
      trace: traces the action fed the leaves at the given indices; returns
        the concrete function.
      count: how many time-step leaves there are.
      known_reads: the leaves read, if known already (`loaded_action_reads`);
        None traces with every leaf first to find them.
    """
    used = known_reads
    if used is None:
        full = trace(list(range(count)))
        used = graph_reads.read_inputs(full, count)
        if len(used) == count:
            return used, full
    used = used or [0]  # keep one leaf: it carries the batch size
    return used, trace(used)


def state_spec_of(state: types.NestedTensor) -> types.NestedTensorSpec:
    """Specs of a batched state nest, with any batch size."""

    def spec(t: tf.Tensor) -> tf.TensorSpec:
        shape = tf.TensorShape(np.shape(t))
        return tf.TensorSpec([None] + shape.as_list()[1:], tf.as_dtype(t.dtype))

    return tf.nest.map_structure(spec, state)
