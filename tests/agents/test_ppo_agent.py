"""PPO on Keras 3 and tf-keras: the clip and KL-penalty agents make rewarded
actions likelier, with Keras and `tf.compat.v1` optimizers; normalizers and the
adaptive KL weight update in `train`; `preprocess_sequence` computes returns
and advantages for `compute_value_and_advantage_in_train=False`; the collect
policy records what `train` needs; bad experience gets a clear error."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.agents.ppo import (
    ppo_actor_network,
    ppo_agent,
    ppo_clip_agent,
    ppo_kl_penalty_agent,
)
from policylib.networks import actor_distribution_network, value_network
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from tests.agents.tracing import assert_train_traces_once

OBS = tensor_spec.TensorSpec([2], tf.float32, "observation")
DISCRETE = tensor_spec.BoundedTensorSpec([], tf.int32, 0, 1, name="action")
CONTINUOUS = tensor_spec.BoundedTensorSpec([1], tf.float32, -1.0, 1.0, name="action")
TIME_STEP = ts.time_step_spec(OBS)


def _clip_agent(action_spec=DISCRETE, optimizer=None, actor=None, **kwargs):
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    tf.keras.utils.set_random_seed(0)
    actor = actor or actor_distribution_network.ActorDistributionNetwork(
        OBS, action_spec, fc_layer_params=(16,)
    )
    return ppo_clip_agent.PPOClipAgent(
        TIME_STEP,
        action_spec,
        optimizer=optimizer or tf.keras.optimizers.Adam(1e-2),
        actor_net=actor,
        value_net=value_network.ValueNetwork(OBS, fc_layer_params=(16,)),
        importance_ratio_clipping=0.2,
        num_epochs=4,
        use_gae=True,
        **kwargs,
    )


def _kl_agent(optimizer=None, **kwargs):
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    tf.keras.utils.set_random_seed(0)
    return ppo_kl_penalty_agent.PPOKLPenaltyAgent(
        TIME_STEP,
        DISCRETE,
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            OBS, DISCRETE, fc_layer_params=(16,)
        ),
        value_net=value_network.ValueNetwork(OBS, fc_layer_params=(16,)),
        num_epochs=4,
        initial_adaptive_kl_beta=1.0,
        adaptive_kl_target=0.01,
        adaptive_kl_tolerance=0.3,
        optimizer=optimizer or tf.keras.optimizers.Adam(1e-2),
        **kwargs,
    )


def _collect(agent, reward_fn, batch: int = 32, steps: int = 4, seed: int = 0):
    """`[B, T]` trajectories of one-step episodes (FIRST then LAST), acted by the
    collect policy, with `reward_fn(actions)` as the reward."""
    rng = np.random.default_rng(seed)
    observation = tf.constant(0.1 * rng.normal(size=(batch, 2)), tf.float32)
    first = ts.restart(observation, batch_size=batch)
    policy_step = agent.collect_policy.action(first, seed=seed)
    rewards = reward_fn(policy_step.action.numpy())
    step_types = [ts.StepType.FIRST, ts.StepType.LAST] * (steps // 2)
    next_types = [ts.StepType.LAST, ts.StepType.FIRST] * (steps // 2)

    def over_time(t):
        return tf.stack([t] * steps, axis=1)

    return trajectory.Trajectory(
        step_type=tf.constant([step_types] * batch),
        observation=over_time(observation),
        action=over_time(policy_step.action),
        policy_info=tf.nest.map_structure(over_time, policy_step.info),
        next_step_type=tf.constant([next_types] * batch),
        reward=tf.constant(
            np.stack([rewards, np.zeros_like(rewards)] * (steps // 2), axis=1),
            tf.float32,
        ),
        discount=tf.constant([[0.0, 1.0] * (steps // 2)] * batch),
    )


def _prob_of_action_1(agent) -> float:
    observation = tf.zeros([1, 2])
    distribution = agent.collect_policy.distribution(
        ts.restart(observation, batch_size=1)
    ).action
    return float(distribution.probs_parameter()[0, 1])


@pytest.mark.parametrize(
    "optimizer",
    [
        lambda: tf.keras.optimizers.Adam(1e-2),
        lambda: tf.compat.v1.train.AdamOptimizer(1e-2),
    ],
    ids=["keras", "compat.v1"],
)
@pytest.mark.parametrize("make", [_clip_agent, _kl_agent], ids=["clip", "kl"])
def test_rewarded_action_becomes_likelier(make, optimizer) -> None:
    agent = make(optimizer=optimizer())
    before = _prob_of_action_1(agent)
    for i in range(8):
        loss_info = agent.train(_collect(agent, lambda a: a.astype(np.float32), seed=i))
        assert np.isfinite(float(loss_info.loss))
    assert isinstance(loss_info.extra, ppo_agent.PPOLossInfo)
    assert _prob_of_action_1(agent) > before + 0.2
    assert int(agent.train_step_counter) == 8 * 4  # one step per epoch


def test_continuous_actions_move_towards_the_reward() -> None:
    actor = ppo_actor_network.PPOActorNetwork().create_sequential_actor_net(
        (16,), CONTINUOUS, seed=1
    )
    agent = _clip_agent(CONTINUOUS, actor=actor)
    mode = lambda: float(  # noqa: E731
        agent.policy.action(ts.restart(tf.zeros([1, 2]), batch_size=1)).action[0, 0]
    )
    before = mode()
    for i in range(10):
        agent.train(_collect(agent, lambda a: a[:, 0].astype(np.float32), seed=i))
    assert mode() > before + 0.1


def test_normalizers_update_in_train() -> None:
    agent = _kl_agent(normalize_observations=True)
    experience = _collect(agent, lambda a: a.astype(np.float32))
    agent.train(experience)
    count, mean, _, _ = agent._observation_normalizer.variables
    np.testing.assert_allclose(count.numpy(), 32 * 4 + 1e-8)
    np.testing.assert_allclose(
        mean.numpy(), experience.observation.numpy().mean(axis=(0, 1)), atol=1e-6
    )
    assert float(agent._reward_normalizer.variables[0].numpy()) > 1


@pytest.mark.parametrize(
    "learning_rate, factor",
    [
        # The policy cannot move: KL 0, below target * (1 - tolerance).
        (0.0, 1 / 1.5),
        # Large steps for 4 epochs: KL far above target * (1 + tolerance).
        (0.5, 1.5),
    ],
)
def test_adaptive_kl_beta_moves_with_the_measured_kl(learning_rate, factor) -> None:
    agent = _kl_agent(optimizer=tf.keras.optimizers.SGD(learning_rate))
    experience = _collect(agent, lambda a: a.astype(np.float32))
    beta = float(agent._adaptive_kl_beta.numpy())
    agent.train(experience)
    assert float(agent._adaptive_kl_beta.numpy()) == pytest.approx(beta * factor)


def test_preprocess_sequence_feeds_train_when_values_come_from_collection() -> None:
    agent = _clip_agent(compute_value_and_advantage_in_train=False)
    assert "value_prediction" in agent.collect_policy.info_spec
    experience = _collect(agent, lambda a: a.astype(np.float32))
    processed = agent.preprocess_sequence(experience)
    info = processed.policy_info
    assert set(info) == {"dist_params", "value_prediction", "return", "advantage"}
    # One-step episodes: the return of a FIRST step is its (normalized) reward.
    returns = info["return"].numpy()
    assert returns.shape == (32, 4)
    np.testing.assert_array_equal(returns[:, -1], 0.0)  # the padded last step
    loss_info = agent.train(processed)
    assert np.isfinite(float(loss_info.loss))


def test_train_in_a_tf_function_traces_once() -> None:
    agent = _clip_agent()
    reward = lambda a: a.astype(np.float32)  # noqa: E731
    assert_train_traces_once(agent, [_collect(agent, reward, seed=i) for i in range(4)])


@pytest.mark.parametrize("make", [_clip_agent, _kl_agent], ids=["clip", "kl"])
def test_traced_epochs_loop_matches_eager_epochs(make) -> None:
    """Traced, epochs 1.. run in one tf.while_loop; eagerly, one Python
    iteration each: the same weights, loss, loss terms and step count."""
    reward = lambda a: a.astype(np.float32)  # noqa: E731
    results = []
    for traced in (False, True):
        agent = make()
        agent.initialize()
        experience = _collect(agent, reward)
        train = tf.function(agent.train) if traced else agent.train
        losses = [train(experience) for _ in range(2)]
        results.append(
            (
                [v.numpy() for v in agent.actor_net.trainable_variables],
                [float(x) for x in tf.nest.flatten(losses[-1])],
                int(agent.train_step_counter.numpy()),
            )
        )
    (eager_vars, eager_loss, eager_steps), (vars_, loss, steps) = results
    assert eager_steps == steps == 2 * 4
    np.testing.assert_allclose(loss, eager_loss, rtol=1e-4, atol=1e-6)
    for eager_v, v in zip(eager_vars, vars_):
        np.testing.assert_allclose(v, eager_v, rtol=1e-4, atol=1e-6)


def test_bad_experience_names_what_is_wrong() -> None:
    agent = _clip_agent()
    experience = _collect(agent, lambda a: a.astype(np.float32))
    with pytest.raises(ValueError, match=r"must have >1 num_steps; got time length 1"):
        agent.train(tf.nest.map_structure(lambda t: t[:, :1], experience))
    with pytest.raises(
        ValueError,
        match=r"(?s)observation: got \[32, 4, 3\], expected \[B, T\] \+ \[2\]",
    ):
        agent.train(experience._replace(observation=tf.zeros([32, 4, 3])))


@pytest.mark.parametrize(
    "make, clip_fraction, loss",
    [
        # Ratios [1, 1, 2, 2], advantages 1: half are outside [0.8, 1.2];
        # the clipped objective is mean(1, 1, 1.2, 1.2).
        (_clip_agent, 0.5, -1.1),
        # No clipping: the plain objective mean(1, 1, 2, 2), no fraction.
        (_kl_agent, 0.0, -1.5),
    ],
    ids=["clip", "no_clip"],
)
def test_policy_gradient_loss_returns_its_clip_fraction(
    make, clip_fraction, loss
) -> None:
    agent = make()
    args = (
        ts.restart(tf.zeros([4, 2]), batch_size=4),
        tf.zeros([4], tf.int32),
        tf.math.log([0.5, 0.5, 0.25, 0.25]),
        tf.ones([4]),
        tfp.distributions.Categorical(logits=tf.zeros([4, 2])),
        tf.ones([4]),
    )
    got_loss, got_fraction = agent._policy_gradient_loss_and_clip(*args)
    assert float(got_fraction) == pytest.approx(clip_fraction)
    assert float(got_loss) == pytest.approx(loss)
    assert float(agent.policy_gradient_loss(*args)) == pytest.approx(loss)
    assert not hasattr(agent, "_clip_fraction")


def test_switched_off_loss_terms_are_exact_zeros() -> None:
    agent = _clip_agent()
    extra = agent.train(_collect(agent, lambda a: a.astype(np.float32))).extra
    for name in (
        "kl_penalty_loss",
        "l2_regularization_loss",
        "entropy_regularization_loss",
    ):
        assert float(getattr(extra, name)) == 0.0, name
    assert 0.0 <= float(extra.clip_fraction) <= 1.0
