"""The bytes a Reverb client and server exchange over gRPC.

Nothing here unpickles: a server decodes what any client sends, so item data
travels as arrays in a small binary layout (dtype string, shape, raw bytes,
8-byte aligned) and everything else as fixed-width numbers, UTF-8 strings or
JSON. Object arrays are sent only when every element is `bytes` (or every
element `str`), as lengths plus the concatenated bytes; other object arrays,
structured and void dtypes are refused with an error naming the column.

Signatures travel as JSON describing their nest (dicts, lists, tuples,
namedtuples) and their specs (shape, dtype name, name, bounds). Encoding never
imports TensorFlow; decoding gives `tf.TensorSpec`/`tf.BoundedTensorSpec` for
TensorFlow specs when TensorFlow can be imported, else `ArraySpec`s.

Errors travel as gRPC status codes plus the error's class name (see
`ERROR_CLASSES`), so the client raises the server's class with its message.
"""

from __future__ import annotations

import collections
import enum
import functools
import json
import math
import struct
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeGuard

import numpy as np

from policylib.reverb import errors
from policylib.reverb.items import Item, SampledItem
from policylib.reverb.replay_sample import SampleInfo
from policylib.reverb.reverb_types import RateLimiterInfo, TableInfo

__all__ = [
    "ERROR_CLASSES",
    "ERROR_METADATA_KEY",
    "SERVICE_NAME",
    "Method",
    "Reader",
    "Writer",
    "decode_signature",
    "encode_signature",
]

SERVICE_NAME = "policylib.reverb.ReplayService"
# Trailing metadata key that carries the class name of a server-side error.
ERROR_METADATA_KEY = "policylib-reverb-error"
# Largest message either side accepts (item batches are split well below it).
MAX_MESSAGE_BYTES = 2**31 - 1


class Method(str, enum.Enum):
    """The RPCs of the replay service (each one `ReplayService` method)."""

    INSERT = "Insert"
    TRY_INSERT = "TryInsert"
    INSERT_BATCH = "InsertBatch"
    SAMPLE = "Sample"
    MUTATE_PRIORITIES = "MutatePriorities"
    RESET = "Reset"
    SERVER_INFO = "ServerInfo"
    SIGNATURE = "Signature"
    CHECKPOINT = "Checkpoint"

    @property
    def path(self) -> str:
        return f"/{SERVICE_NAME}/{self.value}"


# Error classes a server sends by name; the client raises the same class.
# Order matters: the first class in an error's MRO that is listed is used.
ERROR_CLASSES: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        errors.NotFoundError,
        errors.DeadlineExceededError,
        errors.CancelledError,
        errors.UnavailableError,
        errors.ReverbError,
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        NotImplementedError,
        RuntimeError,
        OSError,
    )
}


def error_class_name(error: BaseException) -> str:
    """The name of the first class of `error`'s MRO that `ERROR_CLASSES` lists."""
    for cls in type(error).__mro__:
        if ERROR_CLASSES.get(cls.__name__) is cls:
            return cls.__name__
    return "RuntimeError"


def error_message(error: BaseException) -> str:
    """The message to rebuild `error` from (KeyError's without its quotes)."""
    if len(error.args) == 1 and isinstance(error.args[0], str):
        return error.args[0]
    return str(error)


# -- Binary layout ------------------------------------------------------------

_U8 = struct.Struct("<B")
_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_I64 = struct.Struct("<q")
_F64 = struct.Struct("<d")
_ITEM_HEAD = struct.Struct(
    "<QdQII"
)  # key, priority, times_sampled, #episodes, #columns
_INFO = struct.Struct("<QdqdqI")  # SampleInfo fields, #columns

_BYTES_OBJECT = "|bytes-object"
_STR_OBJECT = "|str-object"
_ML_PREFIX = "ml_dtypes:"


