"""GreedyRewardPredictionAgent: its loss (plain, weighted, heteroscedastic,
Laplacian-smoothed, with constraints) against NumPy, training (steps, sample
counts, per-arm features, masks), greedy acting, and errors on bad input."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import greedy_reward_prediction_agent as greedy
from policylib.bandits.networks import (
    global_and_arm_feature_network,
    heteroscedastic_q_network,
)
from policylib.bandits.policies import constraints
from policylib.networks import network
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory
from policylib.utils import common

OBS = tensor_spec.TensorSpec([2], tf.float32)
ACT = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 2)
KERNEL = np.array([[0.5, -1.0, 2.0], [1.0, 0.25, -0.5]], np.float32)
BIAS = np.array([0.1, 0.2, -0.3], np.float32)
X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.0, 3.0], [2.0, -1.0]], np.float32)
A = np.array([0, 1, 2, 1], np.int32)
R = np.array([1.0, -2.0, 0.5, 3.0], np.float32)


class LinearNet(network.Network):
    """`obs @ kernel + bias`: one predicted reward per arm, known weights."""

    def __init__(self, obs_spec=OBS, kernel=KERNEL, bias=BIAS, name="LinearNet"):
        super().__init__(obs_spec, state_spec=(), name=name)
        self._dense = tf.keras.layers.Dense(
            kernel.shape[1],
            kernel_initializer=tf.constant_initializer(kernel),
            bias_initializer=tf.constant_initializer(bias),
        )

    def call(self, observation, step_type=None, network_state=(), training=False):
        del step_type, training
        return self._dense(tf.cast(observation, tf.float32)), network_state


def _predictions(x=X):
    return x @ KERNEL + BIAS


def _experience(observation=X, action=A, reward=R, policy_info=None):
    """A `[B, 1]` batch of one-step bandit episodes."""

    def with_time(t):
        return tf.expand_dims(tf.convert_to_tensor(t), 1)

    batch = len(action)
    if policy_info is None:
        policy_info = policy_utilities.PolicyInfo()
    return tf.nest.map_structure(
        with_time,
        trajectory.Trajectory(
            step_type=tf.fill([batch], ts.StepType.FIRST),
            observation=observation,
            action=action,
            policy_info=policy_info,
            next_step_type=tf.fill([batch], ts.StepType.LAST),
            reward=reward,
            discount=tf.zeros([batch]),
        ),
    )


def _agent(time_step_spec=None, **kwargs):
    kwargs.setdefault("reward_network", LinearNet())
    kwargs.setdefault("optimizer", tf.compat.v1.train.GradientDescentOptimizer(0.01))
    kwargs.setdefault("train_step_counter", tf.Variable(0, dtype=tf.int64))
    return greedy.GreedyRewardPredictionAgent(
        time_step_spec or ts.time_step_spec(OBS), ACT, **kwargs
    )


def test_loss_is_the_mean_squared_error_of_the_played_arms() -> None:
    agent = _agent()
    played = _predictions()[np.arange(4), A]
    loss = agent.loss(_experience()).loss
    np.testing.assert_allclose(loss, np.mean((R - played) ** 2), rtol=1e-6)
    weights = np.array([1.0, 0.0, 2.0, 0.5], np.float32)
    weighted = agent.loss(_experience(), weights=weights).loss
    np.testing.assert_allclose(
        weighted, np.mean((R - played) ** 2 * weights), rtol=1e-6
    )


def test_an_empty_batch_trains_with_a_zero_loss() -> None:
    # A mixture agent hands a sub-agent only the rounds its policy played,
    # which can be none: the loss must be 0, not NaN (train checks for NaN).
    agent = _agent()
    empty = _experience(X[:0], A[:0], R[:0])
    assert float(agent.loss(empty).loss) == 0.0
    assert float(agent.train(empty).loss) == 0.0
    assert int(agent.train_step_counter.numpy()) == 1


def test_custom_error_loss_fn_gets_unreduced_losses() -> None:
    agent = _agent(error_loss_fn=tf.compat.v1.losses.absolute_difference)
    played = _predictions()[np.arange(4), A]
    np.testing.assert_allclose(
        agent.loss(_experience()).loss, np.mean(np.abs(R - played)), rtol=1e-6
    )


def test_laplacian_smoothing_adds_the_weighted_quadratic_form() -> None:
    laplacian = np.array([[1, -1, 0], [-1, 2, -1], [0, -1, 1]], np.float32)
    agent = _agent(laplacian_matrix=laplacian, laplacian_smoothing_weight=0.3)
    p = _predictions()
    smooth = np.einsum("bi,ij,bj->b", p, laplacian, p)
    mse = np.mean((R - p[np.arange(4), A]) ** 2)
    np.testing.assert_allclose(
        agent.loss(_experience()).loss, mse + 0.3 * smooth.mean(), rtol=1e-5
    )


def test_heteroscedastic_network_gets_the_gaussian_likelihood_loss() -> None:
    tf.keras.utils.set_random_seed(3)
    net = heteroscedastic_q_network.HeteroscedasticQNetwork(
        OBS, ACT, fc_layer_params=(4,)
    )
    agent = _agent(reward_network=net)
    out, _ = net(tf.constant(X))
    mean = out.q_value_logits.numpy()[np.arange(4), A]
    log_var = out.log_variance.numpy()[np.arange(4), A]
    expected = 0.5 * log_var.mean() + np.mean((R - mean) ** 2 * 0.5 * np.exp(-log_var))
    np.testing.assert_allclose(agent.loss(_experience()).loss, expected, rtol=1e-5)


def test_training_steps_counters_and_lowers_the_loss() -> None:
    counts = [tf.Variable(0, dtype=tf.int64) for _ in range(3)]
    agent = _agent(num_samples_list=counts)
    agent.initialize()
    losses = [float(agent.train(_experience()).loss) for _ in range(30)]
    assert losses[-1] < 0.5 * losses[0]
    assert int(agent.train_step_counter) == 30
    assert [int(c) for c in agent.num_samples] == [30, 60, 30]


def test_keras_optimizer_trains_under_tf_function() -> None:
    agent = _agent(optimizer=tf.keras.optimizers.SGD(0.01))
    train = common.function(agent.train)
    first = float(train(_experience()).loss)
    for _ in range(10):
        last = float(train(_experience()).loss)
    assert last < first
    assert int(agent.train_step_counter) == 11


def test_gradient_clipping_bounds_each_variables_update() -> None:
    agent = _agent(
        gradient_clipping=1e-3,
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(1.0),
    )
    before = [v.numpy().copy() for v in agent._reward_network.trainable_variables]
    agent.train(_experience())
    after = [v.numpy() for v in agent._reward_network.trainable_variables]
    steps = [np.linalg.norm(a - b) for a, b in zip(after, before)]
    np.testing.assert_allclose(steps, [1e-3, 1e-3], rtol=1e-3)


def test_policy_is_greedy_on_the_predictions() -> None:
    agent = _agent()
    step = agent.policy.action(ts.restart(tf.constant(X), batch_size=4))
    np.testing.assert_array_equal(step.action, np.argmax(_predictions(), axis=1))
    assert agent.collect_policy is agent.policy


def test_action_mask_is_split_off_before_the_network() -> None:
    spec = ts.time_step_spec((OBS, tensor_spec.TensorSpec([3], tf.int32)))
    agent = _agent(
        time_step_spec=spec,
        observation_and_action_constraint_splitter=lambda obs: (obs[0], obs[1]),
    )
    mask = np.array([[1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], np.int32)
    played = _predictions()[np.arange(4), A]
    loss = agent.loss(_experience(observation=(X, mask))).loss
    np.testing.assert_allclose(loss, np.mean((R - played) ** 2), rtol=1e-6)
    step = agent.policy.action(ts.restart((tf.constant(X), tf.constant(mask)), 4))
    masked = np.where(mask == 1, _predictions(), -np.inf)
    np.testing.assert_array_equal(step.action, np.argmax(masked, axis=1))


def _constrained_agent(reward_spec=None):
    if reward_spec is None:
        reward_spec = {
            "reward": tensor_spec.TensorSpec((), tf.float32),
            "constraint": tensor_spec.TensorSpec((1,), tf.float32),
        }
    spec = ts.time_step_spec(OBS, reward_spec)
    constraint_net = LinearNet(kernel=-KERNEL, bias=np.zeros(3, np.float32))
    constraint = constraints.NeuralConstraint(
        spec, ACT, constraint_network=constraint_net
    )
    return _agent(time_step_spec=spec, constraints=[constraint]), constraint_net


def test_constraint_loss_is_added_and_its_network_trained() -> None:
    agent, constraint_net = _constrained_agent()
    targets = np.array([[0.5], [1.0], [-1.0], [2.0]], np.float32)
    rewards = {"reward": R, "constraint": targets}
    reward_mse = np.mean((R - _predictions()[np.arange(4), A]) ** 2)
    constraint_pred = (X @ -KERNEL)[np.arange(4), A]
    constraint_mse = np.mean((targets[:, 0] - constraint_pred) ** 2)
    loss = agent.train(_experience(reward=rewards)).loss
    np.testing.assert_allclose(loss, reward_mse + constraint_mse, rtol=1e-5)
    assert not np.allclose(constraint_net.trainable_variables[0].numpy(), -KERNEL)


def test_constraints_need_a_dict_reward() -> None:
    agent, _ = _constrained_agent(tensor_spec.TensorSpec((), tf.float32))
    with pytest.raises(ValueError, match="reward must be a dict with keys 'reward'"):
        agent.train(_experience())
    agent, _ = _constrained_agent({"reward": tensor_spec.TensorSpec((), tf.float32)})
    with pytest.raises(ValueError, match="needs a 'constraint' entry"):
        agent.train(_experience(reward={"reward": R}))


def test_dict_reward_without_constraints_trains_on_its_reward_entry() -> None:
    spec = ts.time_step_spec(OBS, {"reward": tensor_spec.TensorSpec((), tf.float32)})
    agent = _agent(time_step_spec=spec)
    played = _predictions()[np.arange(4), A]
    loss = agent.train(_experience(reward={"reward": R})).loss
    np.testing.assert_allclose(loss, np.mean((R - played) ** 2), rtol=1e-6)


def test_per_arm_agent_trains_on_the_chosen_arm_features() -> None:
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, 4, add_num_actions_feature=True
    )
    tf.keras.utils.set_random_seed(1)
    net = global_and_arm_feature_network.create_feed_forward_common_tower_network(
        obs_spec, (4,), (4,), (4,)
    )
    total = tf.Variable(0, dtype=tf.int64)
    agent = greedy.GreedyRewardPredictionAgent(
        ts.time_step_spec(obs_spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        reward_network=net,
        optimizer=tf.compat.v1.train.GradientDescentOptimizer(0.05),
        accepts_per_arm_features=True,
        num_samples_list=[total],
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    assert bandit_spec_utils.PER_ARM_FEATURE_KEY not in (
        agent.training_data_spec.observation
    )
    observation = {
        bandit_spec_utils.GLOBAL_FEATURE_KEY: X,
        bandit_spec_utils.NUM_ACTIONS_FEATURE_KEY: np.full([4], 4, np.int32),
    }
    chosen = np.arange(12, dtype=np.float32).reshape(4, 3) / 10
    info = policy_utilities.PerArmPolicyInfo(chosen_arm_features=chosen)
    experience = _experience(
        observation=observation,
        action=np.array([0, 3, 2, 1], np.int32),
        policy_info=info,
    )
    losses = [float(agent.train(experience).loss) for _ in range(40)]
    assert losses[-1] < losses[0]
    assert int(total) == 160


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match=r"one counter per action \(3\).*2 element"):
        _agent(num_samples_list=[tf.Variable(0), tf.Variable(0)])
    with pytest.raises(ValueError, match=r"laplacian_matrix must be \[3, 3\]"):
        _agent(laplacian_matrix=np.zeros([2, 2], np.float32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="rows must sum to 0"):
        _agent(laplacian_matrix=np.eye(3, dtype=np.float32))
    with pytest.raises(ValueError, match=r"one reward per action, shape \[3\]"):
        _agent(reward_network=LinearNet(kernel=KERNEL[:, :2], bias=BIAS[:2]))
    with pytest.raises(ValueError, match="minimum must be 0"):
        greedy.GreedyRewardPredictionAgent(
            ts.time_step_spec(OBS),
            tensor_spec.BoundedTensorSpec((), tf.int32, 1, 3),
            reward_network=LinearNet(),
            optimizer=None,
        )


def test_loss_summaries_are_written(tmp_path) -> None:
    agent = _agent(summarize_grads_and_vars=True)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        agent.train(_experience())
    writer.flush()
    tags = set()
    for event_file in tmp_path.iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(event_file)):
            tags.update(value.tag for value in event.summary.value)
    assert "Losses/loss" in tags
    assert any(tag.startswith("Variables/") for tag in tags)
