"""Reverb's `tf.data` datasets: `TrajectoryDataset`, `TimestepDataset`, `ReplayDataset`.

Each is a real `tf.data.Dataset` (usable in `tf.function`, with `batch`,
`prefetch`, `interleave`, distribution strategies). Elements are
`ReplaySample(info=SampleInfo(...), data=...)` with Reverb's dtypes.

How items get into TensorFlow: one `tf.numpy_function` call samples a
flexible batch of up to `max_in_flight_samples_per_worker` items from the
table (`Table.sample_batch`: it waits for the first item only), stacks their
columns in NumPy and returns whole columns; `unbatch()` then emits items one
by one. So the cost of a Python call is shared by many items. Each iterator
of a dataset is one sampling stream with its own state (the count against
`max_samples`, and items held back when a batch mixes shapes).

A stream ends (the iterator is exhausted) when a sample waited
`rate_limiter_timeout_ms` without the rate limiter allowing it, or after
`max_samples` samples, as in Reverb. Sampled data that does not fit the
requested dtypes and shapes raises `tf.errors.InvalidArgumentError` naming the
leaf. This module imports TensorFlow; `policylib.reverb` loads it lazily.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
import itertools
import threading
import time
from collections.abc import Sequence
from typing import Any, ClassVar, TypeVar

import numpy as np
import tensorflow as tf
import tree

from policylib.reverb import _exiting as exiting
from policylib.reverb import errors
from policylib.reverb.client import Client
from policylib.reverb.items import SampledItem
from policylib.reverb.replay_sample import ReplaySample, SampleInfo

__all__ = ["ReplayDataset", "TimestepDataset", "TrajectoryDataset", "item_batches"]

# One wait on a table lasts at most this long, so that a stream blocked on an
# empty table notices interpreter exit.
_POLL_S = 0.5
# Streams whose state is kept at once; the least recently used go first.
_MAX_STREAMS = 4096
_INFO_NP_DTYPES = (np.uint64, np.float64, np.int64, np.float64, np.int32)


class _Layout(enum.Enum):
    """How a fetched batch of items becomes tensors."""

    ITEMS = "items"  # [n, ...] per leaf; info [n].
    SEQUENCES = "sequences"  # [n, T, ...] per leaf; info broadcast to [n, T].
    TIMESTEPS = "timesteps"  # items' steps concatenated; info repeated per step.


@dataclasses.dataclass(frozen=True)
class _FetchSpec:
    """What one stream samples and how it checks and lays out the data."""

    table: str
    paths: tuple[str, ...]
    np_dtypes: tuple[np.dtype, ...]
    shapes: tuple[tf.TensorShape, ...]  # per item (ITEMS, SEQUENCES) or per step
    dims: tuple[tuple[int | None, ...] | None, ...]  # `shapes` as tuples (None: any)
    batch_size: int
    timeout_s: float | None
    max_samples: int
    layout: _Layout
    sequence_length: int | None = None
    # Exact batches: a fetch returns whole batches `[k, batch_size, ...]`: it
    # waits for one batch and takes up to `sample_ahead` items (a multiple of
    # batch_size) that the rate limiter allows at once; a stream that times
    # out drops the items short of a whole batch.
    exact: bool = False
    sample_ahead: int = 0


@dataclasses.dataclass
class _Stream:
    """The state of one iterator's sampling stream."""

    client: Client
    spec: _FetchSpec
    fetched: int = 0
    held: list[SampledItem] = dataclasses.field(default_factory=list)
    checked_signature: bool = False
    ended: bool = False


