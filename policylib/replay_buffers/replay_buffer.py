"""`ReplayBuffer`: the interface every replay buffer implements.

    buffer.add_batch(trajectory)                       # [batch, ...] per leaf
    dataset = buffer.as_dataset(sample_batch_size=64, num_steps=2)
    experience, info = next(iter(dataset))             # [64, 2, ...] per leaf

Subclasses implement the `_private` hooks; the public methods are the
template, as for policies. Eagerly, methods change the buffer or return values;
in a TF1 graph they return ops that do so when run.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from policylib.typing import types
from policylib.utils import common

__all__ = ["ReplayBuffer", "SequencePreprocessFn"]

# What `as_dataset` applies to each sequence before cutting it into runs.
SequencePreprocessFn = Callable[[types.NestedTensor], types.NestedTensor]


class ReplayBuffer(tf.Module):
    """Base class of replay buffers.

    Args:
      data_spec: nest of specs of one item (no batch dim).
      capacity: how many items the buffer holds.
      stateful_dataset: whether `as_dataset`'s pipeline has stateful ops
        (then the dataset is marked as allowed to have them).
    """

    # Whether `_as_dataset` applies a `sequence_preprocess_fn` (none do yet).
    _supports_sequence_preprocess = False

    def __init__(
        self,
        data_spec: types.NestedSpec,
        capacity: types.Int,
        stateful_dataset: bool = False,
    ):
        super().__init__()
        common.check_tf1_allowed()
        self._data_spec = data_spec
        self._capacity = capacity
        self._stateful_dataset = stateful_dataset

    @property
    def data_spec(self) -> types.NestedSpec:
        """The spec of one item."""
        return self._data_spec

    @property
    def capacity(self) -> types.Int:
        """How many items the buffer holds."""
        return self._capacity

    @property
    def stateful_dataset(self) -> bool:
        return self._stateful_dataset

    def num_frames(self) -> types.Int:
        """How many items are in the buffer now."""
        return self._num_frames()

    def add_batch(self, items: types.NestedTensor) -> tf.Operation | None:
        """Adds a batch of items: each leaf is `[batch_size, *spec.shape]`."""
        return self._add_batch(items)

    def get_next(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        time_stacked: bool = True,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        """Samples items (prefer `as_dataset`, which pipelines this).

        Args:
          sample_batch_size: None for one item, else a batch of this many.
          num_steps: None for single items, else runs of this many
            consecutive items (`[B, T, ...]`, or a T-tuple of `[B, ...]` when
            `time_stacked` is False).
          time_stacked: stack the steps of a run on a time dim.

        Returns:
          `(items, info)`, info being buffer-specific (ids, probabilities).
        """
        return self._get_next(sample_batch_size, num_steps, time_stacked)

    def as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        num_parallel_calls: int | None = None,
        sequence_preprocess_fn: SequencePreprocessFn | None = None,
        single_deterministic_pass: bool = False,
    ) -> tf.data.Dataset:
        """A `tf.data.Dataset` of `(items, info)` drawn from the buffer.

        Args:
          sample_batch_size: None for unbatched elements, else the batch size.
          num_steps: None for single items (or whole episodes, for episodic
            buffers), else runs of this many consecutive items.
          num_parallel_calls: elements prepared in parallel.
          sequence_preprocess_fn: applied to sequences before they are split
            into runs of `num_steps` (where the buffer supports it).
          single_deterministic_pass: one pass over the contents in a fixed
            order (each item once), instead of endless uniform sampling.

        Raises:
          ValueError: the data spec holds Python lists, which `tf.data`
            would treat as tensors; use tuples.
          NotImplementedError: `sequence_preprocess_fn` was given to a buffer
            that does not support it.
        """
        if (
            sequence_preprocess_fn is not None
            and not self._supports_sequence_preprocess
        ):
            raise NotImplementedError(
                f"sequence_preprocess_fn is not supported by {type(self).__name__}."
            )
        if _holds_lists(self._data_spec):
            raise ValueError(
                "Cannot perform gather; data spec contains lists and this conflicts "
                "with gathering operator. Convert any lists to tuples. For example, "
                "if your spec looks like [a, b, c], change it to (a, b, c). Spec "
                f"structure is:\n  {tf.nest.map_structure(lambda s: s.dtype, self._data_spec)}"
            )
        make = (
            self._single_deterministic_pass_dataset
            if single_deterministic_pass
            else self._as_dataset
        )
        dataset = make(
            sample_batch_size=sample_batch_size,
            num_steps=num_steps,
            sequence_preprocess_fn=sequence_preprocess_fn,
            num_parallel_calls=num_parallel_calls,
        )
        if self._stateful_dataset:
            options = tf.data.Options()
            if hasattr(options, "experimental_allow_stateful"):
                options.experimental_allow_stateful = True
                dataset = dataset.with_options(options)
        return dataset

    def gather_all(self) -> types.NestedTensor:
        """Every item in the buffer, `[batch, time, ...]` per leaf."""
        return self._gather_all()

    def clear(self) -> tf.Operation | None:
        """Empties the buffer."""
        return self._clear()

    # Hooks of subclasses.

    def _num_frames(self) -> types.Int:
        raise NotImplementedError

    def _add_batch(self, items: types.NestedTensor) -> tf.Operation | None:
        raise NotImplementedError

    def _get_next(
        self,
        sample_batch_size: int | None,
        num_steps: int | None,
        time_stacked: bool,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        raise NotImplementedError

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        raise NotImplementedError

    def _single_deterministic_pass_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        raise NotImplementedError

    def _gather_all(self) -> types.NestedTensor:
        raise NotImplementedError

    def _clear(self) -> tf.Operation | None:
        raise NotImplementedError


def _holds_lists(structure: types.NestedSpec) -> bool:
    """Whether a nest has a Python list anywhere (`tf.data` takes lists as tensors)."""
    if isinstance(structure, list):
        return True
    if isinstance(structure, dict):
        return any(_holds_lists(v) for v in structure.values())
    if isinstance(structure, tuple):
        return any(_holds_lists(v) for v in structure)
    return False
