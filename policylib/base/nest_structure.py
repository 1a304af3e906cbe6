"""Structure helpers for nests: assertions that draw both structures, path-aware maps, pruning.

Thin layers over `tf.nest` (dm-tree without TensorFlow, see `lazy_tf.nest`)
whose errors show both nests; `prune_extra_keys` drops dict entries a spec
nest does not have. Re-exported by `nest_utils` (TF-Agents' path).
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import wrapt

from policylib.base.lazy_tf import is_tensor
from policylib.base.lazy_tf import nest as _nest

if TYPE_CHECKING:
    from policylib.typing import types

T = TypeVar("T")

is_nested = _nest.is_nested


class _Leaf:
    """Prints as '.', so structure diagrams show only the nesting."""

    def __repr__(self) -> str:
        return "."


def _diagram(structure: types.Nested, expand_composites: bool = False) -> object:
    leaf = _Leaf()
    try:
        return _nest.map_structure(
            lambda _: leaf, structure, expand_composites=expand_composites
        )
    except (TypeError, ValueError):
        return structure


def _kind(value: object) -> str:
    if isinstance(value, Mapping):
        return f"a mapping with keys {sorted(value, key=str)}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)}"
    return "a leaf" if not is_nested(value) else f"a {type(value).__name__}"


def first_difference(nest1: object, nest2: object, path: str = "") -> str | None:
    """Where two nests first part, in words (`'observation: keys [...] vs [...]'`).

    Walks mappings, namedtuples, lists and tuples; None when no difference is
    found at that level of detail (e.g. attrs classes), so callers keep their
    full diagram. Saves the reader comparing two printed nests by eye.
    """
    where = path or "the top level"
    if not is_nested(nest1) and not is_nested(nest2):
        return None
    if isinstance(nest1, Mapping) and isinstance(nest2, Mapping):
        keys1, keys2 = set(nest1), set(nest2)
        if keys1 != keys2:
            only2 = sorted(keys2 - keys1, key=str)
            only1 = sorted(keys1 - keys2, key=str)
            parts = [f"missing {only2}"] if only2 else []
            parts += [f"unexpected {only1}"] if only1 else []
            return (
                f"{where}: keys {sorted(keys1, key=str)} vs {sorted(keys2, key=str)}, "
                + ", ".join(parts)
            )
        for key in sorted(keys1, key=str):
            found = first_difference(nest1[key], nest2[key], _join(path, key))
            if found:
                return found
        return None
    sequences = (list, tuple)
    if isinstance(nest1, sequences) and isinstance(nest2, sequences):
        if len(nest1) != len(nest2):
            return f"{where}: {_kind(nest1)} vs {_kind(nest2)}"
        fields = getattr(nest1, "_fields", None) or range(len(nest1))
        for name, a, b in zip(fields, nest1, nest2):
            found = first_difference(a, b, _join(path, name))
            if found:
                return found
        return None
    if is_nested(nest1) != is_nested(nest2):
        return f"{where}: {_kind(nest1)} vs {_kind(nest2)}"
    return None


def _join(path: str, name: object) -> str:
    return f"{path}/{name}" if path else str(name)


def assert_same_structure(
    nest1: types.Nested,
    nest2: types.Nested,
    check_types: bool = True,
    expand_composites: bool = False,
    allow_shallow_nest1: bool = False,
    message: str | None = None,
) -> None:
    """`tf.nest.assert_same_structure` with both structures drawn in the error.

    Args:
      nest1, nest2: the nests to compare.
      check_types: also require equal sequence types.
      expand_composites: treat composite tensors as nests of their components.
      allow_shallow_nest1: `nest1` may stop above `nest2`'s leaves.
      message: a prefix for the error message.
    """
    try:
        if allow_shallow_nest1:
            _nest.assert_shallow_structure(
                nest1,
                nest2,
                check_types=check_types,
                expand_composites=expand_composites,
            )
        else:
            _nest.assert_same_structure(
                nest1,
                nest2,
                check_types=check_types,
                expand_composites=expand_composites,
            )
    except (TypeError, ValueError) as e:
        head = f"{message or 'The two structures do not match'}:\n"
        try:
            where = first_difference(nest1, nest2)
        except Exception:  # noqa: BLE001 - a hint only; the diagrams follow anyway
            where = None
        if where:
            head += f"  first difference at {where}\n"
        raise type(e)(
            f"{head}  {_diagram(nest1, expand_composites)}\nvs.\n  "
            f"{_diagram(nest2, expand_composites)}\nValues:\n  {nest1}\nvs.\n  {nest2}.\n"
            f"Details: {e}"
        ) from e


def assert_shallow_structure(
    shallow: types.Nested, deep: types.Nested, check_types: bool = True
) -> None:
    """Raises unless `shallow` is a prefix of the structure of `deep`."""
    _nest.assert_shallow_structure(shallow, deep, check_types=check_types)


def map_structure_up_to(
    shallow_structure: types.Nested,
    func: Callable[..., object],
    *structures: types.Nested,
) -> Any:
    """Maps `func` over `structures` down to the leaves of `shallow_structure` only.

    Whatever lies below a leaf of `shallow_structure` (e.g. a Python list that
    stands for one array) is passed to `func` whole.
    """
    return _nest.map_structure_up_to(shallow_structure, func, *structures)


def flatten_with_joined_paths(
    structure: types.Nested, expand_composites: bool = False
) -> list:
    """`[(path, leaf), ...]` with paths like `'a/b/0'`, in `tf.nest` order."""
    return _nest.flatten_with_joined_string_paths(
        structure, expand_composites=expand_composites
    )


def flatten_up_to(shallow: types.Nested, deep: types.Nested) -> list:
    """The subtrees of `deep` at the leaves of `shallow`, flattened."""
    return _nest.flatten_up_to(shallow, deep)


def map_structure_with_paths(
    func: Callable[..., object], *structure: types.Nested, **kwargs: Any
) -> Any:
    """`tf.nest.map_structure` whose `func` also gets the joined path (`'a/0'`)."""
    return _nest.map_structure_with_paths(func, *structure, **kwargs)


def fast_map_structure_flatten(
    func: Callable[..., object],
    structure: types.Nested,
    *flat_structure: Sequence[object],
    **kwargs: bool,
) -> Any:
    """Maps `func` over already-flat lists and packs the result like `structure`."""
    expand_composites = kwargs.get("expand_composites", False)
    entries = zip(*flat_structure)
    return _nest.pack_sequence_as(
        structure, [func(*x) for x in entries], expand_composites=expand_composites
    )


def fast_map_structure(
    func: Callable[..., object], *structure: types.Nested, **kwargs: Any
) -> Any:
    """`tf.nest.map_structure` without its per-call structure checks."""
    expand_composites = kwargs.get("expand_composites", False)
    flat = [_nest.flatten(s, expand_composites=expand_composites) for s in structure]
    return _nest.pack_sequence_as(
        structure[0],
        [func(*x) for x in zip(*flat)],
        expand_composites=expand_composites,
    )


def has_tensors(*x: object) -> bool:
    """True if any leaf of the arguments is a tensor."""
    return any(is_tensor(t) for t in _nest.flatten(x))


def _is_namedtuple(x: object) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _is_attrs(x: object) -> bool:
    return getattr(type(x), "__attrs_attrs__", None) is not None


def _attr_values(x: Any) -> list:
    return [getattr(x, a.name) for a in type(x).__attrs_attrs__]


def prune_extra_keys(narrow: types.Nested, wide: T) -> T:
    """Drops dict entries of `wide` whose keys do not appear in `narrow`.

    Recurses through matching containers. Where the two disagree (different
    container types, missing keys, different lengths) the `wide` sub-structure
    is returned untouched; an empty tuple in `narrow` is returned as is.
    TensorFlow's tracking wrappers count as the containers they wrap.
    """
    return _prune(narrow, wide)


def _prune(narrow: Any, wide: Any) -> Any:
    narrow_raw = narrow.__wrapped__ if isinstance(narrow, wrapt.ObjectProxy) else narrow
    if type(narrow_raw) is tuple and not narrow_raw:
        return narrow
    if isinstance(wide, wrapt.ObjectProxy):
        return type(wide)(_prune(narrow, wide.__wrapped__))

    both_lists = isinstance(narrow_raw, list) and isinstance(wide, list)
    both_maps = isinstance(narrow_raw, Mapping) and isinstance(wide, Mapping)
    if type(narrow_raw) is not type(wide) and not both_lists and not both_maps:
        return wide

    if isinstance(narrow_raw, Mapping):
        if not set(wide.keys()).issuperset(narrow_raw.keys()):
            return wide
        items = [(k, _prune(v, wide[k])) for k, v in narrow_raw.items()]
        if isinstance(wide, collections.defaultdict):
            return type(wide)(wide.default_factory, items)
        return type(wide)(items)

    if _nest.is_nested(narrow_raw):
        if _is_attrs(wide):
            values = [
                _prune(n, w)
                for n, w in zip(_attr_values(narrow_raw), _attr_values(wide))
            ]
            return type(wide)(*values)
        if len(narrow_raw) != len(wide):
            return wide
        values = [_prune(n, w) for n, w in zip(narrow_raw, wide)]
        if _is_namedtuple(wide):
            return type(wide)(*values)
        return type(wide)(values)

    return wide
