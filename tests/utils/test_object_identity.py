from __future__ import annotations

import gc

import pytest
import tensorflow as tf

from policylib.utils import object_identity as oi


class _Thing:
    """A plain object that can be weakly referenced."""


def test_wrappers_compare_by_identity_not_equality():
    a, b = [1, 2], [1, 2]  # equal, unhashable, distinct
    assert oi._ObjectIdentityWrapper(a) == oi._ObjectIdentityWrapper(a)
    assert oi._ObjectIdentityWrapper(a) != oi._ObjectIdentityWrapper(b)
    assert hash(oi._ObjectIdentityWrapper(a)) == id(a)
    assert oi._ObjectIdentityWrapper(a) != None  # noqa: E711
    assert oi._ObjectIdentityWrapper(a).unwrapped is a


def test_comparing_a_wrapper_with_a_bare_object_names_the_type():
    wrapper = oi._ObjectIdentityWrapper("x")
    with pytest.raises(
        TypeError, match="expected another _ObjectIdentityWrapper, got str"
    ):
        _ = wrapper == "x"
    with pytest.raises(TypeError, match="got int"):
        _ = wrapper < 3


def test_tf_nest_sorts_dicts_keyed_by_wrappers():
    keys = [oi._ObjectIdentityWrapper(object()) for _ in range(3)]
    doubled = tf.nest.map_structure(lambda v: 2 * v, {k: i for i, k in enumerate(keys)})
    assert doubled == {k: 2 * i for i, k in enumerate(keys)}
    assert tf.nest.flatten({k: k for k in keys}) == sorted(keys)


def test_reference_derefs_and_hides_unwrapped():
    x = [1]
    ref = oi.Reference(x)
    assert ref.deref() is x
    assert ref == oi.Reference(x)
    assert ref != oi.Reference([1])
    with pytest.raises(AttributeError):
        _ = ref.unwrapped


def test_set_keeps_equal_but_distinct_unhashable_members():
    a, b, c = [0], [0], [0]
    s = oi.ObjectIdentitySet([a, b])
    assert len(s) == 2 and a in s and b in s and c not in s
    s.add(a)
    assert len(s) == 2
    s.update([c])
    assert c in s and len(s) == 3
    s.discard(b)
    s.discard(b)  # absent: no error, like set.discard
    assert b not in s and len(s) == 2
    s.clear()
    assert len(s) == 0 and list(s) == []


def test_set_operations_return_identity_sets():
    a, b, c = _Thing(), _Thing(), _Thing()
    s1, s2 = oi.ObjectIdentitySet([a, b]), oi.ObjectIdentitySet([b, c])

    diff = s1.difference(s2)
    assert isinstance(diff, oi.ObjectIdentitySet) and list(diff) == [a]
    both = s1.intersection([b, c])
    assert isinstance(both, oi.ObjectIdentitySet) and list(both) == [b]
    assert list(s1 & s2) == [b]
    assert set(map(id, s1 | s2)) == {id(a), id(b), id(c)}
    assert list(s1 - s2) == [a]
    assert oi.ObjectIdentitySet([a]) <= s1 and s1 <= s1 and not s1 <= s2
    assert s1 >= oi.ObjectIdentitySet([b])
    assert s1 == oi.ObjectIdentitySet([b, a])


def test_dictionary_matches_keys_by_identity():
    k1, k2 = [1], [1]
    d = oi.ObjectIdentityDictionary()
    d[k1] = "first"
    d[k2] = "second"
    assert len(d) == 2 and d[k1] == "first" and d[k2] == "second"
    assert list(d) == [k1, k2] or list(d) == [k2, k1]
    del d[k1]
    assert k1 not in d and list(d.items()) == [(k2, "second")]
    with pytest.raises(KeyError) as raised:
        _ = d[k1]
    assert raised.value.args[0] is k1
    with pytest.raises(KeyError):
        del d[k1]


def test_weak_set_drops_collected_members():
    kept, dropped = _Thing(), _Thing()
    s = oi.ObjectIdentityWeakSet([kept, dropped])
    assert len(s) == 2
    del dropped
    gc.collect()
    assert len(s) == 1 and list(s) == [kept]
    # Set operations keep the weak semantics.
    assert isinstance(s.intersection([kept]), oi.ObjectIdentityWeakSet)
    assert kept in s.intersection([kept])


def test_weak_key_dictionary_drops_collected_keys():
    kept, dropped = _Thing(), _Thing()
    d = oi.ObjectIdentityWeakKeyDictionary()
    d[kept] = 1
    d[dropped] = 2
    assert len(d) == 2
    del dropped
    gc.collect()
    assert len(d) == 1 and dict(d.items()) == {kept: 1}
    assert len(d._storage) == 1  # the dead entry is gone, not just hidden