class Writer:
    """Appends numbers, strings and arrays to one growing message."""

    __slots__ = ("_buf",)

    def __init__(self) -> None:
        self._buf = bytearray()

    def __len__(self) -> int:
        return len(self._buf)

    def getvalue(self) -> bytes:
        return bytes(self._buf)

    def u8(self, value: int) -> None:
        self._buf += _U8.pack(value)

    def u32(self, value: int) -> None:
        self._buf += _U32.pack(value)

    def u64(self, value: int) -> None:
        if not 0 <= value < 2**64:
            raise ValueError(f"Key {value} is not a 64-bit unsigned integer.")
        self._buf += _U64.pack(value)

    def i64(self, value: int) -> None:
        self._buf += _I64.pack(value)

    def f64(self, value: float) -> None:
        self._buf += _F64.pack(value)

    def optional_f64(self, value: float | None) -> None:
        """A timeout: None travels as NaN."""
        self.f64(math.nan if value is None else float(value))

    def string(self, value: str) -> None:
        data = value.encode("utf-8")
        self.u32(len(data))
        self._buf += data

    def json(self, value: object) -> None:
        self.string(json.dumps(value, allow_nan=True))

    def array(self, array: np.ndarray, what: str = "column") -> None:
        """Tag length, dtype tag, rank, dims; then the bytes at an 8-byte boundary."""
        if not isinstance(array, np.ndarray):
            array = np.asarray(array)
        head = _TAG_HEADS.get(array.dtype)
        if head is None:
            if array.dtype.kind == "O":
                self._object_array(array, what)
                return
            head = _tag_head(array.dtype, what)
        buf = self._buf
        buf += head
        buf += _dims_struct(array.ndim).pack(array.ndim, *array.shape)
        buf += _PADDING[-len(buf) % 8]
        buf += array.tobytes()

    def _object_array(self, array: np.ndarray, what: str) -> None:
        flat = array.reshape(-1)
        if all(isinstance(x, bytes) for x in flat):
            tag, parts = _BYTES_OBJECT, list(flat)
        elif all(isinstance(x, str) for x in flat):
            tag, parts = _STR_OBJECT, [x.encode("utf-8") for x in flat]
        else:
            kinds = sorted({type(x).__name__ for x in flat})
            raise TypeError(
                f"The {what} is an object array holding {kinds}; policylib.reverb "
                "sends object arrays over gRPC only when every element is bytes "
                "(or every element str)."
            )
        self._buf += _head_of(tag)
        self._buf += _dims_struct(array.ndim).pack(array.ndim, *array.shape)
        for part in parts:
            self.u32(len(part))
        self._buf += b"".join(parts)

    def item(self, item: Item) -> None:
        self._buf += _ITEM_HEAD.pack(
            item.key,
            float(item.priority),
            item.times_sampled,
            len(item.episode_ids),
            len(item.columns),
        )
        for episode in item.episode_ids:
            self.u64(episode)
        for c, column in enumerate(item.columns):
            self.array(column, f"column {c} of item {item.key}")

    def sampled_item(self, sampled: SampledItem) -> None:
        info = sampled.info
        self._buf += _INFO.pack(
            int(info.key),  # type: ignore[call-overload]
            float(info.probability),  # type: ignore[arg-type]
            int(info.table_size),  # type: ignore[call-overload]
            float(info.priority),  # type: ignore[arg-type]
            int(info.times_sampled),  # type: ignore[call-overload]
            len(sampled.columns),
        )
        for c, column in enumerate(sampled.columns):
            self.array(column, f"column {c} of item {info.key}")


