"""Helpers for nests of tensors, arrays and specs (TF-Agents' `utils.nest_utils`).

One import path for three modules, split where the jobs differ:
`nest_structure` (structure assertions, path-aware maps, pruning of extra dict
keys), `nest_checks` (does a nest of values fit a nest of specs) and
`nest_batching` (counting, adding, removing, splitting and stacking outer
batch/time dims). Every name TF-Agents' `nest_utils` offers is here.
"""

from __future__ import annotations

from policylib.base.nest_batching import (
    batch_nested_array,
    batch_nested_tensors,
    flatten_multi_batched_nested_tensors,
    get_outer_array_shape,
    get_outer_rank,
    get_outer_shape,
    is_batched_nested_tensors,
    remove_singleton_batch_spec_dim,
    split_nested_tensors,
    stack_nested_arrays,
    stack_nested_tensors,
    tile_batch,
    unbatch_nested_array,
    unbatch_nested_tensors,
    unbatch_nested_tensors_to_arrays,
    unstack_nested_arrays,
    unstack_nested_arrays_into_flat_items,
    unstack_nested_tensors,
    where,
)
from policylib.base.nest_checks import (
    array_fit_checker,
    assert_matching_dtypes_and_inner_shapes,
    assert_tensors_matching_dtypes_and_shapes,
    assert_value_spec,
    assert_values_fit_specs,
    flatten_and_check_shape_nested_specs,
    spec_shape,
)
from policylib.base.nest_structure import (
    assert_same_structure,
    assert_shallow_structure,
    fast_map_structure,
    fast_map_structure_flatten,
    flatten_up_to,
    flatten_with_joined_paths,
    has_tensors,
    is_nested,
    map_structure_up_to,
    map_structure_with_paths,
    prune_extra_keys,
)

__all__ = [
    "array_fit_checker",
    "assert_matching_dtypes_and_inner_shapes",
    "assert_same_structure",
    "assert_shallow_structure",
    "flatten_up_to",
    "map_structure_with_paths",
    "assert_tensors_matching_dtypes_and_shapes",
    "assert_value_spec",
    "assert_values_fit_specs",
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
    "is_nested",
    "map_structure_up_to",
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