class _Streams:
    """Open streams by id (thread-safe; bounded, least recently used dropped)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._streams: collections.OrderedDict[int, _Stream] = collections.OrderedDict()
        self._ids = itertools.count(1)

    def open(self, stream: _Stream) -> int:
        with self._lock:
            stream_id = next(self._ids)
            self._streams[stream_id] = stream
            while len(self._streams) > _MAX_STREAMS:
                self._streams.popitem(last=False)
            return stream_id

    def get(self, stream_id: int) -> _Stream | None:
        with self._lock:
            stream = self._streams.get(stream_id)
            if stream is not None:
                self._streams.move_to_end(stream_id)
            return stream

    def close(self, stream_id: int) -> None:
        with self._lock:
            self._streams.pop(stream_id, None)


_STREAMS = _Streams()


def _tuples_for_lists(structure: Any) -> Any:
    """`structure` with every list made a tuple (tf.data nests lists badly)."""
    return tree.traverse(
        lambda s: tuple(s) if isinstance(s, list) else None, structure, top_down=False
    )


def _path_name(path: Sequence[object]) -> str:
    return "/".join(str(p) for p in path) or "<root>"


def _check_positive_or_minus_one(name: str, value: int) -> None:
    if value < 1 and value != -1:
        raise ValueError(f"{name} ({value}) must be a positive integer or -1")


def _check_args(
    max_in_flight_samples_per_worker: int,
    num_workers_per_iterator: int,
    max_samples_per_stream: int,
    rate_limiter_timeout_ms: int,
    max_samples: int,
) -> None:
    if max_in_flight_samples_per_worker < 1:
        raise ValueError(
            f"max_in_flight_samples_per_worker ({max_in_flight_samples_per_worker}) "
            "must be a positive integer"
        )
    _check_positive_or_minus_one("num_workers_per_iterator", num_workers_per_iterator)
    _check_positive_or_minus_one("max_samples_per_stream", max_samples_per_stream)
    if rate_limiter_timeout_ms < -1:
        raise ValueError(
            f"rate_limiter_timeout_ms ({rate_limiter_timeout_ms}) must be an "
            "integer >= -1"
        )
    _check_positive_or_minus_one("max_samples", max_samples)


def _flat_specs(
    dtypes: Any, shapes: Any
) -> tuple[tuple[str, ...], tuple[tf.DType, ...], tuple[tf.TensorShape, ...]]:
    """Paths, dtypes and shapes of the leaves of `dtypes` / `shapes`."""
    try:
        flat_shapes = tuple(
            tf.TensorShape(s) for s in tree.flatten_up_to(dtypes, shapes, False)
        )
    except (TypeError, ValueError) as error:
        raise ValueError(
            f"dtypes and shapes must have the same structure: {error}"
        ) from None
    paths = tuple(_path_name(p) for p, _ in tree.flatten_with_path(dtypes))
    flat_dtypes = tuple(tf.as_dtype(d) for d in tree.flatten(dtypes))
    return paths, flat_dtypes, flat_shapes


def _string_tensor(value: str | tf.Tensor) -> tf.Tensor:
    """A scalar string tensor (Reverb takes tensors for address and table)."""
    tensor = tf.convert_to_tensor(value, tf.string)
    tensor.shape.assert_has_rank(0)
    return tensor


# -- The Python side of a stream -----------------------------------------------


def _text(value: bytes | np.ndarray) -> str:
    """A string tensor's value as numpy_function hands it over (bytes or 0-d array)."""
    if isinstance(value, np.ndarray):
        value = value.item()
    return value.decode() if isinstance(value, bytes) else str(value)


def _open_stream(server_address: bytes, table: bytes, spec: _FetchSpec) -> np.int64:
    """A new sampling stream's id; fails once the interpreter is exiting.

    A stream that ends at exit ends quietly (`_fetch`), but a pipeline that
    opens another stream whenever one ends (`Counter().flat_map(...)`, as
    TF-Agents' PPOLearner builds) would call in here without end, and a call
    that starts while Python finalizes never returns. An error instead goes
    into the prefetch buffer, whose thread then waits outside Python.
    """
    with exiting.guarded():  # Counts as activity for the exit handler's quiet wait.
        if exiting.is_set():
            raise errors.CancelledError(
                "The interpreter is exiting: no new sampling stream is opened."
            )
        return _open_stream_guarded(server_address, table, spec)


def _open_stream_guarded(
    server_address: bytes, table: bytes, spec: _FetchSpec
) -> np.int64:
    stream = _Stream(
        client=Client(_text(server_address)),
        spec=dataclasses.replace(spec, table=_text(table)),
    )
    return np.int64(_STREAMS.open(stream))