class Reader:
    """Reads what a `Writer` wrote; a short or malformed message raises ValueError."""

    __slots__ = ("_data", "_view", "_pos")

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._view = memoryview(data)
        self._pos = 0

    def _take(self, size: int) -> int:
        start = self._pos
        if size < 0 or start + size > len(self._data):
            raise ValueError(
                f"A policylib.reverb message is truncated or malformed: it has "
                f"{len(self._data)} bytes, {start + size} were needed."
            )
        self._pos = start + size
        return start

    def _unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        return fmt.unpack_from(self._data, self._take(fmt.size))

    def done(self) -> None:
        """Raises ValueError unless every byte was read."""
        if self._pos != len(self._data):
            raise ValueError(
                f"A policylib.reverb message has {len(self._data) - self._pos} "
                "unexpected trailing bytes."
            )

    def u8(self) -> int:
        return int(self._unpack(_U8)[0])

    def u32(self) -> int:
        return int(self._unpack(_U32)[0])

    def u64(self) -> int:
        return int(self._unpack(_U64)[0])

    def i64(self) -> int:
        return int(self._unpack(_I64)[0])

    def f64(self) -> float:
        return float(self._unpack(_F64)[0])

    def optional_f64(self) -> float | None:
        value = self.f64()
        return None if math.isnan(value) else value

    def string(self) -> str:
        size = self.u32()
        start = self._take(size)
        return bytes(self._view[start : start + size]).decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.string())

    def array(self) -> np.ndarray:
        data, pos = self._data, self._pos
        try:
            tag_end = pos + 1 + data[pos]
            tag = data[pos + 1 : tag_end]
            dims = _dims_struct(data[tag_end])
            shape = dims.unpack_from(data, tag_end)[1:]
        except (IndexError, struct.error):
            self._take(len(data) + 1)  # Raises: the message is too short.
            raise
        pos = tag_end + dims.size
        count = math.prod(shape)
        dtype = _DTYPES.get(tag)
        if dtype is None:
            if tag in (_BYTES_OBJECT_TAG, _STR_OBJECT_TAG):
                self._pos = pos
                return self._object_array(tag, shape, count)
            dtype = _dtype_from_tag(tag.decode("ascii", "replace"))
            if len(_DTYPES) < 1000:
                _DTYPES[tag] = dtype
        self._pos = pos + (-pos % 8)
        start = self._take(count * dtype.itemsize)
        # A copy: a view would keep the whole message alive as long as any
        # one of its arrays (an item may stay in a table for long).
        return np.frombuffer(data, dtype, count, start).reshape(shape).copy()

    def _object_array(
        self, tag: bytes, shape: tuple[int, ...], count: int
    ) -> np.ndarray:
        sizes = [self.u32() for _ in range(count)]
        parts: list[object] = []
        for size in sizes:
            start = self._take(size)
            part = bytes(self._view[start : start + size])
            parts.append(part if tag == _BYTES_OBJECT_TAG else part.decode("utf-8"))
        result = np.empty(count, dtype=object)
        result[:] = parts
        return result.reshape(shape)

    def item(self) -> Item:
        key, priority, times_sampled, num_episodes, num_columns = self._unpack(
            _ITEM_HEAD
        )
        episodes = tuple(self.u64() for _ in range(num_episodes))
        columns = [self.array() for _ in range(num_columns)]
        return Item(int(key), float(priority), columns, episodes, int(times_sampled))

    def sampled_item(self) -> SampledItem:
        key, probability, size, priority, times_sampled, num_columns = self._unpack(
            _INFO
        )
        info = SampleInfo(
            int(key), float(probability), int(size), float(priority), int(times_sampled)
        )
        return SampledItem(info, [self.array() for _ in range(num_columns)])


_BYTES_OBJECT_TAG = _BYTES_OBJECT.encode("ascii")
_STR_OBJECT_TAG = _STR_OBJECT.encode("ascii")
_PADDING = [b"\0" * n for n in range(8)]
# Encoded tag heads by dtype, and dtypes by tag, filled as they are met.
_TAG_HEADS: dict[np.dtype, bytes] = {}
_DTYPES: dict[bytes, np.dtype] = {}


@functools.cache
def _dims_struct(ndim: int) -> struct.Struct:
    """Rank (u8) then `ndim` u64 dims."""
    return struct.Struct(f"<B{ndim}Q")


def _head_of(tag: str) -> bytes:
    encoded = tag.encode("ascii")
    return bytes([len(encoded)]) + encoded


