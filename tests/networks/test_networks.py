"""The standard networks: shapes, distributions, recurrent state and masks."""

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.distributions import utils as distribution_utils
from policylib.networks import (
    actor_distribution_network,
    actor_distribution_rnn_network,
    categorical_q_network,
    encoding_network,
    network,
    q_network,
    q_rnn_network,
    sequential,
    value_network,
)
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32)
DISCRETE = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
CONTINUOUS = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1.0, 1.0)


def test_q_network_outputs_one_value_per_action_with_outer_dims():
    net = q_network.QNetwork(OBS, DISCRETE, fc_layer_params=(8,))
    assert net.create_variables() == tf.TensorSpec((3,), tf.float32)
    q, _ = net(tf.ones([2, 5, 4]))  # batch and time are squashed and restored
    assert q.shape == (2, 5, 3)
    assert len(net.variables) == 4


def test_encoding_network_with_dict_observation_and_combiner():
    spec = {
        "a": tensor_spec.TensorSpec((3,), tf.float32),
        "b": tensor_spec.TensorSpec((2,), tf.float32),
    }
    net = encoding_network.EncodingNetwork(
        spec,
        preprocessing_layers={
            "a": tf.keras.layers.Dense(4),
            "b": tf.keras.layers.Dense(4),
        },
        preprocessing_combiner=tf.keras.layers.Concatenate(axis=-1),
        fc_layer_params=(6,),
    )
    out, _ = net({"a": tf.ones([5, 3]), "b": tf.ones([5, 2])})
    assert out.shape == (5, 6)


def test_value_network_returns_one_value_per_entry():
    net = value_network.ValueNetwork(OBS, fc_layer_params=(8,))
    value, _ = net(tf.ones([3, 4]))
    assert value.shape == (3,)


def test_actor_distribution_network_emits_categorical_and_normal():
    net = actor_distribution_network.ActorDistributionNetwork(
        OBS, {"d": DISCRETE, "c": CONTINUOUS}, fc_layer_params=(8,)
    )
    spec = net.create_variables()
    assert isinstance(spec["c"], distribution_utils.DistributionSpecV2)
    dists, _ = net(tf.ones([2, 4]), step_type=None, network_state=())
    assert isinstance(dists["d"], tfp.distributions.Categorical)
    assert isinstance(dists["c"], tfp.distributions.MultivariateNormalDiag)
    # Initial std is 0.35 and means are tanh-squashed into the bounds.
    np.testing.assert_allclose(dists["c"].stddev().numpy(), 0.35, rtol=1e-5)
    assert np.all(np.abs(dists["c"].mean().numpy()) <= 1.0)


def test_actor_distribution_network_mask_excludes_actions():
    net = actor_distribution_network.ActorDistributionNetwork(
        OBS, DISCRETE, fc_layer_params=(8,)
    )
    mask = tf.constant([[1, 0, 1], [0, 1, 0]])
    dist, _ = net(tf.ones([2, 4]), step_type=None, network_state=(), mask=mask)
    probs = dist.probs_parameter().numpy()
    assert probs[0, 1] == 0 and probs[1, 0] == 0 and probs[1, 2] == 0


def test_categorical_q_network_shape():
    net = categorical_q_network.CategoricalQNetwork(
        OBS, DISCRETE, num_atoms=5, fc_layer_params=(8,)
    )
    logits, _ = net(tf.ones([2, 4]))
    assert logits.shape == (2, 3, 5) and net.num_atoms == 5


def test_q_rnn_network_resets_state_on_first_steps():
    net = q_rnn_network.QRnnNetwork(
        OBS,
        DISCRETE,
        input_fc_layer_params=(8,),
        lstm_size=(6,),
        output_fc_layer_params=(5,),
    )
    assert [s.name for s in net.state_spec] == ["network_state_0", "network_state_1"]
    state = net.get_initial_state(2)
    obs = tf.random.stateless_uniform([2, 4], seed=(1, 2))
    mid = tf.fill([2], ts.StepType.MID)
    _, state = net(obs, step_type=mid, network_state=state)
    q_carry, _ = net(obs, step_type=mid, network_state=state)
    first = tf.constant([ts.StepType.FIRST, ts.StepType.MID])
    q_reset, _ = net(obs, step_type=first, network_state=state)
    q_zero, _ = net(obs, step_type=mid, network_state=net.get_initial_state(2))
    np.testing.assert_allclose(q_reset[0], q_zero[0], rtol=1e-5)
    np.testing.assert_allclose(q_reset[1], q_carry[1], rtol=1e-5)


