"""Spec nests as JSON, readable without TensorFlow.

An exported policy (`policylib.export.litert`) records its time-step, action
and state specs in JSON so that a deployment process can rebuild them with
NumPy alone; SavedModels keep TensorFlow's own `StructuredValue` format.

    text = spec_json.dumps({"obs": array_spec.ArraySpec((4,), np.float32)})
    spec_json.loads(text)  # {'obs': ArraySpec(shape=(4,), dtype=float32, ...)}

Nests are dicts, lists, tuples and namedtuples (`TimeStep`, `PolicyStep` come
back as themselves; other namedtuples as look-alike classes of the same name
and fields); leaves are `ArraySpec`s and `BoundedArraySpec`s (tensor specs
are converted first).
"""

from __future__ import annotations

import collections
import json
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np

from policylib.specs import array_spec

if TYPE_CHECKING:
    from policylib.typing import types

__all__ = ["decode", "dumps", "encode", "loads"]

# A nest encoded for JSON: a leaf's or a container's dict, or None.
Encoded: TypeAlias = "dict[str, object] | None"


def _known_namedtuples() -> dict[str, type]:
    from policylib.trajectories import policy_step, time_step

    return {"TimeStep": time_step.TimeStep, "PolicyStep": policy_step.PolicyStep}


def encode(nest: types.NestedSpec, path: str = "") -> Encoded:
    """A JSON-ready form of a nest of array (or tensor) specs.

    Raises:
      TypeError: a leaf is not a spec; the message gives its path.
    """
    if nest is None:
        return None
    if isinstance(nest, array_spec.ArraySpec):
        leaf: dict[str, object] = {
            "spec": type(nest).__name__,
            "shape": [int(d) for d in nest.shape],
            "dtype": np.dtype(nest.dtype).name,
            "name": nest.name,
        }
        if isinstance(nest, array_spec.BoundedArraySpec):
            leaf["minimum"] = np.asarray(nest.minimum).tolist()
            leaf["maximum"] = np.asarray(nest.maximum).tolist()
        return leaf
    fields = getattr(nest, "_fields", None)
    if fields is not None and isinstance(nest, tuple):
        return {
            "namedtuple": type(nest).__name__,
            "fields": {
                f: encode(getattr(nest, f), f"{path}/{f}".lstrip("/")) for f in fields
            },
        }
    if isinstance(nest, dict):
        return {
            "dict": [
                [key, encode(value, f"{path}/{key}".lstrip("/"))]
                for key, value in nest.items()
            ]
        }
    if isinstance(nest, (list, tuple)):
        kind = "list" if isinstance(nest, list) else "tuple"
        return {
            kind: [encode(v, f"{path}/{i}".lstrip("/")) for i, v in enumerate(nest)]
        }
    if type(nest).__module__.startswith("tensorflow"):
        from policylib.specs import tensor_spec

        return encode(tensor_spec.to_array_spec(nest), path)
    raise TypeError(
        f"spec_json: {path or 'the nest'} is {type(nest).__name__} {nest!r:.100}; "
        "expected an ArraySpec, a TensorSpec or a dict/list/tuple/namedtuple of them."
    )


def decode(data: Any) -> types.NestedArraySpec:  # JSON as `json.loads` gives it
    """The nest of array specs that `encode` gave `data` for."""
    if data is None:
        return None
    if "spec" in data:
        shape, dtype, name = tuple(data["shape"]), np.dtype(data["dtype"]), data["name"]
        if data["spec"] == "BoundedArraySpec":
            return array_spec.BoundedArraySpec(
                shape,
                dtype,
                np.asarray(data["minimum"], dtype),
                np.asarray(data["maximum"], dtype),
                name,
            )
        return array_spec.ArraySpec(shape, dtype, name)
    if "namedtuple" in data:
        fields = {k: decode(v) for k, v in data["fields"].items()}
        cls = _known_namedtuples().get(data["namedtuple"])
        if cls is None or tuple(getattr(cls, "_fields", ())) != tuple(fields):
            make = collections.namedtuple
            cls = make(data["namedtuple"], list(fields))
        return cls(**fields)
    if "dict" in data:
        return {key: decode(value) for key, value in data["dict"]}
    if "list" in data:
        return [decode(v) for v in data["list"]]
    if "tuple" in data:
        return tuple(decode(v) for v in data["tuple"])
    raise ValueError(f"spec_json: not an encoded spec nest: {data!r:.200}")


def dumps(nest: types.NestedSpec) -> str:
    """`encode(nest)` as JSON text."""
    return json.dumps(encode(nest), indent=1)


def loads(text: str) -> types.NestedArraySpec:
    """The nest of array specs in JSON `text` (from `dumps`)."""
    return decode(json.loads(text))