def _check_signature(stream: _Stream) -> None:
    """Raises ValueError if the table's signature disagrees with the requested specs."""
    spec = stream.spec
    signature = stream.client._connect().signature(spec.table)
    if signature is None:
        return
    flat = [
        (_path_name(path), leaf) for path, leaf in tree.flatten_with_path(signature)
    ]
    where = f"table {spec.table!r} at {stream.client.server_address}"
    if len(flat) != len(spec.np_dtypes):
        raise ValueError(
            f"The dataset asks for {len(spec.np_dtypes)} tensors "
            f"({', '.join(spec.paths)}) but the signature of {where} has "
            f"{len(flat)} ({', '.join(p for p, _ in flat)})."
        )
    for (path, leaf), want_dtype, want_shape, own_path in zip(
        flat, spec.np_dtypes, spec.shapes, spec.paths
    ):
        dtype = tf.as_dtype(leaf.dtype)
        shape = tf.TensorShape(leaf.shape)
        if spec.layout is _Layout.TIMESTEPS and shape.rank:
            step_ok = shape[1:].is_compatible_with(want_shape)
        else:
            step_ok = False
        if dtype.as_numpy_dtype != want_dtype or not (
            shape.is_compatible_with(want_shape) or step_ok
        ):
            raise ValueError(
                f"The dataset's spec at {own_path} (dtype={want_dtype.name}, "
                f"shape={want_shape}) does not match the signature of {where} at "
                f"{path} (dtype={dtype.name}, shape={shape})."
            )


def _sample(stream: _Stream, count: int) -> list[SampledItem]:
    """Up to `count` items; [] when the rate limiter timeout ran out.

    Also [] (the stream ends quietly, no traceback logged by TensorFlow) when
    the server was stopped: its table cancelled the sample, or, for a stream
    that already got items, the server went away, or the interpreter is exiting.
    """
    try:
        return _sample_or_raise(stream, count)
    except errors.CancelledError:
        return []
    except errors.UnavailableError:
        if not stream.fetched:
            raise  # Never reached the server: the address is likely wrong.
        return []


def _sample_or_raise(stream: _Stream, count: int) -> list[SampledItem]:
    """`_sample`, raising when the server was stopped."""
    spec = stream.spec
    transport = stream.client._connect()
    deadline = None if spec.timeout_s is None else time.monotonic() + spec.timeout_s
    while True:
        if exiting.is_set():
            raise errors.CancelledError("The interpreter is exiting.")
        wait = _POLL_S
        if deadline is not None:
            wait = max(0.0, min(_POLL_S, deadline - time.monotonic()))
        try:
            return transport.sample(spec.table, count, wait)
        except errors.DeadlineExceededError:
            if deadline is not None and time.monotonic() >= deadline:
                return []


def _leaf_error(
    spec: _FetchSpec, index: int, column: np.ndarray, why: str
) -> ValueError:
    return ValueError(
        f"Sampled data from table {spec.table!r} does not match the dataset's "
        f"spec at {spec.paths[index]} (flattened index {index}): {why}; the "
        f"spec has dtype={spec.np_dtypes[index].name}, shape={spec.shapes[index]}, "
        f"the tensor has dtype={column.dtype.name}, shape={tuple(column.shape)}."
    )


def _dims_match(expected: tuple[int | None, ...] | None, got: tuple[int, ...]) -> bool:
    if expected is None:
        return True
    return len(expected) == len(got) and all(
        e is None or e == g for e, g in zip(expected, got)
    )


def _check_item(spec: _FetchSpec, item: SampledItem) -> tuple[tuple[int, ...], ...]:
    """An item's column shapes (per step for TIMESTEPS), after checking it against `spec`."""
    columns = item.columns
    if len(columns) != len(spec.np_dtypes):
        raise ValueError(
            f"An item sampled from table {spec.table!r} has {len(columns)} "
            f"columns but the dataset's spec has {len(spec.np_dtypes)} tensors "
            f"({', '.join(spec.paths)})."
        )
    shapes = []
    for index, column in enumerate(columns):
        if column.dtype != spec.np_dtypes[index]:
            raise _leaf_error(spec, index, column, "the dtypes differ")
        shape = column.shape
        if spec.layout is _Layout.TIMESTEPS:
            if not shape:
                raise _leaf_error(
                    spec,
                    index,
                    column,
                    "a column without a time dimension cannot be split into timesteps",
                )
            if shape[0] != len(columns[0]):
                raise ValueError(
                    f"An item sampled from table {spec.table!r} has columns of "
                    "different lengths; it cannot be split into timesteps."
                )
            shape = shape[1:]
        if not _dims_match(spec.dims[index], shape):
            raise _leaf_error(spec, index, column, "the shapes are incompatible")
        if (
            spec.layout is _Layout.SEQUENCES
            and spec.sequence_length is not None
            and (not shape or shape[0] != spec.sequence_length)
        ):
            raise _leaf_error(
                spec,
                index,
                column,
                f"sequence_length={spec.sequence_length} was requested",
            )
        shapes.append(shape)
    return tuple(shapes)


