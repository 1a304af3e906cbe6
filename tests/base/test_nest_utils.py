import collections
import re

import numpy as np
import pytest
import tensorflow as tf

from policylib.base import nest_utils
from policylib.specs import array_spec

SPECS = {
    "a": tf.TensorSpec((2, 3), tf.float32),
    "b": [tf.TensorSpec((), tf.int32), tf.TensorSpec((4,), tf.float32)],
}


def _zeros(outer=()):
    return tf.nest.map_structure(
        lambda s: tf.zeros(list(outer) + s.shape.as_list(), s.dtype), SPECS
    )


def test_outer_rank_and_batch_detection():
    assert nest_utils.get_outer_rank(_zeros(), SPECS) == 0
    assert nest_utils.get_outer_rank(_zeros((5, 2)), SPECS) == 2
    assert nest_utils.is_batched_nested_tensors(_zeros((5,)), SPECS)
    assert not nest_utils.is_batched_nested_tensors(_zeros(), SPECS)
    np.testing.assert_array_equal(nest_utils.get_outer_shape(_zeros((7,)), SPECS), [7])


def test_mixed_batching_error_names_the_path():
    mixed = _zeros((5,))
    mixed["a"] = tf.zeros([2, 3])
    with pytest.raises(ValueError, match=r"a: \(2, 3\) vs. \(2, 3\)"):
        nest_utils.get_outer_rank(mixed, SPECS)


def test_dtype_mismatch_is_type_error_naming_path():
    wrong = _zeros((5,))
    wrong["b"][0] = tf.zeros([5], tf.int64)
    with pytest.raises(TypeError, match=r"b/0: int64 vs. int32"):
        nest_utils.is_batched_nested_tensors(wrong, SPECS)


def test_batch_and_unbatch_are_inverse():
    batched = nest_utils.batch_nested_tensors(_zeros(), SPECS)
    assert batched["a"].shape == (1, 2, 3)
    assert nest_utils.batch_nested_tensors(batched, SPECS)["a"].shape == (1, 2, 3)
    assert nest_utils.unbatch_nested_tensors(batched, SPECS)["a"].shape == (2, 3)


def test_split_stack_and_flatten_multi_batched():
    parts = nest_utils.split_nested_tensors(_zeros((6,)), SPECS, [1, 5])
    assert [p["a"].shape[0] for p in parts] == [1, 5]
    stacked = nest_utils.stack_nested_tensors(
        nest_utils.unstack_nested_tensors(_zeros((3,)), SPECS)
    )
    assert stacked["b"][1].shape == (3, 4)
    flat, outer = nest_utils.flatten_multi_batched_nested_tensors(_zeros((2, 3)), SPECS)
    assert flat["a"].shape == (6, 2, 3)
    np.testing.assert_array_equal(outer, [2, 3])


def test_where_broadcasts_condition():
    cond = tf.constant([True, False])
    out = nest_utils.where(cond, (tf.zeros([2, 3]),), (tf.ones([2, 3]),))
    np.testing.assert_array_equal(out[0].numpy(), [[0, 0, 0], [1, 1, 1]])
    with pytest.raises(ValueError, match="condition has rank 2"):
        nest_utils.where(tf.ones([2, 1], tf.bool), tf.zeros([2]), tf.zeros([2]))


def test_prune_extra_keys():
    Pair = collections.namedtuple("Pair", ["x", "y"])
    narrow = [Pair({"a": 1}, ()), {"c": 1}]
    wide = [Pair({"a": 1, "b": 2}, {"z": 0}), {"c": 3, "d": 4}]
    assert nest_utils.prune_extra_keys(narrow, wide) == [Pair({"a": 1}, ()), {"c": 3}]
    assert nest_utils.prune_extra_keys({"missing": 1}, {"a": 1}) == {"a": 1}
    ordered = nest_utils.prune_extra_keys(
        collections.OrderedDict(b=1, a=2), collections.OrderedDict(a=0, b=0, c=0)
    )
    assert list(ordered) == ["b", "a"]


def test_array_helpers():
    spec = {"x": array_spec.ArraySpec((2,), np.float32)}
    arrays = [{"x": np.full(2, i, np.float32)} for i in range(3)]
    stacked = nest_utils.stack_nested_arrays(arrays)
    assert nest_utils.get_outer_array_shape(stacked, spec) == (3,)
    unstacked = nest_utils.unstack_nested_arrays(stacked)
    np.testing.assert_array_equal(unstacked[2]["x"], [2, 2])
    flat_items = nest_utils.unstack_nested_arrays_into_flat_items(stacked)
    assert len(flat_items) == 3 and len(flat_items[0]) == 1
    assert nest_utils.batch_nested_array(arrays[0])["x"].shape == (1, 2)
    assert nest_utils.unbatch_nested_array(nest_utils.batch_nested_array(arrays[0]))[
        "x"
    ].shape == (2,)