def _tag_head(dtype: np.dtype, what: str) -> bytes:
    """The encoded tag of `dtype` (cached); TypeError for dtypes not sent."""
    if dtype.kind == "V":
        module = type(dtype).__module__ + getattr(dtype.type, "__module__", "")
        if dtype.names is not None or "ml_dtypes" not in module:
            raise TypeError(
                f"The {what} has dtype {dtype}, which policylib.reverb does "
                "not send over gRPC (structured and void dtypes are refused)."
            )
        head = _head_of(_ML_PREFIX + dtype.name)
    else:
        head = _head_of(dtype.str)
    _TAG_HEADS[dtype] = head
    return head


def _dtype_from_tag(tag: str) -> np.dtype:
    if tag.startswith(_ML_PREFIX):
        try:
            import ml_dtypes
        except ImportError:
            raise ValueError(
                f"An array of dtype {tag[len(_ML_PREFIX) :]} arrived, which needs "
                "the ml_dtypes package."
            ) from None
        name = tag[len(_ML_PREFIX) :]
        if not name.isidentifier() or not hasattr(ml_dtypes, name):
            raise ValueError(f"Unknown ml_dtypes dtype {name!r} in a message.")
        return np.dtype(getattr(ml_dtypes, name))
    if len(tag) < 3 or tag[0] not in "<>|=" or tag[1] not in "biufcSUmM":
        raise ValueError(
            f"Array dtype {tag!r} in a message is not one policylib.reverb sends."
        )
    try:
        return np.dtype(tag)
    except TypeError:
        raise ValueError(f"Array dtype {tag!r} in a message is not a dtype.") from None


# -- Messages -------------------------------------------------------------------


def encode_items(items: Iterable[tuple[str, Item]], timeout: float | None) -> bytes:
    """An InsertBatch request: the timeout, then (table, item) pairs."""
    writer = Writer()
    pairs = list(items)
    writer.optional_f64(timeout)
    writer.u32(len(pairs))
    for table, item in pairs:
        writer.string(table)
        writer.item(item)
    return writer.getvalue()


def decode_items(data: bytes) -> tuple[list[tuple[str, Item]], float | None]:
    reader = Reader(data)
    timeout = reader.optional_f64()
    items = [(reader.string(), reader.item()) for _ in range(reader.u32())]
    reader.done()
    return items, timeout


def encode_priorities(
    table: str, updates: Mapping[int, float], deletes: Iterable[int]
) -> bytes:
    writer = Writer()
    writer.string(table)
    writer.u32(len(updates))
    for key, priority in updates.items():
        writer.u64(int(key))
        writer.f64(float(priority))
    keys = [int(key) for key in deletes]
    writer.u32(len(keys))
    for key in keys:
        writer.u64(key)
    return writer.getvalue()


def decode_priorities(data: bytes) -> tuple[str, dict[int, float], list[int]]:
    reader = Reader(data)
    table = reader.string()
    updates = {reader.u64(): reader.f64() for _ in range(reader.u32())}
    deletes = [reader.u64() for _ in range(reader.u32())]
    reader.done()
    return table, updates, deletes


def encode_sampled(sampled: Sequence[SampledItem]) -> bytes:
    writer = Writer()
    writer.u32(len(sampled))
    for one in sampled:
        writer.sampled_item(one)
    return writer.getvalue()


def decode_sampled(data: bytes) -> list[SampledItem]:
    reader = Reader(data)
    sampled = [reader.sampled_item() for _ in range(reader.u32())]
    reader.done()
    return sampled


def encode_table_infos(infos: Mapping[str, TableInfo]) -> bytes:
    writer = Writer()
    writer.json(
        [
            {
                "name": info.name,
                "sampler_options": info.sampler_options,
                "remover_options": info.remover_options,
                "max_size": info.max_size,
                "max_times_sampled": info.max_times_sampled,
                "rate_limiter_info": list(_rate_limiter_fields(info.rate_limiter_info)),
                "signature": encode_signature(info.signature),
                "current_size": info.current_size,
                "num_episodes": info.num_episodes,
                "num_deleted_episodes": info.num_deleted_episodes,
                "num_unique_samples": info.num_unique_samples,
            }
            for info in infos.values()
        ]
    )
    return writer.getvalue()


