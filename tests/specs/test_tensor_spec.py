import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts


def _nest():
    return {
        "obs": array_spec.ArraySpec((2, 3), np.float32, "obs"),
        "act": array_spec.BoundedArraySpec((2,), np.int32, [0, 1], 4, "act"),
        "flag": array_spec.ArraySpec((), np.bool_),
    }


def test_from_spec_and_back_keeps_bounds_and_names():
    tensors = tensor_spec.from_spec(_nest())
    assert type(tensors["act"]) is tensor_spec.BoundedTensorSpec
    assert tensors["act"].name == "act"
    np.testing.assert_array_equal(tensors["act"].minimum, [0, 1])
    assert type(tensors["obs"]) is tf.TensorSpec
    assert tensor_spec.to_array_spec(tensors) == _nest()


def test_from_spec_rejects_unknown_leaves():
    with pytest.raises(ValueError, match="No known conversion"):
        tensor_spec.from_spec({"a": 3})


def test_bounded_tensor_spec_is_tensorflows_class():
    from tensorflow.python.framework import tensor_spec as tf_tensor_spec

    assert tensor_spec.BoundedTensorSpec is tf_tensor_spec.BoundedTensorSpec
    assert tensor_spec.TensorSpec is tf.TensorSpec


def test_sample_spec_nest_is_bounded_and_seeded():
    spec = {
        "i": tensor_spec.BoundedTensorSpec((100,), tf.int32, 3, 5),
        "u8": tensor_spec.BoundedTensorSpec((100,), tf.uint8, 0, 255),
        "f": tensor_spec.BoundedTensorSpec((100,), tf.float32, -1.0, [2.0] * 100),
        "per_elem": tensor_spec.BoundedTensorSpec((2,), tf.int64, [0, 10], [1, 12]),
        "free": tf.TensorSpec((3,), tf.float64),
        "b": tf.TensorSpec((4,), tf.bool),
    }
    # TF's seed semantics: global seed + op seed make a run repeatable.
    tf.random.set_seed(1)
    a = tensor_spec.sample_spec_nest(spec, seed=7, outer_dims=(50,))
    tf.random.set_seed(1)
    b = tensor_spec.sample_spec_nest(spec, seed=7, outer_dims=(50,))
    for key in spec:
        np.testing.assert_array_equal(a[key].numpy(), b[key].numpy())
    assert a["i"].shape == (50, 100)
    assert set(np.unique(a["i"].numpy())) == {3, 4, 5}
    assert a["u8"].numpy().max() <= 255
    assert np.all(a["f"].numpy() >= -1.0) and np.all(a["f"].numpy() <= 2.0)
    per = a["per_elem"].numpy()
    assert np.all(
        (per[:, 0] >= 0) & (per[:, 0] <= 1) & (per[:, 1] >= 10) & (per[:, 1] <= 12)
    )
    assert np.all(np.isfinite(a["free"].numpy()))
    assert a["b"].dtype == tf.bool


def test_seeded_sample_matches_tf_agents_draws():
    """A seed draws what TF-Agents 0.19 draws for it (values recorded there).

    TF-Agents' saved Q-RNN TFLite test relies on it: its draw makes every step a
    FIRST step, so the LSTM state (sampled near float32's limit, where TFLite's
    float kernels overflow to NaN) is reset before use.
    """
    bounded = tensor_spec.BoundedTensorSpec
    step_spec = ts.TimeStep(
        bounded((), tf.int32, 0, 2, name="st"),
        bounded((), tf.float32, 0.0, 5.0, name="reward"),
        bounded((), tf.float32, 0.0, 1.0, name="discount"),
        bounded((4,), tf.float32, -10.0, 10.0, name="obs"),
    )
    state_spec = [tf.TensorSpec((40,), tf.float32)] * 2
    with tf.compat.v1.Graph().as_default():
        tf.compat.v1.set_random_seed(12345)
        sample = tensor_spec.sample_spec_nest(
            (step_spec, state_spec), outer_dims=(3,), seed=4
        )
        with tf.compat.v1.Session() as session:
            steps, state = session.run((sample[0].step_type, sample[1][0]))
    np.testing.assert_array_equal(steps, [0, 0, 0])
    np.testing.assert_allclose(
        state[:, :3],
        [
            [1.4358889e37, -3.0608174e37, 1.2552040e37],
            [-3.6251671e37, 2.8457607e37, 6.9855839e36],
            [3.2696895e37, -3.9619230e37, -4.0997096e37],
        ],
        rtol=1e-6,
    )


def test_sample_with_tensor_outer_dims_and_extra_bounds():
    spec = tf.TensorSpec((2,), tf.float32)
    sample = tensor_spec.sample_spec_nest(
        spec, outer_dims=tf.constant([3, 4]), minimum=-0.5, maximum=0.5
    )
    assert sample.shape == (3, 4, 2)
    assert np.all(np.abs(sample.numpy()) <= 0.5)


def test_zero_spec_nest_and_unsupported_specs():
    zeros = tensor_spec.zero_spec_nest(
        {"a": tf.TensorSpec((2,), tf.int32)}, outer_dims=[3]
    )
    assert zeros["a"].shape == (3, 2)
    with pytest.raises(NotImplementedError, match="not supported.*Sparse"):
        tensor_spec.zero_spec_nest(tf.SparseTensorSpec([2], tf.float32))


def test_outer_dims_helpers():
    spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, 0, 1, name="a")
    batched = tensor_spec.add_outer_dims_nest([spec], (4,))
    assert batched[0].shape == (4, 2) and batched[0].name == "a"
    assert tensor_spec.remove_outer_dims_nest(batched, 1) == [spec]
    assert tensor_spec.add_outer_dim(spec).shape.as_list() == [None, 2]
    with pytest.raises(ValueError, match="tuple or list"):
        tensor_spec.add_outer_dims_nest(spec, 4)
    with pytest.raises(ValueError, match="rank is 1"):
        tensor_spec.remove_outer_dims_nest(spec, 2)
    assert tensor_spec.with_dtype(spec, tf.float64).dtype == tf.float64


def test_pbtxt_round_trip(tmp_path):
    spec = ts.time_step_spec({"pos": tf.TensorSpec((2,), tf.float32, "pos")})
    path = str(tmp_path / "sub" / "spec.pbtxt")
    tensor_spec.to_pbtxt_file(path, spec)
    restored = tensor_spec.from_pbtxt_file(path)
    assert type(restored).__name__ == "TimeStep"
    assert restored.observation["pos"] == spec.observation["pos"]
    assert restored.discount == spec.discount


def test_kind_predicates_on_tensor_specs():
    assert tensor_spec.is_discrete(tf.TensorSpec((), tf.int64))
    assert tensor_spec.is_continuous(tf.TensorSpec((), tf.float32))
    assert tensor_spec.is_bounded(tensor_spec.BoundedTensorSpec((), tf.float32, 0, 1))
    assert not tensor_spec.is_bounded(tf.TensorSpec((), tf.float32))
