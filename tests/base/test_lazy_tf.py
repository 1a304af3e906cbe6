"""`lazy_tf`: dm-tree stands in for `tf.nest` exactly while TensorFlow is not loaded."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import tensorflow as tf

from policylib.base import lazy_tf, nest_checks, nest_utils
from policylib.trajectories import time_step as ts

Point = collections.namedtuple("Point", ["x", "y"])

STRUCTURES = [
    np.zeros(3),
    None,
    (),
    [1, (2, 3), {"b": 4, "a": [5, 6]}],
    {"z": Point(1, np.ones(2)), "a": (), "m": [None, 7]},
    collections.OrderedDict([("b", 1), ("a", 2)]),
    ts.TimeStep(
        np.int32(1), np.float32(0), np.float32(1), {"pos": np.zeros(2), "v": 3}
    ),
]


@pytest.fixture
def without_tf(monkeypatch):
    """Makes the helpers take their TensorFlow-free path in this process."""
    monkeypatch.setattr(lazy_tf, "_tf_nest", lambda: None)
    monkeypatch.setattr(lazy_tf, "_tf_path_nest", lambda: None)
    monkeypatch.setattr(nest_checks, "is_loaded", lambda: False)


def _same(a, b):
    tf.nest.assert_same_structure(a, b)
    for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b)):
        assert type(x) is type(y) and np.array_equal(x, y)


@pytest.mark.parametrize("structure", STRUCTURES, ids=range(len(STRUCTURES)))
def test_dm_tree_path_matches_tf_nest(structure, without_tf):
    nest = lazy_tf.nest
    ours, theirs = nest.flatten(structure), tf.nest.flatten(structure)
    assert len(ours) == len(theirs)
    assert all(a is b for a, b in zip(ours, theirs))
    double = lambda v: v if v is None else np.asarray(v) * 2  # noqa: E731
    _same(
        nest.map_structure(double, structure), tf.nest.map_structure(double, structure)
    )
    flat = tf.nest.flatten(structure)
    _same(
        nest.pack_sequence_as(structure, flat),
        tf.nest.pack_sequence_as(structure, flat),
    )
    assert nest.is_nested(structure) == tf.nest.is_nested(structure)
    nest.assert_same_structure(structure, structure)
    paths = [p for p, _ in nest_utils.flatten_with_joined_paths(structure)]
    assert paths == _tf_paths(structure)


def _tf_paths(structure):
    from tensorflow.python.util import nest

    return [p for p, _ in nest.flatten_with_joined_string_paths(structure)]


def test_dm_tree_path_raises_on_different_structures(without_tf):
    with pytest.raises((ValueError, TypeError)):
        lazy_tf.nest.assert_same_structure([1, 2], [1, [2]])
    with pytest.raises(ValueError, match="time_step.observation has shape"):
        nest_utils.assert_values_fit_specs(
            ts.TimeStep(np.int32(1), 0.0, 1.0, np.zeros(3)),
            ts.time_step_spec(_array_spec((4,))),
            "action: time_step",
        )


def _array_spec(shape):
    from policylib.specs import array_spec

    return array_spec.ArraySpec(shape, np.float32, "observation")


def test_is_tensor_without_asking_tensorflow_for_plain_values():
    for value in (np.zeros(2), np.float32(1), 1, 2.0, "s", (), [], {}, None):
        assert not lazy_tf.is_tensor(value)
    assert lazy_tf.is_tensor(tf.constant(1.0))
    assert lazy_tf.is_tensor(tf.SparseTensor([[0]], [1.0], [2]))


def test_lazy_module_imports_on_use_and_refuses_probes():
    module = lazy_tf._LazyModule("json")
    with pytest.raises(AttributeError):
        module.__wrapped__  # noqa: B018
    assert module.dumps([1]) == "[1]"