def _rate_limiter_fields(info: RateLimiterInfo) -> tuple[float, ...]:
    return (
        info.samples_per_insert,
        info.min_diff,
        info.max_diff,
        info.min_size_to_sample,
        info.insert_count,
        info.sample_count,
        info.delete_count,
    )


def decode_table_infos(data: bytes) -> dict[str, TableInfo]:
    reader = Reader(data)
    raw = reader.json()
    reader.done()
    infos = {}
    for entry in raw:
        spi, min_diff, max_diff, min_size, inserts, samples, deletes = entry[
            "rate_limiter_info"
        ]
        infos[entry["name"]] = TableInfo(
            name=entry["name"],
            sampler_options=entry["sampler_options"],
            remover_options=entry["remover_options"],
            max_size=int(entry["max_size"]),
            max_times_sampled=int(entry["max_times_sampled"]),
            rate_limiter_info=RateLimiterInfo(
                samples_per_insert=float(spi),
                min_diff=float(min_diff),
                max_diff=float(max_diff),
                min_size_to_sample=int(min_size),
                insert_count=int(inserts),
                sample_count=int(samples),
                delete_count=int(deletes),
            ),
            signature=decode_signature(entry["signature"]),
            current_size=int(entry["current_size"]),
            num_episodes=int(entry["num_episodes"]),
            num_deleted_episodes=int(entry["num_deleted_episodes"]),
            num_unique_samples=int(entry["num_unique_samples"]),
        )
    return infos


# -- Signatures -------------------------------------------------------------------


def _dtype_name(dtype: object) -> str:
    """`float32`, `string`, ... for a tf.DType, NumPy dtype or type."""
    name = getattr(dtype, "name", None)
    if isinstance(name, str) and not isinstance(dtype, type):
        return "string" if name == "object" else name
    return str(np.dtype(dtype).name)  # type: ignore[call-overload]


def _bound(value: object) -> dict[str, Any]:
    array = np.asarray(value)
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": array.tolist(),
    }


def _spec_to_json(spec: Any, path: str) -> dict[str, Any]:
    shape = spec.shape
    if getattr(shape, "rank", 0) is None:
        dims: list[int | None] | None = None
    else:
        as_list = getattr(shape, "as_list", None)
        dims = [
            None if d is None else int(d) for d in (as_list() if as_list else shape)
        ]
    encoded: dict[str, Any] = {
        "t": "spec",
        "tf": type(spec).__module__.split(".")[0] == "tensorflow",
        "shape": dims,
        "dtype": _dtype_name(spec.dtype),
        "name": getattr(spec, "name", None),
    }
    if hasattr(spec, "minimum") and hasattr(spec, "maximum"):
        encoded["minimum"] = _bound(spec.minimum)
        encoded["maximum"] = _bound(spec.maximum)
    return encoded


def _is_namedtuple(value: object) -> TypeGuard[tuple]:
    return isinstance(value, tuple) and hasattr(type(value), "_fields")


def encode_signature(signature: object, path: str = "") -> Any:
    """JSON-ready description of a nest of specs; TypeError names an unsupported node."""
    if signature is None:
        return None
    if isinstance(signature, Mapping):
        keys = list(signature)
        for key in keys:
            if not isinstance(key, (str, int)):
                raise TypeError(
                    f"Signature key {key!r} at {path or '<root>'} is neither a "
                    "string nor an int; it cannot be sent."
                )
        return {
            "t": "dict",
            "keys": keys,
            "values": [
                encode_signature(signature[k], f"{path}/{k}".lstrip("/")) for k in keys
            ],
        }
    if _is_namedtuple(signature):
        cls: Any = type(signature)
        return {
            "t": "namedtuple",
            "module": cls.__module__,
            "name": cls.__qualname__,
            "fields": list(cls._fields),
            "values": [
                encode_signature(v, f"{path}/{f}".lstrip("/"))
                for f, v in zip(cls._fields, signature)
            ],
        }
    if isinstance(signature, (list, tuple)):
        return {
            "t": "list" if isinstance(signature, list) else "tuple",
            "values": [
                encode_signature(v, f"{path}/{i}".lstrip("/"))
                for i, v in enumerate(signature)
            ],
        }
    if hasattr(signature, "shape") and hasattr(signature, "dtype"):
        return _spec_to_json(signature, path)
    raise TypeError(
        f"Signature leaf {path or '<root>'} is {signature!r}, not a spec with a "
        "shape and a dtype; it cannot be sent."
    )


