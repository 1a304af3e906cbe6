"""DropoutThompsonSamplingAgent: it builds a reward network whose dropout stays
on when acting (so predictions and actions are random draws), places dropout
as asked, builds a heteroscedastic network on request, trains, and writes the
dropout rate as a summary."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import dropout_thompson_sampling_agent as dts_agent
from policylib.bandits.networks import heteroscedastic_q_network
from policylib.keras_layers import permanent_variable_rate_dropout
from policylib.networks import q_network
from policylib.policies import utils as policy_utilities
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from tests.bandits.agents.test_greedy_reward_prediction_agent import X, _experience

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)


def _agent(**kwargs):
    kwargs.setdefault("dropout_rate", 0.5)
    kwargs.setdefault("network_layers", (16, 16))
    tf.keras.utils.set_random_seed(0)
    return dts_agent.DropoutThompsonSamplingAgent(
        ts.time_step_spec(OBS),
        ACT,
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.01),
        train_step_counter=tf.Variable(0, dtype=tf.int64),
        **kwargs,
    )


def _dropout_layers(net):
    """The distinct permanent-dropout layers anywhere inside `net`."""
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(
            layer, permanent_variable_rate_dropout.PermanentVariableRateDropout
        ):
            found.append(layer)
        for child in getattr(layer, "layers", None) or []:
            visit(child)

    visit(net)
    return found


def test_acting_draws_from_the_dropout_posterior() -> None:
    agent = _agent(
        emit_policy_info=(policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,)
    )
    assert isinstance(agent._reward_network, q_network.QNetwork)
    time_step = ts.restart(tf.constant(np.repeat(X[:1], 200, axis=0)), 200)
    step = agent.policy.action(time_step)
    predictions = step.info.predicted_rewards_mean.numpy()
    assert not np.allclose(predictions[0], predictions[1])
    np.testing.assert_array_equal(step.action, np.argmax(predictions, axis=1))
    assert len(set(step.action.numpy())) > 1


def test_dropout_placement() -> None:
    top_only = _dropout_layers(_agent(network_layers=(8, 8, 8))._reward_network)
    everywhere = _dropout_layers(
        _agent(network_layers=(8, 8, 8), dropout_only_top_layer=False)._reward_network
    )
    assert (len(top_only), len(everywhere)) == (1, 3)
    assert all(layer.get_config()["permanent"] for layer in top_only + everywhere)


def test_heteroscedastic_agent_trains() -> None:
    agent = _agent(heteroscedastic=True, dropout_only_top_layer=False)
    assert isinstance(
        agent._reward_network, heteroscedastic_q_network.HeteroscedasticQNetwork
    )
    losses = [float(agent.train(_experience()).loss) for _ in range(3)]
    assert np.isfinite(losses).all()
    assert int(agent.train_step_counter) == 3


def test_dropout_rate_summary(tmp_path) -> None:
    agent = _agent(dropout_rate=lambda: 0.25)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        agent.train(_experience())
    writer.flush()
    values = {}
    for event_file in tmp_path.iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            for value in event.summary.value:
                values[value.tag] = tf.make_ndarray(value.tensor)
    assert float(values["dropout"]) == pytest.approx(0.25)
    assert "Losses/loss" in values


def test_needs_a_hidden_layer() -> None:
    with pytest.raises(ValueError, match="network_layers must list at least one"):
        _agent(network_layers=())
