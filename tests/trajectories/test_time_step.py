import numpy as np
import pytest
import tensorflow as tf

from policylib.specs import array_spec
from policylib.trajectories import time_step as ts


def test_step_type_constants_and_conversion():
    assert ts.StepType.FIRST.dtype == np.int32 and ts.StepType.FIRST.shape == ()
    assert ts.StepType(2) is ts.StepType.LAST
    with pytest.raises(ValueError, match="expected 0, 1 or 2"):
        ts.StepType(7)


def test_field_order_and_type_name():
    assert ts.TimeStep._fields == ("step_type", "reward", "discount", "observation")
    assert ts.TimeStep.__name__ == "TimeStep"


def test_restart_numpy_unbatched_and_repr():
    step = ts.restart(np.array([1.0, 2.0], np.float32))
    assert step.is_first()
    assert repr(step) == (
        "TimeStep(\n{'step_type': array(0, dtype=int32),\n 'reward': array(0., dtype=float32),\n"
        " 'discount': array(1., dtype=float32),\n 'observation': array([1., 2.], dtype=float32)})"
    )


def test_restart_batched_with_reward_spec():
    reward_spec = [array_spec.ArraySpec((2,), np.float16)]
    step = ts.restart(np.zeros((3, 1)), batch_size=3, reward_spec=reward_spec)
    np.testing.assert_array_equal(step.step_type, [0, 0, 0])
    assert step.reward[0].shape == (3, 2) and step.reward[0].dtype == np.float16
    np.testing.assert_array_equal(step.discount, [1.0, 1.0, 1.0])


def test_restart_tensor_with_vector_batch_size():
    step = ts.restart(tf.constant(1), batch_size=tf.constant([2]))
    assert step.step_type.shape == (2,)
    assert step.step_type.dtype == tf.int32


def test_transition_termination_truncation():
    mid = ts.transition(np.zeros((2, 1)), np.array([1.0, 2.0]), discount=0.5)
    np.testing.assert_array_equal(mid.step_type, [1, 1])
    np.testing.assert_array_equal(mid.discount, [0.5, 0.5])
    end = ts.termination(np.zeros(1), 3.0)
    assert end.is_last() and end.discount == 0.0
    cut = ts.truncation(tf.zeros([2, 1]), tf.constant([1.0, 1.0]), discount=0.9)
    np.testing.assert_allclose(cut.discount.numpy(), [0.9, 0.9])
    assert bool(tf.reduce_all(cut.is_last()))


def test_multi_reward_batch_shape_uses_leading_dim():
    reward = [np.zeros((2, 1)), np.zeros((2, 3))]
    step = ts.transition(np.zeros((2, 1)), reward)
    np.testing.assert_array_equal(step.step_type, [1, 1])


def test_none_reward_is_rejected():
    with pytest.raises(ValueError, match="reward is None"):
        ts.transition((1, 2), (None, None))


def test_time_step_spec_kinds():
    spec = ts.time_step_spec(array_spec.ArraySpec((2,), np.float32))
    assert spec.discount == array_spec.BoundedArraySpec((), np.float32, 0.0, 1.0)
    assert spec.step_type.name == "step_type"
    tspec = ts.time_step_spec(tf.TensorSpec((2,), tf.float32))
    assert tspec.reward == tf.TensorSpec((), tf.float32, "reward")
    with pytest.raises(TypeError, match="both be tensor specs"):
        ts.time_step_spec(
            tf.TensorSpec((2,), tf.float32), array_spec.ArraySpec((), np.float32)
        )
    assert ts.time_step_spec() == ts.TimeStep((), (), (), ())