def test_tile_batch_repeats_rows_in_place():
    tiled = nest_utils.tile_batch(tf.constant([[1, 2], [3, 4]]), 2)
    np.testing.assert_array_equal(tiled.numpy(), [[1, 2], [1, 2], [3, 4], [3, 4]])


def test_flatten_with_joined_paths_and_structure_errors():
    paths = [p for p, _ in nest_utils.flatten_with_joined_paths({"b": [1, 2], "a": 0})]
    assert paths == ["a", "b/0", "b/1"]
    with pytest.raises(
        ValueError,
        match=r"do not match:\n  first difference at the top level: a list of 2 vs a list "
        r"of 3\n  \[\., \.\]",
    ):
        nest_utils.assert_same_structure([1, 2], [1, 2, 3])


def test_inner_shape_check_names_offending_leaf():
    with pytest.raises(ValueError, match=r"b/1: float32\(5, 3\) vs. float32\(4,\)"):
        nest_utils.assert_matching_dtypes_and_inner_shapes(
            {
                "a": tf.zeros([5, 2, 3]),
                "b": [tf.zeros([5], tf.int32), tf.zeros([5, 3])],
            },
            SPECS,
            caller="test",
            tensors_name="tensors",
            specs_name="specs",
        )


def test_assert_value_spec():
    nest_utils.assert_value_spec(tf.TensorSpec((1,), tf.float32), "net")
    with pytest.raises(ValueError, match="multiple values"):
        nest_utils.assert_value_spec(tf.TensorSpec((3,), tf.float32), "net")


# The names TF-Agents' `utils.nest_utils` offers (and its tests reach); the
# module is split into `nest_structure`, `nest_checks` and `nest_batching`, and
# each must stay reachable from both import paths.
TF_AGENTS_NAMES = [
    "assert_matching_dtypes_and_inner_shapes",
    "assert_same_structure",
    "assert_tensors_matching_dtypes_and_shapes",
    "assert_value_spec",
    "batch_nested_array",
    "batch_nested_tensors",
    "fast_map_structure",
    "fast_map_structure_flatten",
    "flatten_and_check_shape_nested_specs",
    "flatten_multi_batched_nested_tensors",
    "flatten_with_joined_paths",
    "get_outer_array_shape",
    "get_outer_rank",
    "get_outer_shape",
    "has_tensors",
    "is_batched_nested_tensors",
    "prune_extra_keys",
    "remove_singleton_batch_spec_dim",
    "spec_shape",
    "split_nested_tensors",
    "stack_nested_arrays",
    "stack_nested_tensors",
    "tile_batch",
    "unbatch_nested_array",
    "unbatch_nested_tensors",
    "unbatch_nested_tensors_to_arrays",
    "unstack_nested_arrays",
    "unstack_nested_arrays_into_flat_items",
    "unstack_nested_tensors",
    "where",
]


def test_both_import_paths_offer_every_name():
    from policylib.base import nest_batching, nest_checks, nest_structure
    from policylib.utils import nest_utils as utils_nest_utils

    assert utils_nest_utils is nest_utils
    parts = (nest_structure, nest_checks, nest_batching)
    for name in TF_AGENTS_NAMES + list(nest_utils.__all__):
        value = getattr(nest_utils, name)
        assert any(getattr(part, name, None) is value for part in parts), name


def test_structure_errors_name_the_first_difference() -> None:
    from policylib.base import nest_structure

    spec = {"global": 1, "per_arm": 2}
    with pytest.raises(
        ValueError,
        match=re.escape(
            "first difference at observation: keys ['global'] vs ['global', 'per_arm'], "
            "missing ['per_arm']"
        ),
    ):
        nest_structure.assert_same_structure(
            {"observation": {"global": 1}}, {"observation": spec}
        )
    assert nest_structure.first_difference((1, (2, 3)), (1, (2,))) == (
        "1: a tuple of 2 vs a tuple of 1"
    )
    assert nest_structure.first_difference([1, {"a": 1}], [1, 5]) == (
        "1: a mapping with keys ['a'] vs a leaf"
    )
    assert nest_structure.first_difference({"a": 1}, {"a": 2}) is None
