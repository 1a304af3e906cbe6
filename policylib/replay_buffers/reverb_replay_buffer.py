"""`ReverbReplayBuffer`: a Reverb table read as a TF-Agents replay buffer.

Data goes in through the observers of `reverb_utils` (or any Reverb writer);
`as_dataset` samples it back as `(experience, SampleInfo)` elements. Each
sampled item is a sequence of `sequence_length` steps (or of any length when
`sequence_length` is None); `num_steps` cuts every item into non-overlapping
runs of that many steps, dropping a remainder.

When `sequence_length` is known and no `sequence_preprocess_fn` is given,
`as_dataset` samples several batches of items in one Python call and reshapes
them batch by batch (`datasets.item_batches`); otherwise it follows Reverb's
recipe of interleaved per-item `TrajectoryDataset`s. Elements are the same
(the first path also gives them a static batch dimension).
"""

from __future__ import annotations

import math
from typing import Any

import gin
import tensorflow as tf

from policylib import reverb
from policylib.replay_buffers import replay_buffer
from policylib.typing import types

__all__ = [
    "DEFAULT_TABLE",
    "ReverbReplayBuffer",
    "make_reverb_dataset",
    "truncate_reshape_rows_by_num_steps",
]

# The table name TF-Agents' examples use.
DEFAULT_TABLE = "experience"

# Samplers and removers that order items (a single deterministic pass needs both).
_DETERMINISTIC_SELECTORS = frozenset({"fifo", "lifo", "max_heap", "min_heap"})