def _join_packed(spec: _FetchSpec, items: list[SampledItem]) -> list[np.ndarray] | None:
    """The items' columns stacked from their packed records; None if that cannot be.

    Applies when every item was packed in this process with one layout (the
    usual case: a table of same-shaped trajectories). The first item is
    checked against `spec`; the rest share its layout, so they pass too.
    """
    first = items[0].packed
    if first is None or spec.layout is _Layout.TIMESTEPS:
        return None
    layout = first.layout
    records = []
    for item in items:
        packed = item.packed
        if packed is None or packed.layout is not layout:
            return None
        records.append(packed.data)
    _check_item(spec, items[0])  # Raises, naming the leaf, if it does not fit.
    rows = np.frombuffer(b"".join(records), np.uint8).reshape(len(items), -1)
    joined, offset = [], 0
    for dtype, shape in layout:
        size = dtype.itemsize * int(np.prod(shape, dtype=np.int64))
        column = np.ascontiguousarray(rows[:, offset : offset + size])
        joined.append(column.view(dtype).reshape((len(items), *shape)))
        offset += size
    return joined


def _join(spec: _FetchSpec, items: list[SampledItem]) -> list[np.ndarray] | None:
    """The items' data columns joined per leaf and checked; None if shapes differ.

    Stacked into `[n, ...]`, or for TIMESTEPS concatenated along time. The
    checks look at each leaf once per batch, not once per item.
    """
    packed = _join_packed(spec, items)
    if packed is not None:
        return packed
    width = len(spec.np_dtypes)
    if any(len(item.columns) != width for item in items):
        for item in items:
            _check_item(spec, item)
    joined = []
    by_leaf = zip(*[item.columns for item in items])
    for index, column in enumerate(by_leaf):
        expected = spec.np_dtypes[index]
        # Identity is the fast test (NumPy's builtin dtypes are singletons).
        if not all(c.dtype is expected for c in column) and any(
            c.dtype != expected for c in column
        ):
            for item in items:
                _check_item(spec, item)
        try:
            if spec.layout is _Layout.TIMESTEPS:
                if any(c.ndim == 0 for c in column):
                    for item in items:
                        _check_item(spec, item)
                array = np.concatenate(column)
            else:
                array = np.array(column, dtype=expected)  # Faster than np.stack.
        except ValueError:
            return None  # Items of different shapes.
        if not _dims_match(spec.dims[index], array.shape[1:]) or (
            spec.layout is _Layout.SEQUENCES
            and spec.sequence_length is not None
            and (array.ndim < 2 or array.shape[1] != spec.sequence_length)
        ):
            return None  # Let the per-item checks name the item and leaf.
        joined.append(array)
    if spec.layout is _Layout.TIMESTEPS and width > 1:
        for item in items:  # Every column of an item needs the same length.
            _check_item(spec, item)
    return joined


def _uniform_prefix(spec: _FetchSpec, items: list[SampledItem]) -> int:
    """How many leading items share the first one's shapes (each is checked)."""
    first = _check_item(spec, items[0])
    for count, item in enumerate(items[1:], start=1):
        if _check_item(spec, item) != first:
            return count
    return len(items)


def _empty_outputs(spec: _FetchSpec) -> list[np.ndarray]:
    lead = (0, spec.batch_size) if spec.exact else (0,)
    info_shape = lead + ((0,) if spec.layout is _Layout.SEQUENCES else ())
    info = [np.zeros(info_shape, d) for d in _INFO_NP_DTYPES]
    data = [
        np.zeros(lead + tuple(0 if d is None else d for d in dims or ()), dtype)
        for dtype, dims in zip(spec.np_dtypes, spec.dims)
    ]
    return info + data


def _info_columns(
    spec: _FetchSpec, items: list[SampledItem], data: list[np.ndarray]
) -> list[np.ndarray]:
    """The five info fields as arrays laid out like `data`."""
    fields = zip(*[item.info for item in items])
    info = [np.array(f, dtype) for f, dtype in zip(fields, _INFO_NP_DTYPES)]
    if spec.layout is _Layout.TIMESTEPS:
        lengths = [len(item.columns[0]) for item in items] if data else [1] * len(items)
        return [np.repeat(field, lengths) for field in info]
    if spec.layout is _Layout.SEQUENCES:
        length = data[0].shape[1] if data and data[0].ndim > 1 else 1
        return [np.repeat(field[:, np.newaxis], length, axis=1) for field in info]
    return info


