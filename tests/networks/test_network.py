"""A user's Network subclass (Dense layers kept in a list) under the active Keras.

The suite runs once with Keras 3 and once with tf-keras (README, .ci/run), so
each test here covers both modes.
"""

import numpy as np
import pytest
import tensorflow as tf

from policylib.networks import network
from policylib.policies import actor_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32)
ACT = tensor_spec.BoundedTensorSpec((3,), tf.float32, minimum=-1, maximum=1)


class ListOfDenseNet(network.Network):
    """The tutorial's pattern: sublayers in a Python list, `call` without `training`."""

    def __init__(self, input_tensor_spec, output_tensor_spec, hidden=8):
        super().__init__(
            input_tensor_spec=input_tensor_spec, state_spec=(), name="ListOfDense"
        )
        self._output_tensor_spec = output_tensor_spec
        self._sub_layers = [
            tf.keras.layers.Dense(hidden, activation=tf.nn.relu),
            tf.keras.layers.Dense(
                output_tensor_spec.shape.num_elements(), activation=tf.nn.tanh
            ),
        ]

    def call(self, observations, step_type, network_state):
        del step_type
        output = tf.cast(observations, tf.float32)
        for layer in self._sub_layers:
            output = layer(output)
        return tf.reshape(
            output, [-1] + self._output_tensor_spec.shape.as_list()
        ), network_state


def _policy(seed):
    tf.keras.utils.set_random_seed(seed)
    return actor_policy.ActorPolicy(
        ts.time_step_spec(OBS), ACT, ListOfDenseNet(OBS, ACT)
    )


def _values(policy):
    return [v.numpy().copy() for v in policy.variables()]


def test_variables_are_found():
    policy = _policy(0)
    variables = policy.variables()
    assert len(variables) == 4  # two kernels, two biases
    assert all(isinstance(v, tf.Variable) for v in variables)
    assert sorted(tuple(v.shape) for v in variables) == [(3,), (4, 8), (8,), (8, 3)]
    assert len(policy._actor_network.trainable_variables) == 4


def test_update_with_tau_moves_variables_half_way():
    target, source = _policy(0), _policy(1)
    before, other = _values(target), _values(source)
    assert any(not np.allclose(a, b) for a, b in zip(before, other))
    target.update(source, tau=0.5)
    for new, old, src in zip(_values(target), before, other):
        np.testing.assert_allclose(new, 0.5 * old + 0.5 * src, rtol=1e-6)
    target.update(source, tau=1.0)
    for new, src in zip(_values(target), other):
        np.testing.assert_allclose(new, src)


def test_checkpoint_round_trip_restores_weights(tmp_path):
    policy = _policy(0)
    time_step = ts.restart(tf.ones([2, 4]), batch_size=2)
    saved_action = policy.action(time_step).action.numpy()
    saved = _values(policy)
    path = tf.train.Checkpoint(policy=policy).save(str(tmp_path / "ckpt"))
    names = [name for name, _ in tf.train.list_variables(path)]
    assert sum("VARIABLE_VALUE" in n and "save_counter" not in n for n in names) >= 4
    for variable in policy.variables():
        variable.assign(tf.zeros_like(variable))
    assert not np.allclose(policy.action(time_step).action.numpy(), saved_action)
    tf.train.Checkpoint(policy=policy).restore(path).assert_existing_objects_matched()
    for new, old in zip(_values(policy), saved):
        np.testing.assert_array_equal(new, old)
    np.testing.assert_allclose(policy.action(time_step).action.numpy(), saved_action)


def test_restore_into_a_fresh_policy(tmp_path):
    path = tf.train.Checkpoint(policy=_policy(0)).save(str(tmp_path / "ckpt"))
    fresh = _policy(1)
    tf.train.Checkpoint(policy=fresh).restore(path).assert_existing_objects_matched()
    for new, old in zip(_values(fresh), _values(_policy(0))):
        np.testing.assert_array_equal(new, old)


def test_create_variables_returns_unbatched_output_spec_and_copy_is_unbuilt():
    net = ListOfDenseNet(OBS, ACT)
    with pytest.raises(ValueError, match="not been built"):
        _ = net.variables
    assert net.create_variables() == tf.TensorSpec((3,), tf.float32)
    copy = net.copy(hidden=5)
    assert isinstance(copy, ListOfDenseNet) and not copy.built
    copy.create_variables()
    assert sorted(tuple(v.shape) for v in copy.variables)[1] == (4, 5)


def test_inputs_are_checked_against_the_spec():
    net = ListOfDenseNet(OBS, ACT)
    with pytest.raises(ValueError, match="input_tensor_spec"):
        net(tf.ones([2, 5]), step_type=None, network_state=())


def test_call_without_training_argument_accepts_policy_keywords():
    net = ListOfDenseNet(OBS, ACT)
    outputs, state = net(
        tf.ones([2, 4]), step_type=None, network_state=(), training=True
    )
    assert outputs.shape == (2, 3) and state == ()


def test_an_action_mask_is_not_attached_to_outputs_as_a_keras_mask() -> None:
    """Keras 3 would set the `mask=` argument on every output leaf (None ones fail)."""
    from policylib.networks import network as network_lib

    class PassMask(network_lib.Network):
        def call(
            self,
            observation,
            step_type=None,
            network_state=(),
            training=False,
            mask=None,
        ):
            return (observation, None), network_state

    out, _ = PassMask()(tf.ones((2, 3)), mask=tf.ones((2, 4), tf.int32))
    assert out[1] is None
    assert getattr(out[0], "_keras_mask", None) is None
