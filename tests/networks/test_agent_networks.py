"""The networks actor-critic and PPO agents build on: MaskSplitterNetwork, the
DDPG critics, Sequential copies with Lambda layers, NestMap outputs."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.ddpg import critic_network, critic_rnn_network
from policylib.networks import mask_splitter_network, nest_map, q_network, sequential
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec([3], tf.float32)
ACT = tensor_spec.BoundedTensorSpec([2], tf.float32, -1.0, 1.0)


def test_mask_splitter_feeds_the_wrapped_network_without_the_mask() -> None:
    action = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 2)
    full = {"obs": OBS, "mask": tensor_spec.TensorSpec([3], tf.int32)}
    inner = q_network.QNetwork(OBS, action, fc_layer_params=(4,))
    net = mask_splitter_network.MaskSplitterNetwork(
        lambda o: (o["obs"], o["mask"]), inner, input_tensor_spec=full
    )
    net.create_variables()
    observation = {"obs": tf.ones([2, 3]), "mask": tf.ones([2, 3], tf.int32)}
    q_values, _ = net(observation)
    expected, _ = inner(observation["obs"])
    np.testing.assert_array_equal(q_values.numpy(), expected.numpy())
    copy = net.copy()
    assert copy._wrapped_network is not inner
    with pytest.raises(ValueError):
        mask_splitter_network.MaskSplitterNetwork(
            lambda o: (o["mask"], o["obs"]),
            q_network.QNetwork(OBS, action),
            input_tensor_spec={
                "obs": OBS,
                "mask": tensor_spec.TensorSpec([5], tf.int32),
            },
        )


def test_critics_emit_one_value_per_row_and_step() -> None:
    critic = critic_network.CriticNetwork((OBS, ACT), joint_fc_layer_params=(4,))
    q, _ = critic((tf.ones([5, 3]), tf.ones([5, 2])))
    assert q.shape == (5,)
    rnn = critic_rnn_network.CriticRnnNetwork((OBS, ACT), lstm_size=(3,))
    state = rnn.get_initial_state(5)
    step_type = tf.fill([5, 4], ts.StepType.MID)
    q_seq, new_state = rnn(
        (tf.ones([5, 4, 3]), tf.ones([5, 4, 2])),
        step_type=step_type,
        network_state=state,
    )
    assert q_seq.shape == (5, 4)
    assert [s.shape for s in tf.nest.flatten(new_state)] == [(5, 3), (5, 3)]
    with pytest.raises(ValueError, match="Only a single action"):
        critic_network.CriticNetwork((OBS, [ACT, ACT]))
    with pytest.raises(ValueError, match="pair"):
        critic_network.CriticNetwork(OBS)


def test_sequential_copies_a_lambda_and_a_nest_map() -> None:
    def total(pair):
        return pair[0] + pair[1]

    net = sequential.Sequential(
        [
            nest_map.NestMap((tf.keras.layers.Dense(2), tf.keras.layers.Dense(2))),
            tf.keras.layers.Lambda(total),
        ],
        input_spec=(OBS, ACT),
    )
    copy = net.copy()
    for network in (net, copy):
        output, _ = network((tf.ones([1, 3]), tf.ones([1, 2])))
        assert output.shape == (1, 2)
    assert not {id(v) for v in net.variables} & {id(v) for v in copy.variables}


def test_summary_lists_layers_and_parameter_totals() -> None:
    from policylib.networks import layer_utils

    action = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 2)
    net = q_network.QNetwork(OBS, action, fc_layer_params=(8,))
    with pytest.raises(ValueError, match="has not been built"):
        net.summary()
    net.create_variables()
    lines: list[str] = []
    net.summary(print_fn=lines.append)
    assert lines[0] == 'Model: "QNetwork"'
    assert "Total params: 59 (236.00 Byte)" in lines  # 3*8+8 + 8*3+3
    nested: list[str] = []
    layer_utils.print_summary(
        net, print_fn=nested.append, expand_nested=True, show_trainable=True
    )
    assert any(line.startswith("| ") and "Dense" in line for line in nested)
    with pytest.raises(ValueError, match="do not match"):
        layer_utils.print_summary(net, layer_range=("nothing", "here"))
