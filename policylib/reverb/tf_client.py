"""`TFClient`: Reverb's sample, insert and priority updates as TensorFlow ops.

Each method builds one stateful `tf.numpy_function` op that runs the Python
`Client` call, so it works eagerly and inside `tf.function` (where automatic
control dependencies keep it in order with the ops around it). Errors a call
raises in Python (bad shapes, a signature mismatch, a missing table) come out
of TensorFlow as `tf.errors.InvalidArgumentError` with the message kept.
This module imports TensorFlow; `policylib.reverb` loads it lazily.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf
import tree

from policylib.reverb import errors
from policylib.reverb.client import Client
from policylib.reverb.items import Item
from policylib.reverb.keys import new_key
from policylib.reverb.replay_sample import ReplaySample, SampleInfo

__all__ = ["TFClient"]

# One wait on a table lasts at most this long, so a blocked sample stays
# interruptible (the table being closed ends it with CancelledError).
_POLL_S = 0.5
_INFO_NP_DTYPES = (np.uint64, np.float64, np.int64, np.float64, np.int32)


class TFClient:
    """A client of the Reverb server at `server_address` whose calls are TF ops.

    Args:
      server_address: "host:port" of the server.
      shared_name: accepted for Reverb compatibility (Reverb shares the client
        resource between sessions under this name; there are no sessions here).
      name: prefix of the ops' names.
    """

    def __init__(
        self,
        server_address: str,
        shared_name: str | None = None,
        name: str = "reverb",
    ) -> None:
        del shared_name  # No session-shared resource to name.
        self._server_address = server_address
        self._name = name
        self._client = Client(server_address)

    @property
    def server_address(self) -> str:
        return self._server_address

    def sample(
        self, table: str | tf.Tensor, data_dtypes: Any, name: str | None = None
    ) -> ReplaySample:
        """Samples one item of `table` (waiting for the rate limiter) and returns its first step.

        Returns:
          A `ReplaySample` with scalar info and `data` nested as `data_dtypes`
          (each tensor one step of its column, without the time dimension).
        """
        flat_dtypes = [tf.as_dtype(d) for d in tree.flatten(data_dtypes)]
        np_dtypes = [np.dtype(d.as_numpy_dtype) for d in flat_dtypes]

        def sample_py(table_name: bytes) -> list[np.ndarray]:
            table_str = _text(table_name)
            transport = self._client._connect()
            while True:
                try:
                    sampled = transport.sample(table_str, 1, _POLL_S)[0]
                    break
                except errors.DeadlineExceededError:
                    time.sleep(0)
            columns = sampled.columns
            if len(columns) != len(np_dtypes):
                raise ValueError(
                    f"An item sampled from table {table_str!r} has {len(columns)} "
                    f"columns but data_dtypes has {len(np_dtypes)} leaves."
                )
            steps = []
            for index, (column, dtype) in enumerate(zip(columns, np_dtypes)):
                if column.dtype != dtype:
                    raise ValueError(
                        f"The item sampled from table {table_str!r} has dtype "
                        f"{column.dtype} at flattened index {index}, but "
                        f"data_dtypes has {dtype}."
                    )
                if column.ndim == 0:
                    raise ValueError(
                        f"Column {index} of the item sampled from table "
                        f"{table_str!r} has no time dimension; TFClient.sample "
                        "returns an item's first step."
                    )
                steps.append(column[0])
            info = sampled.info
            return [
                np.asarray(value, dtype) for value, dtype in zip(info, _INFO_NP_DTYPES)
            ] + steps

        with tf.name_scope(name or f"{self._name}_sample"):
            out_dtypes = list(SampleInfo.tf_dtypes()) + flat_dtypes
            outputs = _run(sample_py, [_scalar_string(table)], out_dtypes)
            for tensor in outputs[:5]:
                tensor.set_shape([])
            return ReplaySample(
                info=SampleInfo(*outputs[:5]),
                data=tree.unflatten_as(data_dtypes, list(outputs[5:])),
            )

    def insert(
        self,
        data: Sequence[tf.Tensor],
        tables: tf.Tensor,
        priorities: tf.Tensor,
        name: str | None = None,
    ) -> Any:
        """Inserts `data` as a one-step item into each of `tables`, with `priorities`.

        `tables[i]` gets priority `priorities[i]`. Blocks while a table's rate
        limiter holds the insert.

        Raises:
          ValueError: `tables` is not a rank-1 string tensor, `priorities` not
            a rank-1 float64 tensor, or their shapes differ.
        """
        tables = tf.convert_to_tensor(tables)
        priorities = tf.convert_to_tensor(priorities)
        if tables.dtype != tf.string or tables.shape.rank != 1:
            raise ValueError("tables must be a string tensor of rank 1")
        if priorities.dtype != tf.float64 or priorities.shape.rank != 1:
            raise ValueError("priorities must be a float64 tensor of rank 1")
        if not tables.shape.is_compatible_with(priorities.shape):
            raise ValueError("priorities and tables must have the same shape")

        def insert_py(
            table_names: np.ndarray, weights: np.ndarray, *values: np.ndarray
        ) -> np.ndarray:
            if table_names.shape != weights.shape:
                raise ValueError(
                    f"tables {table_names.shape} and priorities {weights.shape} "
                    "must have the same shape"
                )
            columns = [np.asarray(value)[np.newaxis] for value in values]
            transport = self._client._connect()
            episode = (new_key(),)
            for table_name, priority in zip(table_names, weights):
                item = Item(new_key(), float(priority), list(columns), episode)
                transport.insert(_text(table_name), item, None)
            return np.array(True)

        with tf.name_scope(name or f"{self._name}_insert"):
            inputs = [tables, priorities] + [tf.convert_to_tensor(d) for d in data]
            return _run(insert_py, inputs, tf.bool)

    def update_priorities(
        self,
        table: str | tf.Tensor,
        keys: tf.Tensor,
        priorities: tf.Tensor,
        name: str | None = None,
    ) -> Any:
        """Sets the priorities of `keys` in `table`; unknown keys are ignored.

        Raises (when the op runs):
          InvalidArgumentError: `keys` and `priorities` are not rank-1 tensors
            of one shape.
        """

        def update_py(
            table_name: bytes, key_values: np.ndarray, weights: np.ndarray
        ) -> np.ndarray:
            if key_values.ndim != 1:
                raise ValueError("Tensors `keys` and `priorities` must be of rank 1.")
            if key_values.shape != weights.shape:
                raise ValueError(
                    "Tensors `keys` and `priorities` do not match in shape "
                    f"({list(key_values.shape)} vs. {list(weights.shape)})"
                )
            updates = {int(k): float(p) for k, p in zip(key_values, weights)}
            self._client.mutate_priorities(_text(table_name), updates=updates)
            return np.array(True)

        with tf.name_scope(name or f"{self._name}_update_priorities"):
            inputs = [
                _scalar_string(table),
                tf.cast(keys, tf.uint64),
                tf.cast(priorities, tf.float64),
            ]
            return _run(update_py, inputs, tf.bool)


def _run(func: Any, inputs: list[tf.Tensor], out_dtypes: Any) -> Any:
    """`func` as a stateful numpy_function op; Python errors become TF errors.

    In graph mode TensorFlow turns a ValueError/TypeError of `func` into
    InvalidArgumentError; eagerly the Python error escapes as it is, so it is
    converted here to the same error Reverb's ops raise.
    """
    try:
        return tf.numpy_function(func, inputs, out_dtypes, stateful=True)
    except (ValueError, TypeError) as error:
        if not tf.executing_eagerly():
            raise
        raise tf.errors.InvalidArgumentError(None, None, str(error)) from error


def _text(value: bytes | np.ndarray) -> str:
    """A string tensor's value as numpy_function hands it over (bytes or 0-d array)."""
    if isinstance(value, np.ndarray):
        value = value.item()
    return value.decode() if isinstance(value, bytes) else str(value)


def _scalar_string(value: str | tf.Tensor) -> tf.Tensor:
    tensor = tf.convert_to_tensor(value, tf.string)
    tensor.shape.assert_has_rank(0)
    return tensor
