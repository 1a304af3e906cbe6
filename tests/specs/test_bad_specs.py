"""Spec constructors and helpers name the argument that is wrong."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

FLOAT = array_spec.ArraySpec((2,), np.float32)
CASES = {
    "ArraySpec shape string": (
        lambda: array_spec.ArraySpec("abc", np.float32),
        TypeError,
        r"ArraySpec: shape must be a sequence of dims, e\.g\. \(4,\) or \(\), got 'abc'",
    ),
    "ArraySpec shape None": (
        lambda: array_spec.ArraySpec(None, np.float32),
        TypeError,
        "shape must be a sequence of dims",
    ),
    "ArraySpec negative dim": (
        lambda: array_spec.ArraySpec((-2,), np.float32),
        ValueError,
        r"shape \(-2,\) has a negative dim -2",
    ),
    "ArraySpec float dim": (
        lambda: array_spec.ArraySpec((2.5,), np.float32),
        TypeError,
        r"has a dim 2\.5 that is not an int",
    ),
    "ArraySpec unknown dtype": (
        lambda: array_spec.ArraySpec((2,), "bogus"),
        TypeError,
        "ArraySpec: dtype 'bogus' is not a dtype",
    ),
    "BoundedArraySpec min > max": (
        lambda: array_spec.BoundedArraySpec((2,), np.float32, 1, 0, name="a"),
        ValueError,
        "BoundedArraySpec 'a': min has values greater than max",
    ),
    "BoundedArraySpec bound shape": (
        lambda: array_spec.BoundedArraySpec((2,), np.float32, [0, 0, 0], 1),
        ValueError,
        r"minimum \[0, 0, 0\] with shape \(3,\) is not compatible with the spec shape \(2,\)",
    ),
    "BoundedArraySpec NaN bound": (
        lambda: array_spec.BoundedArraySpec((2,), np.float32, np.nan, 1),
        ValueError,
        "minimum contains NaN",
    ),
    "BoundedArraySpec bound outside dtype": (
        lambda: array_spec.BoundedArraySpec((), np.uint8, -1, 3),
        ValueError,
        r"minimum -1 lies outside the range of dtype uint8",
    ),
    "BoundedArraySpec string bound": (
        lambda: array_spec.BoundedArraySpec((), np.float32, "a", 1),
        TypeError,
        "minimum must be a number or an array of numbers, got 'a'",
    ),
    "sample_bounded_spec unbounded": (
        lambda: array_spec.sample_bounded_spec(FLOAT, np.random.RandomState(0)),
        TypeError,
        "sample_bounded_spec needs a BoundedArraySpec",
    ),
    "array sample_spec_nest non-spec": (
        lambda: array_spec.sample_spec_nest({"a": 3}, np.random.RandomState(0)),
        TypeError,
        "sample_spec_nest expects ArraySpecs, got 3",
    ),
    "ArraySpec.from_array None": (
        lambda: array_spec.ArraySpec.from_array(None),
        ValueError,
        "from_array expects a NumPy array or a number, got NoneType",
    ),
    "from_spec non-spec leaf": (
        lambda: tensor_spec.from_spec({"a": FLOAT, "b": 3}),
        ValueError,
        r"No known conversion from 3 \(int\) to a TensorSpec",
    ),
    "to_array_spec non-spec": (
        lambda: tensor_spec.to_array_spec(3),
        TypeError,
        r"Cannot convert 3 \(int\) to an ArraySpec",
    ),
    "tensor sample_spec_nest non-spec": (
        lambda: tensor_spec.sample_spec_nest({"a": 3}),
        TypeError,
        "sample_spec_nest cannot sample 3",
    ),
    "tensor sample_spec_nest outer_dims": (
        lambda: tensor_spec.sample_spec_nest(
            tensor_spec.TensorSpec((2,), tf.float32), outer_dims="x"
        ),
        TypeError,
        "outer_dims must be a list or tuple of ints or an int tensor, got 'x'",
    ),
    "zero_spec_nest non-spec": (
        lambda: tensor_spec.zero_spec_nest({"a": 3}),
        NotImplementedError,
        "zero_spec_nest: spec type not supported: 3",
    ),
    "add_outer_dims_nest": (
        lambda: tensor_spec.add_outer_dims_nest(
            tensor_spec.TensorSpec((2,), tf.float32), "x"
        ),
        ValueError,
        "outer_dims must be a tuple or list of dims, got 'x'",
    ),
    "BoundedTensorSpec bound shape": (
        lambda: tensor_spec.BoundedTensorSpec((2,), tf.float32, [0, 0, 0], 1),
        ValueError,
        "is not compatible with shape",
    ),
    "time_step_spec non-spec": (
        lambda: ts.time_step_spec(3),
        TypeError,
        "observation_spec is 3; expected an ArraySpec",
    ),
    "time_step_spec mixed kinds": (
        lambda: ts.time_step_spec(
            {"a": tensor_spec.TensorSpec((1,), tf.float32), "b": FLOAT}
        ),
        TypeError,
        r"observation_spec\.b is ArraySpec.*; expected a TensorSpec \(like the other leaves\)",
    ),
    "time_step_spec reward not a spec": (
        lambda: ts.time_step_spec(tensor_spec.TensorSpec((1,), tf.float32), 3),
        TypeError,
        "reward_spec must be a nest of TensorSpecs or ArraySpecs, got 3",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_spec_argument_is_named(case):
    build, error, message = CASES[case]
    with pytest.raises(error, match=message):
        build()


def test_a_policy_refuses_a_bounded_tensor_spec_with_min_above_max():
    # TensorFlow's BoundedTensorSpec accepts it; a policy would clip to nothing.
    from policylib.policies import random_tf_policy

    spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, 1.0, 0.0)
    with pytest.raises(
        ValueError, match="action_spec has minimum greater than maximum"
    ):
        random_tf_policy.RandomTFPolicy(
            ts.time_step_spec(tensor_spec.TensorSpec((1,), tf.float32)), spec
        )