def test_rnn_over_time_matches_step_by_step():
    net = actor_distribution_rnn_network.ActorDistributionRnnNetwork(
        OBS,
        CONTINUOUS,
        input_fc_layer_params=(8,),
        lstm_size=(6,),
        output_fc_layer_params=(5,),
    )
    obs = tf.random.stateless_uniform([2, 3, 4], seed=(3, 4))
    step_type = tf.constant([[0, 1, 1], [0, 1, 1]])
    dist, final = net(obs, step_type=step_type, network_state=net.get_initial_state(2))
    state = net.get_initial_state(2)
    for t in range(3):
        step_dist, state = net(
            obs[:, t], step_type=step_type[:, t], network_state=state
        )
        np.testing.assert_allclose(
            step_dist.mean(), dist.mean()[:, t], rtol=1e-5, atol=1e-6
        )
    for a, b in zip(tf.nest.flatten(state), tf.nest.flatten(final)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_sequential_threads_lstm_state_and_create_variables():
    net = sequential.Sequential(
        [
            tf.keras.layers.Dense(4),
            tf.keras.layers.LSTM(3, return_state=True, return_sequences=True),
            tf.keras.layers.Dense(2),
        ],
        input_spec=OBS,
    )
    assert len(net.state_spec) == 1 and len(net.state_spec[0]) == 2
    assert net.create_variables() == tf.TensorSpec((2,), tf.float32)
    out, state = net(tf.ones([5, 4]), network_state=net.get_initial_state(5))
    assert out.shape == (5, 2) and state[0][0].shape == (5, 3)


def test_create_variables_for_keras_layers():
    spec = network.create_variables(
        tf.keras.layers.Dense(3), tf.TensorSpec((5,), tf.float32)
    )
    assert spec == tf.TensorSpec((3,), tf.float32)
    cell = tf.keras.layers.LSTMCell(3)
    assert network.create_variables(
        cell, tf.TensorSpec((5,), tf.float32)
    ) == tf.TensorSpec((3,), tf.float32)
    assert len(cell._network_state_spec) == 2


def test_input_only_sequential_combiner_selects_that_input():
    key = "feature_key"
    combiner = tf.keras.Sequential(
        [tf.keras.Input(shape=[5], dtype=tf.int32, name=key)]
    )
    spec = {key: tensor_spec.TensorSpec([5], tf.int32)}
    net = encoding_network.EncodingNetwork(spec, preprocessing_combiner=combiner)
    output, _ = net({key: tf.ones([3, 5], tf.int32)})
    assert output.shape == (3, 5)


def test_frozen_layers_are_not_trainable_variables():
    frozen = tf.keras.layers.Dense(2, trainable=False)
    net = sequential.Sequential([tf.keras.layers.Dense(3), frozen], input_spec=OBS)
    net.create_variables()
    assert len(net.variables) == 4 and len(net.trainable_variables) == 2
    net.trainable = False
    assert net.trainable_variables == [] and len(net.variables) == 4
    copy = net.copy()
    copy.create_variables()
    assert all(a is not b for a, b in zip(copy.variables, net.variables))


def test_batch_squash_round_trips_a_sparse_tensor():
    from policylib.networks import utils as network_utils

    dense = tf.reshape(tf.range(2 * 3 * 4, dtype=tf.float32), (2, 3, 4))
    squash = network_utils.BatchSquash(2)
    flat = squash.flatten(tf.sparse.from_dense(dense))
    assert isinstance(flat, tf.SparseTensor)
    assert flat.dense_shape.numpy().tolist() == [6, 4]
    back = tf.sparse.to_dense(squash.unflatten(flat))
    np.testing.assert_array_equal(back.numpy(), dense.numpy())