class _UnknownShape:
    """The shape of a spec of unknown rank (what `signatures` reads as any rank)."""

    rank = None

    def __repr__(self) -> str:
        return "<unknown>"


class UnknownRankSpec:
    """A spec of unknown rank, for clients without TensorFlow."""

    __slots__ = ("dtype", "name")

    def __init__(self, dtype: np.dtype, name: str | None = None) -> None:
        self.dtype = dtype
        self.name = name

    @property
    def shape(self) -> _UnknownShape:
        return _UnknownShape()

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, UnknownRankSpec)
            and self.dtype == other.dtype
            and self.name == other.name
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"UnknownRankSpec(dtype={self.dtype!r}, name={self.name!r})"


def _tensorflow() -> Any:
    """TensorFlow if it is loaded or can be imported, else None."""
    tf = sys.modules.get("tensorflow")
    if tf is not None:
        return tf
    try:
        import tensorflow
    except ImportError:
        return None
    return tensorflow


def _numpy_dtype(name: str) -> np.dtype:
    if name == "string":
        return np.dtype(object)
    try:
        return np.dtype(name)
    except TypeError:
        return _dtype_from_tag(_ML_PREFIX + name)


def _bound_from_json(raw: dict[str, Any]) -> np.ndarray:
    dtype = _dtype_from_tag(raw["dtype"])
    return np.asarray(raw["data"], dtype=dtype).reshape(raw["shape"])


def _spec_from_json(raw: dict[str, Any]) -> object:
    bounded = "minimum" in raw
    name = raw["name"]
    shape = raw["shape"]
    tf = _tensorflow() if raw["tf"] else None
    if tf is not None:
        dtype = tf.as_dtype(raw["dtype"])
        tf_shape = tf.TensorShape(shape)
        if bounded:
            from tensorflow.python.framework import tensor_spec

            return tensor_spec.BoundedTensorSpec(
                tf_shape,
                dtype,
                _bound_from_json(raw["minimum"]),
                _bound_from_json(raw["maximum"]),
                name=name,
            )
        return tf.TensorSpec(tf_shape, dtype, name=name)
    dtype = _numpy_dtype(raw["dtype"])
    if shape is None:
        return UnknownRankSpec(dtype, name)
    from policylib.specs import array_spec

    if bounded:
        return array_spec.BoundedArraySpec(
            shape,
            dtype,
            _bound_from_json(raw["minimum"]),
            _bound_from_json(raw["maximum"]),
            name=name,
        )
    return array_spec.ArraySpec(shape, dtype, name=name)


def _namedtuple_class(raw: dict[str, Any]) -> type:
    """The class a namedtuple was, if this process has it loaded, else a look-alike."""
    module = sys.modules.get(raw["module"])
    cls: Any = module
    for part in str(raw["name"]).split("."):
        cls = getattr(cls, part, None)
    if isinstance(cls, type) and list(getattr(cls, "_fields", ())) == raw["fields"]:
        return cls
    simple = str(raw["name"]).rsplit(".", 1)[-1]
    return collections.namedtuple(simple, raw["fields"])


def decode_signature(raw: Any) -> object:
    """The nest of specs `encode_signature` described."""
    if raw is None:
        return None
    kind = raw["t"]
    if kind == "spec":
        return _spec_from_json(raw)
    values = [decode_signature(v) for v in raw["values"]]
    if kind == "dict":
        return dict(zip(raw["keys"], values))
    if kind == "namedtuple":
        return _namedtuple_class(raw)(*values)
    if kind == "list":
        return values
    if kind == "tuple":
        return tuple(values)
    raise ValueError(f"Unknown signature node {kind!r} in a message.")
