"""Sets and dicts that tell members apart by identity (`is`), not by `==`.

Keras and trackable containers (a tracked list, say) compare by content and are
often unhashable, so a plain `set` or `dict` cannot hold them, or merges two
distinct objects that happen to be equal. These collections wrap each member in
a small object whose equality is `is` and whose hash is `id`, which fixes both.

TensorFlow keeps a similar module in `tensorflow.python.util.object_identity`,
but it is private API that may change without notice, and it differs from
TF-Agents' copy: its `intersection` returns a plain `set` of wrappers, and its
`<=` and `>=` raise `TypeError` between two identity sets. So the module is
written out here, with TF-Agents 0.19's semantics (`intersection` and
`difference` return identity sets) and the `Set` comparisons working.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Iterator, MutableMapping, MutableSet
from typing import Any, Generic, TypeVar

__all__ = [
    "ObjectIdentityDictionary",
    "ObjectIdentitySet",
    "ObjectIdentityWeakKeyDictionary",
    "ObjectIdentityWeakSet",
    "Reference",
]

_K = TypeVar("_K")
_V = TypeVar("_V")


class _ObjectIdentityWrapper:
    """Holds one object; equal to another wrapper only if both hold the same object.

    Comparing a wrapper with anything but a wrapper (or `None`) raises
    `TypeError`: a silent `False` would hide the common bug of looking up the
    bare object where the wrapped one is stored.
    """

    __slots__ = ("_wrapped", "__weakref__")

    def __init__(self, wrapped: Any):
        self._wrapped = wrapped

    @property
    def unwrapped(self) -> Any:
        """The wrapped object."""
        return self._wrapped

    def _other_wrapped(self, other: object) -> Any:
        """The object `other` wraps; `TypeError` if `other` is no wrapper."""
        if not isinstance(other, _ObjectIdentityWrapper):
            raise TypeError(
                f"Cannot compare {type(self).__name__} with an unwrapped object: "
                f"expected another {_ObjectIdentityWrapper.__name__}, got "
                f"{type(other).__name__}."
            )
        return other._wrapped

    def __eq__(self, other: object) -> bool:
        if other is None:
            return False
        return self._wrapped is self._other_wrapped(other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    # An arbitrary but stable order (by address), so that `tf.nest` can sort
    # dicts keyed by wrappers.
    def __lt__(self, other: object) -> bool:
        return id(self._wrapped) < id(self._other_wrapped(other))

    def __le__(self, other: object) -> bool:
        return id(self._wrapped) <= id(self._other_wrapped(other))

    def __gt__(self, other: object) -> bool:
        return id(self._wrapped) > id(self._other_wrapped(other))

    def __ge__(self, other: object) -> bool:
        return id(self._wrapped) >= id(self._other_wrapped(other))

    def __hash__(self) -> int:
        return id(self._wrapped)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} wrapping {self._wrapped!r}>"


class _WeakObjectIdentityWrapper(_ObjectIdentityWrapper):
    """Like `_ObjectIdentityWrapper`, but keeps only a weak reference.

    CPython hands out one shared `weakref.ref` per live object (when no callback
    is given), so comparing and hashing the reference itself identifies the
    object while it lives; once it dies the stale wrapper equals no new one.
    """

    __slots__ = ()

    def __init__(self, wrapped: Any):
        super().__init__(weakref.ref(wrapped))

    @property
    def unwrapped(self) -> Any:
        """The referenced object, or `None` once it has been collected."""
        return self._wrapped()


class Reference(_ObjectIdentityWrapper):
    """A hashable handle on an object that compares by identity.

    `Reference(x) == Reference(x)` holds for any `x`, hashable or not, while
    `Reference(x) == Reference(y)` is False for distinct but equal `x` and `y`.
    Use `deref()` to get the object back.
    """

    __slots__ = ()

    # A reference is dereferenced explicitly; hide the wrapper's accessor.
    unwrapped = property()

    def deref(self) -> Any:
        """The referenced object itself."""
        return self._wrapped


class ObjectIdentityDictionary(MutableMapping[_K, _V], Generic[_K, _V]):
    """A `dict` whose keys match by identity; keys need not be hashable."""

    _wrapper: type[_ObjectIdentityWrapper] = _ObjectIdentityWrapper

    def __init__(self) -> None:
        self._storage: dict[_ObjectIdentityWrapper, _V] = {}

    def _wrap_key(self, key: Any) -> _ObjectIdentityWrapper:
        return self._wrapper(key)

    def __getitem__(self, key: _K) -> _V:
        try:
            return self._storage[self._wrap_key(key)]
        except KeyError:
            raise KeyError(key) from None

    def __setitem__(self, key: _K, value: _V) -> None:
        self._storage[self._wrap_key(key)] = value

    def __delitem__(self, key: _K) -> None:
        try:
            del self._storage[self._wrap_key(key)]
        except KeyError:
            raise KeyError(key) from None

    def __len__(self) -> int:
        return len(self._storage)

    def __iter__(self) -> Iterator[_K]:
        for wrapper in list(self._storage):
            yield wrapper.unwrapped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._storage!r})"


class _WeakStorage:
    """`len` and iteration over weakly held objects, dropping the dead first.

    The weak dictionary and set each define `_prune` (their storages differ)
    and take these two methods.
    """

    _storage: Any

    def _prune(self) -> None:
        raise NotImplementedError

    def __len__(self) -> int:
        self._prune()
        return len(self._storage)

    def __iter__(self) -> Iterator[Any]:
        self._prune()
        for wrapper in list(self._storage):
            held = wrapper.unwrapped
            if held is not None:
                yield held


class ObjectIdentityWeakKeyDictionary(ObjectIdentityDictionary[_K, _V]):
    """Like `weakref.WeakKeyDictionary`, with keys matched by identity.

    Entries whose key has been collected are dropped the next time the
    dictionary is iterated or measured.
    """

    _wrapper = _WeakObjectIdentityWrapper

    def _prune(self) -> None:
        """Drops the entries whose key no longer exists."""
        for wrapper in [w for w in self._storage if w.unwrapped is None]:
            del self._storage[wrapper]

    __len__ = _WeakStorage.__len__
    __iter__ = _WeakStorage.__iter__


class ObjectIdentitySet(MutableSet[_K], Generic[_K]):
    """A `set` whose members match by identity; members need not be hashable.

    Built from an optional iterable, like `set`. Besides the `MutableSet`
    operators it has `update`, `intersection` and `difference`, which return a
    set of the same class.
    """

    _wrapper: type[_ObjectIdentityWrapper] = _ObjectIdentityWrapper

    def __init__(self, items: Iterable[_K] = ()):
        self._storage: set[_ObjectIdentityWrapper] = {
            self._wrap_key(item) for item in items
        }

    def _wrap_key(self, key: Any) -> _ObjectIdentityWrapper:
        return self._wrapper(key)

    def _with_storage(
        self, storage: set[_ObjectIdentityWrapper]
    ) -> ObjectIdentitySet[_K]:
        """A new set of this class that holds the given wrappers."""
        result = type(self)()
        result._storage = storage
        return result

    def __contains__(self, key: object) -> bool:
        return self._wrap_key(key) in self._storage

    def add(self, key: _K) -> None:
        self._storage.add(self._wrap_key(key))

    def discard(self, key: _K) -> None:
        self._storage.discard(self._wrap_key(key))

    def update(self, items: Iterable[_K]) -> None:
        """Adds every item of `items`."""
        self._storage.update(self._wrap_key(item) for item in items)

    def clear(self) -> None:
        self._storage.clear()

    def intersection(self, items: Iterable[Any]) -> ObjectIdentitySet[_K]:
        """The members of this set that are also in `items`."""
        return self._with_storage(
            self._storage.intersection(self._wrap_key(item) for item in items)
        )

    def difference(self, items: Iterable[Any]) -> ObjectIdentitySet[_K]:
        """The members of this set that are not in `items`."""
        return self._with_storage(
            self._storage.difference(self._wrap_key(item) for item in items)
        )

    def __len__(self) -> int:
        return len(self._storage)

    def __iter__(self) -> Iterator[_K]:
        for wrapper in list(self._storage):
            yield wrapper.unwrapped

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)!r})"


class ObjectIdentityWeakSet(ObjectIdentitySet[_K]):
    """Like `weakref.WeakSet`, with members matched by identity.

    Members that have been collected are dropped the next time the set is
    iterated or measured.
    """

    _wrapper = _WeakObjectIdentityWrapper

    def _prune(self) -> None:
        """Drops the wrappers whose object no longer exists."""
        self._storage = {w for w in self._storage if w.unwrapped is not None}

    __len__ = _WeakStorage.__len__
    __iter__ = _WeakStorage.__iter__