@gin.configurable
class ReverbReplayBuffer(replay_buffer.ReplayBuffer):
    """A Reverb table as a replay buffer (read-only: observers write to it).

    Args:
      data_spec: spec of one step of the stored trajectories.
      table_name: the table to sample.
      sequence_length: steps per item, or None when items differ in length;
        sampled items are checked against it.
      server_address: "host:port" of the server; exactly one of this and
        `local_server`.
      local_server: a `reverb.Server` of this process.
      dataset_buffer_size: items one sampling call fetches (default: 3x the
        items a stream contributes per batch).
      max_cycle_length: the most per-item streams interleaved (default path).
      num_workers_per_iterator: passed to `TrajectoryDataset`.
      max_samples_per_stream: passed to `TrajectoryDataset`.
      rate_limiter_timeout_ms: how long a sample waits for the rate limiter
        before the dataset ends; -1 waits forever.

    Raises:
      ValueError: not exactly one of `server_address` and `local_server`.
      KeyError: the server has no table `table_name`.
    """

    _supports_sequence_preprocess = True

    def __init__(
        self,
        data_spec: types.NestedTensorSpec,
        table_name: str,
        sequence_length: int | None,
        server_address: str | None = None,
        local_server: Any = None,
        dataset_buffer_size: int | None = None,
        max_cycle_length: int = 32,
        num_workers_per_iterator: int = -1,
        max_samples_per_stream: int = -1,
        rate_limiter_timeout_ms: int = -1,
    ) -> None:
        if (server_address is None) == (local_server is None):
            raise ValueError(
                "Exactly one of the server_address or local_server must be provided."
            )
        if local_server is not None:
            server_address = f"localhost:{local_server.port}"
        assert server_address is not None
        self._table_name = table_name
        self._sequence_length = sequence_length
        self._local_server = local_server
        self._server_address = server_address
        self._dataset_buffer_size = dataset_buffer_size
        self._max_cycle_length = max_cycle_length
        self._num_workers_per_iterator = num_workers_per_iterator
        self._max_samples_per_stream = max_samples_per_stream
        self._rate_limiter_timeout_ms = rate_limiter_timeout_ms
        self._py_client = reverb.Client(server_address)
        self._tf_client = reverb.TFClient(server_address, "rb_tf_client")
        self._table_info = self.get_table_info()
        kinds = {
            self._table_info.sampler_options.get("kind"),
            self._table_info.remover_options.get("kind"),
        }
        self._deterministic_table = kinds <= _DETERMINISTIC_SELECTORS
        super().__init__(
            data_spec=data_spec,
            capacity=self._table_info.max_size,
            stateful_dataset=True,
        )

    @property
    def py_client(self) -> reverb.Client:
        """The Python client of the server (what observers write with)."""
        return self._py_client

    @property
    def tf_client(self) -> Any:
        """The server's `TFClient` (ops for sampling, inserting, priorities)."""
        return self._tf_client

    @property
    def local_server(self) -> Any:
        """The `reverb.Server` given as `local_server`, or None."""
        return self._local_server

    def get_table_info(self) -> reverb.TableInfo:
        """The table's current `TableInfo` (KeyError if the server lacks it)."""
        infos = self._py_client.server_info()
        if self._table_name not in infos:
            raise KeyError(
                f"The Reverb server at {self._server_address} has no table "
                f"{self._table_name!r}; its tables are {sorted(infos)}."
            )
        return infos[self._table_name]

    def _num_frames(self) -> int:
        """Items in the table now (racy while writers or samplers run)."""
        return self.get_table_info().current_size

    def _add_batch(self, items: types.NestedTensor) -> None:
        raise NotImplementedError(
            "ReverbReplayBuffer does not support `add_batch`; write to its table "
            "with `reverb_utils.ReverbAddTrajectoryObserver` (or another "
            "reverb_utils observer) built on `replay.py_client`."
        )

    def _get_next(
        self,
        sample_batch_size: int | None,
        num_steps: int | None,
        time_stacked: bool,
    ) -> tuple[types.NestedTensor, types.NestedTensor]:
        raise NotImplementedError(
            "ReverbReplayBuffer does not support `get_next`; iterate "
            "`as_dataset(...)` instead."
        )

    def _gather_all(self) -> types.NestedTensor:
        raise NotImplementedError(
            "ReverbReplayBuffer does not support `gather_all`; read the table "
            "with `as_dataset(single_deterministic_pass=True)` where its "
            "selectors allow it."
        )

    def _clear(self) -> None:
        """Removes every item of the table (and resets its rate limiter)."""
        self._py_client.reset(self._table_name)

    def update_priorities(self, keys: types.Tensor, priorities: types.Tensor) -> Any:
        """Sets the priorities of the items `keys` (from `SampleInfo.key`)."""
        return self._tf_client.update_priorities(self._table_name, keys, priorities)

    # -- Datasets -------------------------------------------------------------

    def _verify_num_steps(self, num_steps: int | None) -> None:
        if not num_steps or not self._sequence_length:
            return
        if num_steps > self._sequence_length:
            raise ValueError(
                "Sequential data cannot be guaranteed: the items hold fewer steps "
                f"than asked for (num_steps > sequence_length: {num_steps} vs. "
                f"{self._sequence_length})."
            )
        if self._sequence_length % num_steps:
            raise ValueError(
                "Sequential data cannot be guaranteed: sequence_length is not a "
                f"multiple of num_steps ({num_steps} vs. {self._sequence_length})."
            )

    def _as_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        """Endless samples: `(data, info)`, `[B, num_steps, ...]` / `[B, num_steps]`."""
        self._verify_num_steps(num_steps)
        if (
            num_parallel_calls
            and sample_batch_size
            and num_parallel_calls > sample_batch_size
        ):
            raise ValueError(
                "num_parallel_calls cannot be bigger than sample_batch_size "
                f"{num_parallel_calls} > {sample_batch_size}"
            )
        if self._sequence_length and sequence_preprocess_fn is None:
            return self._batched_dataset(sample_batch_size, num_steps)
        total = sample_batch_size or 1
        cycle_length = min(total, self._max_cycle_length)
        per_stream = total // cycle_length
        shuffle = 0
        if num_steps and num_steps != self._sequence_length:
            rows = (self._sequence_length or 100 * num_steps) // num_steps
            shuffle = rows * per_stream
        return make_reverb_dataset(
            self._server_address,
            self._table_name,
            data_spec=self._data_spec,
            max_in_flight_samples_per_worker=self._dataset_buffer_size
            or 3 * per_stream,
            batch_size=sample_batch_size,
            sequence_length=self._sequence_length,
            cycle_length=cycle_length,
            num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE,
            per_sequence_fn=_per_sequence(sequence_preprocess_fn),
            dataset_transformation=_cut_into_runs(
                num_steps, self._sequence_length, shuffle
            ),
            num_workers_per_iterator=min(self._num_workers_per_iterator, per_stream),
            max_samples_per_stream=self._max_samples_per_stream,
            rate_limiter_timeout_ms=self._rate_limiter_timeout_ms,
        )

    def _single_deterministic_pass_dataset(
        self,
        sample_batch_size: int | None = None,
        num_steps: int | None = None,
        sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None = None,
        num_parallel_calls: int | None = None,
    ) -> tf.data.Dataset:
        """The table's items in its selectors' order, one stream, until the rate limiter times out."""
        del num_parallel_calls  # One stream keeps the order.
        if not self._deterministic_table:
            raise ValueError(
                "Unable to perform a single deterministic pass over the dataset, "
                "since either the sampler or the remover is not deterministic "
                f"(FIFO, LIFO or heap). Table info:\n{self._table_info}"
            )
        self._verify_num_steps(num_steps)
        return make_reverb_dataset(
            self._server_address,
            self._table_name,
            data_spec=self._data_spec,
            max_in_flight_samples_per_worker=1,
            batch_size=sample_batch_size,
            sequence_length=self._sequence_length,
            cycle_length=1,
            num_parallel_calls=1,
            per_sequence_fn=_per_sequence(sequence_preprocess_fn),
            dataset_transformation=_cut_into_runs(num_steps, self._sequence_length, 0),
            num_workers_per_iterator=1,
            rate_limiter_timeout_ms=self._rate_limiter_timeout_ms,
        )

    def _batched_dataset(
        self, sample_batch_size: int | None, num_steps: int | None
    ) -> tf.data.Dataset:
        """Whole batches of fixed-length items per Python call, reshaped batch-wise."""
        length = self._sequence_length
        assert length is not None
        steps = num_steps or length
        rows_per_item = length // steps
        # Like Reverb's rule of thumb (2-3x the batch): one Python call samples
        # for three batches, so its fixed cost is shared.
        items_per_batch = math.ceil((sample_batch_size or 1) / rows_per_item)
        fetch = self._dataset_buffer_size or 3 * items_per_batch
        # Batches that are whole items come out of Python ready-made.
        exact = (
            bool(sample_batch_size) and (sample_batch_size or 1) % rows_per_item == 0
        )
        dtypes = tf.nest.map_structure(lambda s: tf.as_dtype(s.dtype), self._data_spec)
        shapes = tf.nest.map_structure(
            lambda s: tf.TensorShape([length]).concatenate(s.shape), self._data_spec
        )
        batches = reverb.datasets.item_batches(
            self._server_address,
            self._table_name,
            dtypes,
            shapes,
            items_per_batch if exact else fetch,
            rate_limiter_timeout_ms=self._rate_limiter_timeout_ms,
            broadcast_info=True,
            sample_ahead=fetch if exact else 0,
        )

        def to_rows(sample: reverb.ReplaySample) -> tuple[Any, Any]:
            pair = (sample.data, sample.info)
            if steps == length:
                return pair
            runs = tf.nest.map_structure(
                lambda t: tf.reshape(
                    t, tf.concat([[-1, steps], tf.shape(t)[2:]], axis=0)
                ),
                pair,
            )
            order = tf.random.shuffle(tf.range(tf.shape(tf.nest.flatten(runs)[0])[0]))
            return tf.nest.map_structure(lambda t: tf.gather(t, order), runs)

        dataset = batches.map(to_rows).prefetch(1)
        if not sample_batch_size:
            dataset = dataset.unbatch()
        elif not exact:
            dataset = dataset.unbatch().batch(sample_batch_size, drop_remainder=True)
        return _nondeterministic(dataset)