def _fetch(stream_id: np.int64) -> list[np.ndarray]:
    """The next batch of a stream's items; empty arrays once the stream ended.

    A stream ends quietly (no error) when the interpreter starts exiting, so
    that no tf.data thread still waits in here when Python finalizes.
    """
    with exiting.guarded():
        try:
            return _fetch_guarded(stream_id)
        except errors.CancelledError:
            stream = _STREAMS.get(int(stream_id))
            if not exiting.is_set() or stream is None:
                raise
            return _empty_outputs(stream.spec)


def _fetch_guarded(stream_id: np.int64) -> list[np.ndarray]:
    stream = _STREAMS.get(int(stream_id))
    if stream is None:
        raise errors.CancelledError(
            f"Sampling stream {int(stream_id)} was dropped: more than "
            f"{_MAX_STREAMS} dataset iterators were open at once."
        )
    spec = stream.spec
    if stream.ended or exiting.is_set():
        return _empty_outputs(spec)
    if not stream.checked_signature:
        _check_signature(stream)
        stream.checked_signature = True
    if spec.exact:
        return _fetch_exact(stream, int(stream_id))
    items = stream.held
    if not items:
        want = spec.batch_size
        if spec.max_samples > 0:
            want = min(want, spec.max_samples - stream.fetched)
        items = _sample(stream, want) if want > 0 else []
        stream.fetched += len(items)
        if not items:
            stream.ended = True
            _STREAMS.close(int(stream_id))
            return _empty_outputs(spec)
    data = _join(spec, items)
    if data is None:
        count = _uniform_prefix(spec, items)
        items, stream.held = items[:count], items[count:]
        data = _join(spec, items)
        assert data is not None
    else:
        stream.held = []
    return _info_columns(spec, items, data) + data


def _fetch_exact(stream: _Stream, stream_id: int) -> list[np.ndarray]:
    """Whole batches, `[k, batch_size, ...]` (see `_FetchSpec.exact`); k=0 at the end."""
    spec = stream.spec
    # Wait for one whole batch only; each sample takes up to `sample_ahead`
    # items that the rate limiter allows now (a flexible batch), so a limiter
    # that lets one batch through is never waited on for more.
    while len(stream.held) < spec.batch_size:
        got = _sample(stream, spec.sample_ahead - len(stream.held))
        if not got:
            stream.ended = True
            _STREAMS.close(stream_id)
            break
        stream.held.extend(got)
    count = len(stream.held) // spec.batch_size * spec.batch_size
    if not count:
        return _empty_outputs(spec)
    items = stream.held[:count]
    del stream.held[:count]
    data = _join(spec, items)
    if data is None:  # A shape differs: name the item and leaf.
        _uniform_prefix(spec, items)
        raise ValueError(
            f"Items sampled from table {spec.table!r} differ in shape; a batch "
            "of them cannot be stacked."
        )
    return [
        array.reshape((-1, spec.batch_size) + array.shape[1:])
        for array in _info_columns(spec, items, data) + data
    ]


# -- The TensorFlow side ----------------------------------------------------------


def _fetch_dataset(
    server_address: str | tf.Tensor, table: str | tf.Tensor, spec: _FetchSpec
) -> tf.data.Dataset:
    """A dataset of fetched batches: flat tensors with a leading batch dim."""
    info_dtypes = list(SampleInfo.tf_dtypes())
    out_dtypes = info_dtypes + [tf.as_dtype(d) for d in spec.np_dtypes]
    info_rank = 2 if spec.layout is _Layout.SEQUENCES else 1
    lead = tf.TensorShape([None, spec.batch_size] if spec.exact else [None])
    data_shapes = [lead.concatenate(s) for s in spec.shapes]
    if spec.layout is _Layout.SEQUENCES:
        info_shapes = [lead.concatenate([spec.sequence_length])] * len(info_dtypes)
    else:
        info_shapes = [lead.concatenate([None] * (info_rank - 1))] * len(info_dtypes)
    out_shapes = info_shapes + data_shapes
    names = (_string_tensor(server_address), _string_tensor(table))

    def open_fn(address_t: tf.Tensor, table_t: tf.Tensor) -> tf.Tensor:
        stream_id = tf.numpy_function(
            lambda a, t: _open_stream(a, t, spec),
            [address_t, table_t],
            tf.int64,
            stateful=True,
        )
        stream_id.set_shape([])
        return stream_id

    def fetch_fn(stream_id: tf.Tensor) -> list[tf.Tensor]:
        outputs = tf.numpy_function(_fetch, [stream_id], out_dtypes, stateful=True)
        for tensor, shape in zip(outputs, out_shapes):
            tensor.set_shape(shape)
        return list(outputs)

    def stream(stream_id: tf.Tensor) -> tf.data.Dataset:
        return (
            tf.data.Dataset.from_tensors(stream_id)
            .repeat()
            .map(fetch_fn)
            .take_while(lambda *flat: tf.shape(flat[0])[0] > 0)
        )

    return tf.data.Dataset.from_tensors(names).map(open_fn).flat_map(stream)


