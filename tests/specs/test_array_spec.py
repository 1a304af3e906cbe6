import pickle

import numpy as np
import pytest

from policylib.specs import array_spec


def test_array_spec_repr_and_properties():
    spec = array_spec.ArraySpec([2, 3], np.float32, name="obs")
    assert spec.shape == (2, 3)
    assert spec.dtype == np.float32
    assert repr(spec) == "ArraySpec(shape=(2, 3), dtype=dtype('float32'), name='obs')"


def test_equality_ignores_name_and_is_unhashable():
    a = array_spec.ArraySpec((2,), np.int32, "a")
    b = array_spec.ArraySpec((2,), np.int32, "b")
    assert a == b
    assert a != array_spec.ArraySpec((2,), np.int64)
    assert a != None  # noqa: E711
    with pytest.raises(TypeError):
        hash(a)


def test_plain_and_bounded_specs_never_compare_equal():
    plain = array_spec.ArraySpec((2,), np.int32)
    bounded = array_spec.BoundedArraySpec((2,), np.int32, 0, 1)
    assert plain != bounded
    assert bounded != plain


def test_bad_shape_and_dtype_raise_type_error():
    with pytest.raises(TypeError):
        array_spec.ArraySpec(3, np.int32)
    with pytest.raises(TypeError):
        array_spec.ArraySpec((3,), "not-a-dtype")


def test_check_array_scalars_and_arrays():
    spec = array_spec.ArraySpec((), np.float64)
    assert spec.check_array(1.5)
    assert not spec.check_array(1)
    assert array_spec.ArraySpec((2,), np.int64).check_array(np.array([1, 2]))
    assert not array_spec.ArraySpec((2,), np.int64).check_array([1, 2])


def test_from_array_and_replace():
    spec = array_spec.ArraySpec.from_array(np.zeros((3, 1), np.uint8), "img")
    assert spec == array_spec.ArraySpec((3, 1), np.uint8)
    assert spec.replace(shape=(4,)).shape == (4,)
    with pytest.raises(ValueError, match="NumPy array or a number"):
        array_spec.ArraySpec.from_array("text")


def test_bounded_spec_repr_and_default_bounds():
    spec = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)
    assert repr(spec) == (
        "BoundedArraySpec(shape=(2,), dtype=dtype('int32'), name=None, minimum=-10, maximum=10)"
    )
    unbounded = array_spec.BoundedArraySpec((1,), np.int8)
    assert unbounded.minimum == -128 and unbounded.maximum == 127


def test_bounds_are_read_only_and_infinite_float_bounds_become_finite():
    spec = array_spec.BoundedArraySpec((2,), np.float32, [-np.inf, 0.0], np.inf)
    assert np.all(np.isfinite(spec.minimum)) and np.all(np.isfinite(spec.maximum))
    assert spec.minimum[1] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        spec.minimum[0] = 1.0


def test_min_greater_than_max_names_spec_and_values():
    with pytest.raises(
        ValueError, match=r"'act'.*min has values greater than max.*\[3, 0\]"
    ):
        array_spec.BoundedArraySpec((2,), np.int32, [3, 0], [1, 1], name="act")


def test_bounds_outside_dtype_are_rejected():
    with pytest.raises(ValueError, match="outside the range of dtype uint8"):
        array_spec.BoundedArraySpec((2,), np.uint8, -1, 3)
    with pytest.raises(ValueError, match="outside the range of dtype int8"):
        array_spec.BoundedArraySpec((), np.int8, 0, 300)


def test_bounds_must_broadcast_to_shape():
    with pytest.raises(ValueError, match="not compatible with the spec shape"):
        array_spec.BoundedArraySpec((3,), np.float32, [0.0, 1.0], 2.0)


def test_num_values():
    assert array_spec.BoundedArraySpec((), np.int32, 0, 9).num_values == 10
    assert array_spec.BoundedArraySpec((), np.float32, 0, 9).num_values is None
    np.testing.assert_array_equal(
        array_spec.BoundedArraySpec((2,), np.int32, [0, 1], 3).num_values, [4, 3]
    )


def test_pickle_round_trip():
    spec = array_spec.BoundedArraySpec((2,), np.int32, [0, 1], 5, name="a")
    restored = pickle.loads(pickle.dumps(spec))
    assert restored == spec and restored.name == "a"


@pytest.mark.parametrize(
    "dtype", [np.int8, np.int32, np.int64, np.uint8, np.float16, np.float32, np.float64]
)
def test_sampling_respects_bounds_and_is_seeded(dtype):
    spec = array_spec.BoundedArraySpec((50,), dtype, [0] * 25 + [3] * 25, 7)
    first = array_spec.sample_bounded_spec(spec, np.random.RandomState(3))
    second = array_spec.sample_bounded_spec(spec, np.random.RandomState(3))
    np.testing.assert_array_equal(first, second)
    assert first.dtype == dtype
    assert np.all(first[:25] >= 0) and np.all(first[25:] >= 3) and np.all(first <= 7)


def test_full_range_integer_sampling_includes_extremes_without_overflow():
    spec = array_spec.BoundedArraySpec((2000,), np.uint8)
    sample = array_spec.sample_bounded_spec(spec, np.random.RandomState(0))
    assert sample.min() == 0 and sample.max() == 255
    big = array_spec.BoundedArraySpec((10,), np.int64)
    assert (
        array_spec.sample_bounded_spec(big, np.random.RandomState(0)).dtype == np.int64
    )


def test_full_range_float64_sampling_is_finite():
    spec = array_spec.BoundedArraySpec.from_spec(
        array_spec.ArraySpec((100,), np.float64)
    )
    assert np.all(
        np.isfinite(array_spec.sample_bounded_spec(spec, np.random.RandomState(0)))
    )


def test_sample_spec_nest_with_outer_dims():
    spec = {
        "a": array_spec.ArraySpec((2,), np.float32),
        "b": [array_spec.BoundedArraySpec((), np.int32, 0, 2)],
    }
    sample = array_spec.sample_spec_nest(
        spec, np.random.RandomState(0), outer_dims=[4, 1]
    )
    assert sample["a"].shape == (4, 1, 2)
    assert sample["b"][0].shape == (4, 1)
    assert array_spec.check_arrays_nest(
        sample, array_spec.add_outer_dims_nest(spec, (4, 1))
    )


def test_assert_arrays_spec_nest_names_path_and_problem():
    spec = {"pos": array_spec.BoundedArraySpec((2,), np.int32, 0, 5)}
    with pytest.raises(ValueError, match=r"At 'pos'.*outside the bounds"):
        array_spec.assert_arrays_spec_nest({"pos": np.array([1, 9], np.int32)}, spec)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        array_spec.assert_arrays_spec_nest({"pos": np.zeros(3, np.int32)}, spec)
    with pytest.raises(TypeError):
        array_spec.assert_arrays_spec_nest(np.zeros(1), "not a spec")
    assert not array_spec.check_arrays_nest([np.zeros(2)], {"a": spec["pos"]})


def test_kind_predicates():
    assert array_spec.is_discrete(array_spec.ArraySpec((), np.int16))
    assert array_spec.is_continuous(array_spec.ArraySpec((), np.float16))
    assert array_spec.is_bounded(array_spec.BoundedArraySpec((), np.float32, 0, 1))
    assert not array_spec.is_bounded(array_spec.ArraySpec((), np.float32))