def _per_sequence(
    sequence_preprocess_fn: replay_buffer.SequencePreprocessFn | None,
) -> Any:
    def per_sequence(sample: reverb.ReplaySample) -> tuple[Any, Any]:
        data = sample.data
        if sequence_preprocess_fn is not None:
            data = sequence_preprocess_fn(data)
        return data, sample.info

    return per_sequence


def _cut_into_runs(
    num_steps: int | None, sequence_length: int | None, shuffle_size: int
) -> Any:
    """A transformation cutting each sequence into shuffled runs of `num_steps`."""

    def transform(dataset: tf.data.Dataset) -> tf.data.Dataset:
        if not num_steps or num_steps == sequence_length:
            return dataset
        dataset = dataset.map(
            lambda *pair: truncate_reshape_rows_by_num_steps(pair, num_steps)
        ).unbatch()
        if shuffle_size > 1:
            dataset = dataset.shuffle(shuffle_size)
        return dataset

    return transform


def _nondeterministic(dataset: tf.data.Dataset) -> tf.data.Dataset:
    options = tf.data.Options()
    options.deterministic = False
    return dataset.with_options(options)


def make_reverb_dataset(
    server_address: str,
    table: str,
    data_spec: types.NestedTensorSpec,
    max_in_flight_samples_per_worker: int = 10,
    batch_size: int | None = None,
    prefetch_size: int | None = None,
    sequence_length: int | None = None,
    cycle_length: int | None = None,
    num_parallel_calls: int | None = None,
    per_sequence_fn: Any = None,
    dataset_transformation: Any = None,
    num_workers_per_iterator: int = -1,
    max_samples_per_stream: int = -1,
    rate_limiter_timeout_ms: int = -1,
) -> tf.data.Dataset:
    """Interleaved `TrajectoryDataset`s of `table`, each item's info broadcast over its steps.

    Args:
      server_address: "host:port" of the server.
      table: the table to sample.
      data_spec: spec of one step; items are `[sequence_length, ...]`.
      max_in_flight_samples_per_worker: items one sampling call fetches.
      batch_size: if set, elements are batched (remainder dropped).
      prefetch_size: if set, batches prefetched.
      sequence_length: steps per item (None: any).
      cycle_length: streams interleaved (default `batch_size` or 1).
      num_parallel_calls: parallelism of the interleave (default AUTOTUNE).
      per_sequence_fn: applied to each item's `ReplaySample`.
      dataset_transformation: applied to each stream's dataset.
      num_workers_per_iterator: passed to `TrajectoryDataset`.
      max_samples_per_stream: passed to `TrajectoryDataset`.
      rate_limiter_timeout_ms: passed to `TrajectoryDataset`.
    """
    dtypes = tf.nest.map_structure(lambda s: tf.as_dtype(s.dtype), data_spec)
    shapes = tf.nest.map_structure(
        lambda s: tf.TensorShape([sequence_length]).concatenate(s.shape), data_spec
    )

    def stream(_: tf.Tensor) -> tf.data.Dataset:
        dataset = reverb.TrajectoryDataset(
            server_address,
            table,
            dtypes,
            shapes,
            max_in_flight_samples_per_worker=max_in_flight_samples_per_worker,
            num_workers_per_iterator=num_workers_per_iterator,
            max_samples_per_stream=max_samples_per_stream,
            rate_limiter_timeout_ms=rate_limiter_timeout_ms,
        )

        def broadcast_info(sample: reverb.ReplaySample) -> reverb.ReplaySample:
            first = tf.nest.flatten(sample.data)[0]
            length = first.shape[0] or tf.shape(first)[0]
            info = tf.nest.map_structure(
                lambda t: tf.repeat(t[tf.newaxis], length, axis=0), sample.info
            )
            return reverb.ReplaySample(info, sample.data)

        dataset = dataset.map(broadcast_info)
        if per_sequence_fn:
            dataset = dataset.map(per_sequence_fn)
        if dataset_transformation:
            dataset = dataset_transformation(dataset)
        return dataset

    cycle_length = cycle_length or batch_size or 1
    if cycle_length == 1:
        dataset = stream(tf.constant(0, tf.int64))
    else:
        dataset = tf.data.Dataset.range(cycle_length).interleave(
            stream,
            cycle_length=cycle_length,
            num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE,
        )
    dataset = _nondeterministic(dataset)
    if batch_size:
        dataset = dataset.batch(batch_size, drop_remainder=True)
    if prefetch_size:
        dataset = dataset.prefetch(prefetch_size)
    return dataset


def truncate_reshape_rows_by_num_steps(sample: Any, num_steps: int) -> Any:
    """Cuts each tensor of `sample` (`[T, ...]`) into `[T // num_steps, num_steps, ...]`.

    The last `T % num_steps` steps are dropped.
    """
    first = tf.nest.flatten(sample)[0]
    static_length = tf.compat.dimension_value(first.shape[0])
    if static_length is not None:
        rows: Any = static_length // num_steps
        static_rows: int | None = rows
    else:
        rows = tf.shape(first)[0] // num_steps
        static_rows = None

    def cut(t: tf.Tensor) -> tf.Tensor:
        kept = t[: rows * num_steps]
        runs = tf.reshape(kept, tf.concat([[rows, num_steps], tf.shape(t)[1:]], axis=0))
        runs.set_shape([static_rows, num_steps] + t.shape[1:])
        return runs

    return tf.nest.map_structure(cut, sample)
