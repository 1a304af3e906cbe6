"""CqlSacAgent on Keras 3 and tf-keras: the CQL term lowers Q off the dataset's
actions, the Lagrange variant steers `cql_alpha` by the gap, behavioural
cloning drives the actor first, `loss` changes nothing, the uniform proposals
respect per-dimension bounds, RNN networks train, summaries are written, and
bad arguments are refused by name."""

from __future__ import annotations

import glob

import numpy as np
import pytest
import tensorflow as tf

from policylib.agents.cql import cql_sac_agent
from policylib.agents.ddpg import critic_network, critic_rnn_network
from policylib.agents.sac import tanh_normal_projection_network
from policylib.networks import (
    actor_distribution_network,
    actor_distribution_rnn_network,
    network,
)
from policylib.policies import greedy_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common
from tests.agents.tracing import assert_train_traces_once

OBS = tensor_spec.TensorSpec([2], tf.float32, "observation")
ACT = tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0, name="action")
TIME_STEP = ts.time_step_spec(OBS)
STATE = np.float32([0.5, -0.5])


def _actor() -> network.Network:
    return actor_distribution_network.ActorDistributionNetwork(
        OBS,
        ACT,
        fc_layer_params=(8,),
        continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
    )


def _critic() -> network.Network:
    return critic_network.CriticNetwork(
        (OBS, ACT),
        joint_fc_layer_params=(16,),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )


def _agent(**kwargs) -> cql_sac_agent.CqlSacAgent:
    """A small seeded agent; `kwargs` override the defaults below."""
    tf.keras.utils.set_random_seed(0)
    options = dict(
        critic_network=_critic(),
        actor_network=_actor(),
        actor_optimizer=tf.keras.optimizers.Adam(1e-2),
        critic_optimizer=tf.keras.optimizers.Adam(1e-2),
        alpha_optimizer=tf.keras.optimizers.Adam(1e-2),
        cql_alpha=5.0,
        num_cql_samples=4,
        include_critic_entropy_term=False,
        use_lagrange_cql_alpha=False,
        random_seed=0,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    options.update(kwargs)
    return cql_sac_agent.CqlSacAgent(TIME_STEP, ACT, **options)


def _dataset(action: float, batch: int = 16) -> trajectory.Trajectory:
    """One-step episodes from one state, all taking `action`, all rewarded 1."""
    return trajectory.Trajectory(
        step_type=tf.constant([[ts.StepType.FIRST, ts.StepType.LAST]] * batch),
        observation=tf.constant(np.tile(STATE, (batch, 2, 1))),
        action=tf.fill([batch, 2, 1], action),
        policy_info=(),
        next_step_type=tf.constant([[ts.StepType.LAST, ts.StepType.FIRST]] * batch),
        reward=tf.constant([[1.0, 0.0]] * batch),
        discount=tf.constant([[0.0, 1.0]] * batch),
    )


def _q_values(agent, actions: np.ndarray) -> np.ndarray:
    """The first critic's Q at the dataset's state for each action."""
    count = len(actions)
    inputs = (
        tf.constant(np.tile(STATE, (count, 1))),
        tf.constant(actions[:, None], tf.float32),
    )
    return agent._critic_network_1(inputs, step_type=tf.zeros([count], tf.int32))[
        0
    ].numpy()


def _greedy_action(agent) -> float:
    policy = greedy_policy.GreedyPolicy(agent.policy)
    time_step = ts.restart(tf.constant(STATE[None]), batch_size=1)
    return float(policy.action(time_step).action.numpy()[0, 0])


def test_cql_lowers_q_of_unseen_actions_below_the_datasets() -> None:
    agent = _agent()
    agent.initialize()
    grid = np.linspace(-1.0, 1.0, 21, dtype=np.float32)
    seen = 15  # grid[15] == 0.5, the only action in the dataset
    before = _q_values(agent, grid)
    experience = _dataset(action=0.5)
    first = agent.loss(experience).extra.cql_loss
    # 30 steps under one trace; the CQL gap shrinks while it trains.
    assert_train_traces_once(agent, [experience] * 30)
    after = _q_values(agent, grid)

    def margin(q: np.ndarray) -> float:
        return float(q[seen] - np.delete(q, seen).mean())

    # TD learning alone (cql_alpha=0) takes this margin from 0.16 to about 0.4.
    assert margin(before) < 0.3
    assert margin(after) > 1.0
    assert float(agent.loss(experience).extra.cql_loss) < float(first)
    assert int(agent.train_step_counter) == 30


def test_lagrange_cql_alpha_shrinks_below_tau_and_grows_above_it() -> None:
    tau = tf.Variable(100.0)
    agent = _agent(
        cql_alpha=1.0,
        use_lagrange_cql_alpha=True,
        cql_alpha_learning_rate=0.1,
        cql_tau=tau,
    )
    agent.initialize()
    train = common.function(agent.train)
    experience = _dataset(action=0.5)
    below = [train(experience) for _ in range(4)]
    alphas_below = [float(info.extra.cql_alpha) for info in below]
    # The gap (a few units) is below tau: alpha falls at every step, and the
    # Lagrange loss -alpha * (gap - tau) is positive.
    assert alphas_below[0] == pytest.approx(1.0)
    assert np.all(np.diff(alphas_below) < 0)
    assert all(float(info.extra.cql_alpha_loss) > 0 for info in below)
    tau.assign(-100.0)
    above = [float(train(experience).extra.cql_alpha) for _ in range(12)]
    # Adam's momentum carries the fall on for a few steps, then alpha rises.
    assert np.all(np.diff(above[-6:]) > 0)
    assert above[-1] > alphas_below[-1]


def test_log_cql_alpha_is_clipped_and_a_fixed_alpha_is_read_each_step() -> None:
    clipped = _agent(
        cql_alpha=1.0, use_lagrange_cql_alpha=True, log_cql_alpha_clipping=(-0.5, 0.25)
    )
    clipped._log_cql_alpha.assign(3.0)
    assert float(clipped._get_cql_alpha()) == pytest.approx(np.exp(0.25))
    clipped._log_cql_alpha.assign(-3.0)
    assert float(clipped._get_cql_alpha()) == pytest.approx(np.exp(-0.5))

    cql_alpha = tf.Variable(2.0)
    fixed = _agent(cql_alpha=cql_alpha)
    experience = _dataset(action=0.5)
    info = fixed.train(experience)
    assert float(info.extra.cql_alpha) == 2.0
    assert float(info.extra.cql_alpha_loss) == 0.0
    cql_alpha.assign(3.0)
    assert float(fixed.train(experience).extra.cql_alpha) == 3.0


class _PrefersLargeActions(network.Network):
    """`Q(s, a) = 10 * a`: a critic whose best action is the upper bound."""

    def __init__(self, name: str = "PrefersLargeActions"):
        super().__init__(input_tensor_spec=(OBS, ACT), state_spec=(), name=name)
        self._slope = tf.keras.layers.Dense(
            1,
            kernel_initializer=tf.constant_initializer(10.0),
            bias_initializer="zeros",
        )

    def call(self, inputs, step_type=None, network_state=(), training=False):
        del step_type, training
        _, actions = inputs
        return tf.squeeze(self._slope(actions), -1), network_state


def test_behavioural_cloning_steps_then_the_critic_drives_the_actor() -> None:
    agent = _agent(
        critic_network=_PrefersLargeActions(),
        # The critic stays fixed, so only the actor's objective changes.
        critic_optimizer=tf.keras.optimizers.SGD(0.0),
        cql_alpha=0.0,
        num_bc_steps=40,
    )
    agent.initialize()
    train = common.function(agent.train)
    experience = _dataset(action=-0.6)
    for _ in range(40):
        train(experience)
    cloned = _greedy_action(agent)
    assert cloned == pytest.approx(-0.6, abs=0.15)
    for _ in range(40):
        train(experience)
    assert _greedy_action(agent) > cloned + 0.5
    with pytest.raises(ValueError, match="needs the dataset's `actions`"):
        agent.actor_loss(ts.restart(tf.constant(STATE[None]), batch_size=1))


def test_loss_changes_nothing_and_adds_up() -> None:
    agent = _agent(bc_debug_mode=True, use_lagrange_cql_alpha=True)
    agent.initialize()
    experience = _dataset(action=0.5)
    before = [v.numpy().copy() for v in agent.variables]
    info = agent.loss(experience)
    assert isinstance(info.extra, cql_sac_agent.CqlSacLossInfo)
    assert all(np.isfinite(float(x)) for x in info.extra)
    for old, new in zip(before, agent.variables):
        np.testing.assert_array_equal(old, new.numpy())
    assert int(agent.train_step_counter) == 0
    # bc_debug_mode: the critics' loss is the weighted CQL gap alone.
    extra = info.extra
    np.testing.assert_allclose(
        float(info.loss),
        float(extra.cql_alpha * extra.cql_loss + extra.actor_loss + extra.alpha_loss),
        rtol=1e-5,
    )
    assert float(extra.cql_alpha_loss) != 0.0


def test_uniform_proposals_span_each_dimensions_bounds() -> None:
    spec = tensor_spec.BoundedTensorSpec(
        [2], tf.float32, minimum=[-1.0, 0.0], maximum=[1.0, 4.0]
    )
    agent = cql_sac_agent.CqlSacAgent(
        TIME_STEP,
        spec,
        critic_network=critic_network.CriticNetwork(
            (OBS, spec), joint_fc_layer_params=(4,)
        ),
        actor_network=actor_distribution_network.ActorDistributionNetwork(
            OBS, spec, fc_layer_params=(4,)
        ),
        actor_optimizer=None,
        critic_optimizer=None,
        alpha_optimizer=None,
        cql_alpha=1.0,
        num_cql_samples=3,
        include_critic_entropy_term=True,
        use_lagrange_cql_alpha=False,
        random_seed=1,
    )
    actions, log_density = agent._uniform_actions(tf.constant([2000, 2]))
    actions = actions.numpy()
    assert actions.min(axis=0) == pytest.approx([-1.0, 0.0], abs=0.02)
    assert actions.max(axis=0) == pytest.approx([1.0, 4.0], abs=0.02)
    # The box has volume 2 * 4.
    assert float(log_density) == pytest.approx(-np.log(8.0))
    time_steps = ts.restart(tf.constant([[0.1, 0.2], [0.3, 0.4]]), batch_size=2)
    cql_loss = agent._cql_loss(time_steps, tf.constant([[0.0, 1.0], [0.5, 3.0]]))
    assert cql_loss.shape == () and np.isfinite(float(cql_loss))


def test_trains_recurrent_networks_on_sequences() -> None:
    tf.keras.utils.set_random_seed(0)
    agent = _agent(
        actor_network=actor_distribution_rnn_network.ActorDistributionRnnNetwork(
            OBS,
            ACT,
            input_fc_layer_params=None,
            output_fc_layer_params=None,
            lstm_size=(4,),
        ),
        critic_network=critic_rnn_network.CriticRnnNetwork(
            (OBS, ACT),
            observation_fc_layer_params=(4,),
            action_fc_layer_params=None,
            joint_fc_layer_params=(4,),
            lstm_size=(4,),
            output_fc_layer_params=None,
        ),
        num_cql_samples=2,
        use_lagrange_cql_alpha=True,
    )
    assert agent.train_sequence_length is None
    batch, steps = 3, 4
    experience = trajectory.Trajectory(
        step_type=tf.fill([batch, steps], ts.StepType.MID),
        observation=tf.random.uniform([batch, steps, 2]),
        action=tf.random.uniform([batch, steps, 1], -1.0, 1.0),
        policy_info=(),
        next_step_type=tf.fill([batch, steps], ts.StepType.MID),
        reward=tf.ones([batch, steps]),
        discount=tf.ones([batch, steps]),
    )
    info = agent.train(experience)
    assert all(np.isfinite(float(x)) for x in (info.loss, *info.extra))
    assert int(agent.train_step_counter) == 1


def test_train_writes_tf_agents_summaries(tmp_path) -> None:
    agent = _agent(use_lagrange_cql_alpha=True)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        agent.train(_dataset(action=0.5))
    writer.flush()
    tags = set()
    for path in glob.glob(str(tmp_path / "events.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    expected = {
        "Losses/critic_loss",
        "Losses/actor_loss",
        "Losses/alpha_loss",
        "Losses/cql_loss",
        "Losses/cql_alpha_loss",
        "cql_alpha",
        "sac_alpha",
    }
    assert expected <= tags, tags


MULTI_LEAF = {"a": ACT, "b": ACT}
UNBOUNDED = tensor_spec.TensorSpec([1], tf.float32, "free")


# Arguments are checked before any network is built, so None stands in for them.
_CHECKED_BEFORE_NETWORKS = dict(
    critic_network=None,
    actor_network=None,
    actor_optimizer=None,
    critic_optimizer=None,
    alpha_optimizer=None,
    cql_alpha=1.0,
    num_cql_samples=2,
    include_critic_entropy_term=False,
    use_lagrange_cql_alpha=False,
)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"num_cql_samples": 0}, "num_cql_samples must be >= 1, got 0"),
        ({"num_cql_samples": -3}, "num_cql_samples must be >= 1"),
        ({"num_cql_samples": 2.5}, "num_cql_samples must be a positive integer"),
        ({"num_cql_samples": True}, "num_cql_samples must be a positive integer"),
        ({"num_bc_steps": -1}, "num_bc_steps must be an integer >= 0"),
        ({"cql_alpha": -1.0}, "cql_alpha must be >= 0"),
        (
            {"cql_alpha": 0.0, "use_lagrange_cql_alpha": True},
            "with use_lagrange_cql_alpha, cql_alpha .* must be > 0",
        ),
        ({"log_cql_alpha_clipping": (1.0, 0.0)}, "log_cql_alpha_clipping must be"),
        ({"log_cql_alpha_clipping": 3.0}, "log_cql_alpha_clipping must be"),
        ({"softmax_temperature": 0.0}, "softmax_temperature must be > 0"),
        ({"reward_noise_variance": -0.1}, "reward_noise_variance must be >= 0"),
    ],
)
def test_bad_arguments_are_refused_by_name(overrides, message) -> None:
    options = dict(_CHECKED_BEFORE_NETWORKS, **overrides)
    with pytest.raises(ValueError, match=message):
        cql_sac_agent.CqlSacAgent(TIME_STEP, ACT, **options)


@pytest.mark.parametrize(
    ("action_spec", "message"),
    [(MULTI_LEAF, "single action spec only"), (UNBOUNDED, "must be finite")],
)
def test_action_specs_it_cannot_sample_are_refused(action_spec, message) -> None:
    with pytest.raises(ValueError, match=message):
        cql_sac_agent.CqlSacAgent(TIME_STEP, action_spec, **_CHECKED_BEFORE_NETWORKS)


def test_exported_from_the_agents_package() -> None:
    import policylib.agents
    import policylib.agents.cql

    assert policylib.agents.CqlSacAgent is cql_sac_agent.CqlSacAgent
    assert policylib.agents.cql.CqlSacAgent is cql_sac_agent.CqlSacAgent