def _structured(flat_dataset: tf.data.Dataset, data_structure: Any) -> tf.data.Dataset:
    """Maps flat (info..., data...) elements to `ReplaySample`s."""

    def pack(*flat: tf.Tensor) -> ReplaySample:
        info = SampleInfo(*flat[:5])
        data = tf.nest.pack_sequence_as(data_structure, list(flat[5:]))
        return ReplaySample(info=info, data=data)

    return flat_dataset.map(pack)


class _ReverbDataset(tf.data.Dataset):
    """A `tf.data.Dataset` whose elements come from a pipeline built here."""

    def __init__(self, inner: tf.data.Dataset) -> None:
        self._inner = inner
        super().__init__(inner._variant_tensor)

    def _inputs(self) -> list[tf.data.Dataset]:
        return [self._inner]

    @property
    def element_spec(self) -> Any:
        return self._inner.element_spec


def _build(
    server_address: str | tf.Tensor,
    table: str | tf.Tensor,
    dtypes: Any,
    shapes: Any,
    batch_size: int,
    rate_limiter_timeout_ms: int,
    max_samples: int,
    layout: _Layout,
    sequence_length: int | None = None,
    sample_ahead: int = 0,
) -> tuple[tf.data.Dataset, Any]:
    """The batched (not yet unbatched) pipeline and the data structure."""
    dtypes = _tuples_for_lists(dtypes)
    paths, flat_dtypes, flat_shapes = _flat_specs(dtypes, _tuples_for_lists(shapes))
    spec = _FetchSpec(
        table="",  # Set when a stream opens (`table` may be a tensor).
        paths=paths,
        np_dtypes=tuple(np.dtype(d.as_numpy_dtype) for d in flat_dtypes),
        shapes=flat_shapes,
        dims=tuple(None if s.rank is None else tuple(s.as_list()) for s in flat_shapes),
        batch_size=batch_size,
        timeout_s=None
        if rate_limiter_timeout_ms < 0
        else rate_limiter_timeout_ms / 1000,
        max_samples=max_samples,
        layout=layout,
        sequence_length=sequence_length,
        exact=sample_ahead > 0,
        sample_ahead=sample_ahead,
    )
    return _structured(_fetch_dataset(server_address, table, spec), dtypes), dtypes


