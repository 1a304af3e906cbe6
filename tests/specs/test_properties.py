"""Property tests (hypothesis, derandomized): specs round-trip, samples fit, batching inverts."""

import os
import tempfile

import numpy as np
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policylib.base import nest_utils
from policylib.policies import random_py_policy
from policylib.specs import array_spec, tensor_spec

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,  # the same examples every run
    suppress_health_check=[HealthCheck.too_slow],
)
DTYPES = [np.float32, np.float64, np.int32, np.int64, np.uint8, np.int8, np.bool_]
NAMES = st.text("abcdefgh", min_size=1, max_size=4)
SHAPES = st.lists(st.integers(1, 3), max_size=3).map(tuple)


@st.composite
def leaf_specs(draw):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(SHAPES)
    name = draw(st.none() | NAMES)
    if dtype is np.bool_ or not draw(st.booleans()):
        return array_spec.ArraySpec(shape, dtype, name=name)
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        low = draw(st.integers(max(int(info.min), -1000), min(int(info.max), 1000)))
        high = draw(st.integers(low, min(int(info.max), low + 1000)))
    else:
        low = draw(st.integers(-4000, 4000)) / 4  # exact in float32
        high = low + draw(st.integers(0, 4000)) / 4
    return array_spec.BoundedArraySpec(
        shape, dtype, minimum=low, maximum=high, name=name
    )


def nests(leaves):
    return st.recursive(
        leaves,
        lambda children: (
            st.lists(children, min_size=1, max_size=3).map(tuple)
            | st.dictionaries(NAMES, children, min_size=1, max_size=3)
        ),
        max_leaves=6,
    )


SPEC_NESTS = nests(leaf_specs())


def _same(a, b):
    tf.nest.assert_same_structure(a, b)
    for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b)):
        assert type(x) is type(y) and x == y, (x, y)


@SETTINGS
@given(SPEC_NESTS)
def test_array_and_tensor_specs_round_trip(spec):
    as_tensor = tensor_spec.from_spec(spec)
    _same(tensor_spec.to_nest_array_spec(as_tensor), spec)


@SETTINGS
@given(SPEC_NESTS)
def test_pbtxt_round_trip(spec):
    as_tensor = tensor_spec.from_spec(spec)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "spec.pbtxt")
        tensor_spec.to_pbtxt_file(path, as_tensor)
        _same(tensor_spec.from_pbtxt_file(path), as_tensor)


@SETTINGS
@given(SPEC_NESTS, st.integers(0, 2**31 - 1), st.lists(st.integers(1, 3), max_size=2))
def test_samples_fit_their_specs(spec, seed, outer):
    samples = array_spec.sample_spec_nest(
        spec, np.random.RandomState(seed), outer_dims=outer
    )
    batched = array_spec.add_outer_dims_nest(spec, outer) if outer else spec
    assert array_spec.check_arrays_nest(samples, batched)
    tf_samples = tensor_spec.sample_spec_nest(
        tensor_spec.from_spec(spec), seed=seed, outer_dims=outer
    )
    for value, leaf in zip(tf.nest.flatten(tf_samples), tf.nest.flatten(spec)):
        value = value.numpy()
        assert value.dtype == leaf.dtype and value.shape == tuple(outer) + leaf.shape
        if isinstance(leaf, array_spec.BoundedArraySpec):
            assert np.all(value >= leaf.minimum) and np.all(value <= leaf.maximum)


@SETTINGS
@given(SPEC_NESTS, st.integers(0, 2**31 - 1), st.integers(1, 4))
def test_batching_and_unbatching_invert(spec, seed, batch):
    rng = np.random.RandomState(seed)
    one = array_spec.sample_spec_nest(spec, rng)
    _same_arrays(
        nest_utils.unbatch_nested_array(nest_utils.batch_nested_array(one)), one
    )
    many = [array_spec.sample_spec_nest(spec, rng) for _ in range(batch)]
    stacked = nest_utils.stack_nested_arrays(many)
    for back, original in zip(nest_utils.unstack_nested_arrays(stacked), many):
        _same_arrays(back, original)


def _same_arrays(a, b):
    tf.nest.assert_same_structure(a, b)
    for x, y in zip(tf.nest.flatten(a), tf.nest.flatten(b)):
        assert np.asarray(x).dtype == np.asarray(y).dtype
        np.testing.assert_array_equal(x, y)


BOUNDED_NESTS = nests(
    leaf_specs().filter(lambda s: isinstance(s, array_spec.BoundedArraySpec))
)


@SETTINGS
@given(BOUNDED_NESTS, st.integers(0, 2**31 - 1), st.none() | st.integers(1, 3))
def test_random_policy_actions_fit_the_action_spec(spec, seed, batch):
    policy = random_py_policy.RandomPyPolicy(
        time_step_spec=None,
        action_spec=spec,
        seed=seed,
        outer_dims=(batch,) if batch else (),
    )
    for _ in range(3):
        action = policy.action(None).action
        expected = array_spec.add_outer_dims_nest(spec, (batch,)) if batch else spec
        assert array_spec.check_arrays_nest(action, expected)