def item_batches(
    server_address: str,
    table: str,
    dtypes: Any,
    shapes: Any,
    batch_size: int,
    *,
    rate_limiter_timeout_ms: int = -1,
    max_samples: int = -1,
    broadcast_info: bool = False,
    sample_ahead: int = 0,
) -> tf.data.Dataset:
    """Batches of up to `batch_size` sampled items, stacked (no unbatching).

    Elements are `ReplaySample`s whose tensors have a leading dim of the number
    of items fetched (1 to `batch_size`: a flexible batch waits for the first
    item only). `shapes` are per item and must be static enough to stack: a
    batch whose items differ in shape is split. With `broadcast_info` the info
    fields are repeated along the items' first (time) dimension, `[n, T]`.
    With `sample_ahead` > 0 every batch has exactly `batch_size` items: a
    Python call waits for one batch, takes up to `sample_ahead` items (rounded
    up to whole batches) that the rate limiter allows at once, and returns
    them as whole batches; `max_samples` is then ignored and a stream that
    times out drops an incomplete batch. This is what `TrajectoryDataset`
    unbatches; replay buffers that want whole batches use it directly.
    """
    _check_args(batch_size, -1, -1, rate_limiter_timeout_ms, max_samples)
    layout = _Layout.SEQUENCES if broadcast_info else _Layout.ITEMS
    sequence_length = None
    if broadcast_info:
        _, _, flat_shapes = _flat_specs(
            _tuples_for_lists(dtypes), _tuples_for_lists(shapes)
        )
        first = flat_shapes[0]
        sequence_length = first[0] if first.rank else None
    dataset, _ = _build(
        server_address,
        table,
        dtypes,
        shapes,
        batch_size,
        rate_limiter_timeout_ms,
        max_samples,
        layout,
        sequence_length,
        -(-sample_ahead // batch_size) * batch_size if sample_ahead > 0 else 0,
    )
    return dataset.unbatch() if sample_ahead > 0 else dataset


_ItemDatasetT = TypeVar("_ItemDatasetT", bound="_ItemStreamDataset")


class _ItemStreamDataset(_ReverbDataset):
    """A dataset of one sampling stream, laid out per `_LAYOUT` (subclasses set it).

    Its arguments are documented on `TrajectoryDataset`.
    """

    _LAYOUT: ClassVar[_Layout]

    def __init__(
        self,
        server_address: str | tf.Tensor,
        table: str | tf.Tensor,
        dtypes: Any,
        shapes: Any,
        max_in_flight_samples_per_worker: int,
        num_workers_per_iterator: int = -1,
        max_samples_per_stream: int = -1,
        rate_limiter_timeout_ms: int = -1,
        max_samples: int = -1,
    ) -> None:
        _check_args(
            max_in_flight_samples_per_worker,
            num_workers_per_iterator,
            max_samples_per_stream,
            rate_limiter_timeout_ms,
            max_samples,
        )
        self._server_address = server_address
        self._table = table
        batches, _ = _build(
            server_address,
            table,
            dtypes,
            shapes,
            max_in_flight_samples_per_worker,
            rate_limiter_timeout_ms,
            max_samples,
            self._LAYOUT,
        )
        super().__init__(batches.unbatch())

    @classmethod
    def from_table_signature(
        cls: type[_ItemDatasetT],
        server_address: str,
        table: str,
        max_in_flight_samples_per_worker: int,
        num_workers_per_iterator: int = -1,
        max_samples_per_stream: int = -1,
        rate_limiter_timeout_ms: int = -1,
        get_signature_timeout_secs: float | None = None,
        max_samples: int = -1,
    ) -> _ItemDatasetT:
        """A dataset whose dtypes and shapes are the table's signature.

        Raises:
          ValueError: the server has no such table, or it has no signature.
          DeadlineExceededError: the server did not answer within
            `get_signature_timeout_secs`.
        """
        dtypes, shapes = _signature_specs(
            server_address, table, get_signature_timeout_secs
        )
        return cls(
            server_address,
            table,
            dtypes,
            shapes,
            max_in_flight_samples_per_worker,
            num_workers_per_iterator=num_workers_per_iterator,
            max_samples_per_stream=max_samples_per_stream,
            rate_limiter_timeout_ms=rate_limiter_timeout_ms,
            max_samples=max_samples,
        )


class TrajectoryDataset(_ItemStreamDataset):
    """Samples whole items (trajectories) from a table, one element per item.

    `from_table_signature` reads dtypes and shapes from the table's signature
    (a whole item).

    Args:
      server_address: "host:port" of the Reverb server (a string or a scalar
        string tensor).
      table: the table to sample (a string or a scalar string tensor).
      dtypes: nest of dtypes of an item's data.
      shapes: nest of shapes of an item's data (time dimension included), of
        the same structure; dims may be None.
      max_in_flight_samples_per_worker: the most items one sampling call
        fetches (2-3x the batch size is a good value).
      num_workers_per_iterator: accepted for Reverb compatibility; each
        iterator samples from one stream (see the module docstring).
      max_samples_per_stream: accepted for Reverb compatibility (one server:
        streams need no rebalancing).
      rate_limiter_timeout_ms: how long a sample may wait for the rate limiter
        before the dataset ends; -1 waits forever.
      max_samples: the dataset ends after this many samples; -1: never.

    Raises:
      ValueError: `dtypes` and `shapes` differ in structure, or an argument is
        out of range.
    """

    _LAYOUT = _Layout.ITEMS


class TimestepDataset(_ItemStreamDataset):
    """Samples items and emits their timesteps one by one (Reverb's legacy dataset).

    An element is one timestep of an item: `data` has the structure of
    `dtypes` and the per-step `shapes`; `info` is the item's (scalars), the
    same for each of its steps. Nothing marks where an item ends. Arguments
    are those of `TrajectoryDataset`; `from_table_signature` reads the
    per-step signature.
    """

    _LAYOUT = _Layout.TIMESTEPS


class ReplayDataset(_ReverbDataset):
    """Reverb's deprecated dataset: timesteps, or whole fixed-length sequences.

    With `emit_timesteps=True` it is a `TimestepDataset`. With
    `emit_timesteps=False` each element is a whole item of `sequence_length`
    steps: every shape in `shapes` must lead with `sequence_length`, and the
    info fields are repeated to shape `[sequence_length]`. Items of another
    length raise InvalidArgumentError. Other arguments are those of
    `TrajectoryDataset`.

    Raises:
      ValueError: as `TrajectoryDataset`; also if `sequence_length` is not None
        or positive, or a shape does not lead with it when sequences are
        emitted.
    """

    def __init__(
        self,
        server_address: str | tf.Tensor,
        table: str | tf.Tensor,
        dtypes: Any,
        shapes: Any,
        max_in_flight_samples_per_worker: int,
        num_workers_per_iterator: int = -1,
        max_samples_per_stream: int = -1,
        sequence_length: int | None = None,
        emit_timesteps: bool = True,
        rate_limiter_timeout_ms: int = -1,
    ) -> None:
        _check_args(
            max_in_flight_samples_per_worker,
            num_workers_per_iterator,
            max_samples_per_stream,
            rate_limiter_timeout_ms,
            -1,
        )
        if sequence_length is not None and sequence_length < 1:
            raise ValueError(
                f"sequence_length ({sequence_length}) must be None or a positive "
                "integer"
            )
        if not emit_timesteps:
            paths, _, flat_shapes = _flat_specs(
                _tuples_for_lists(dtypes), _tuples_for_lists(shapes)
            )
            for path, shape in zip(paths, flat_shapes):
                if not shape.rank or shape[0] != sequence_length:
                    raise ValueError(
                        f"With emit_timesteps=False every shape must lead with "
                        f"sequence_length ({sequence_length}), but {path} has "
                        f"shape {shape}."
                    )
        batches, _ = _build(
            server_address,
            table,
            dtypes,
            shapes,
            max_in_flight_samples_per_worker,
            rate_limiter_timeout_ms,
            -1,
            _Layout.TIMESTEPS if emit_timesteps else _Layout.SEQUENCES,
            sequence_length,
        )
        super().__init__(batches.unbatch())

    @classmethod
    def from_table_signature(
        cls,
        server_address: str,
        table: str,
        max_in_flight_samples_per_worker: int,
        num_workers_per_iterator: int = -1,
        max_samples_per_stream: int = -1,
        sequence_length: int | None = None,
        emit_timesteps: bool = True,
        rate_limiter_timeout_ms: int = -1,
        get_signature_timeout_secs: float | None = None,
    ) -> ReplayDataset:
        """A dataset built from the table's (per-step) signature."""
        dtypes, shapes = _signature_specs(
            server_address, table, get_signature_timeout_secs
        )
        if not emit_timesteps:
            lead = tf.TensorShape([sequence_length])
            shapes = tree.map_structure(lambda s: lead.concatenate(s), shapes)
        return cls(
            server_address,
            table,
            dtypes,
            shapes,
            max_in_flight_samples_per_worker,
            num_workers_per_iterator=num_workers_per_iterator,
            max_samples_per_stream=max_samples_per_stream,
            sequence_length=sequence_length,
            emit_timesteps=emit_timesteps,
            rate_limiter_timeout_ms=rate_limiter_timeout_ms,
        )


def _signature_specs(
    server_address: str, table: str, timeout: float | None
) -> tuple[Any, Any]:
    """The dtypes and shapes of `table`'s signature (ValueError if none)."""
    info = Client(server_address).server_info(timeout)
    if table not in info:
        raise ValueError(
            f"Server at {server_address} does not contain any table named "
            f"{table}. Found: {', '.join(sorted(info))}."
        )
    signature = info[table].signature
    if not signature:
        raise ValueError(
            f"Table {table} at {server_address} does not have a signature."
        )
    shapes = tree.map_structure(lambda spec: tf.TensorShape(spec.shape), signature)
    dtypes = tree.map_structure(lambda spec: tf.as_dtype(spec.dtype), signature)
    return dtypes, shapes
