"""LinearBanditAgent: exact A / b / theta updates, forgetting, per-arm, distributed steps."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import linear_bandit_agent as lba
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils, tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

NUM_ACTIONS = 3
DIM = 2
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 0, NUM_ACTIONS - 1)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec((DIM,), tf.float32))
UCB = lba.ExplorationPolicy.linear_ucb_policy
TS = lba.ExplorationPolicy.linear_thompson_sampling_policy


def _experience(observation, action, reward, policy_info=None):
    """A `[B, 1]` bandit trajectory."""
    batch = len(reward)
    if policy_info is None:
        policy_info = policy_utilities.PolicyInfo()

    def t(value, dtype):
        return tf.expand_dims(tf.constant(value, dtype), 1)

    return trajectory.Trajectory(
        step_type=t(np.zeros(batch), tf.int32),
        observation=tf.nest.map_structure(
            lambda o: tf.expand_dims(tf.convert_to_tensor(o), 1), observation
        ),
        action=t(action, tf.int32),
        policy_info=tf.nest.map_structure(
            lambda i: tf.expand_dims(tf.convert_to_tensor(i), 1), policy_info
        ),
        next_step_type=t(np.full(batch, 2), tf.int32),
        reward=t(reward, tf.float32),
        discount=t(np.zeros(batch), tf.float32),
    )


def _data(batch=12, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, DIM)).astype(np.float32)
    a = rng.integers(0, NUM_ACTIONS, size=batch).astype(np.int32)
    r = rng.normal(size=batch).astype(np.float32)
    return x, a, r


def _expected_models(x, a, r, weights=None, gamma=1.0, previous=None, dim=DIM):
    w = np.ones(len(r)) if weights is None else weights
    covs, datas = [], []
    for k in range(NUM_ACTIONS):
        sel = a == k
        cov = (x[sel].T * w[sel]) @ x[sel]
        data = (w[sel] * r[sel]) @ x[sel]
        if previous is not None:
            cov = cov + gamma * previous[0][k]
            data = data + gamma * previous[1][k]
        covs.append(cov)
        datas.append(data)
    return covs, datas


def _theta(covs, datas, tikhonov=1.0):
    return np.stack(
        [np.linalg.solve(c + tikhonov * np.eye(len(d)), d) for c, d in zip(covs, datas)]
    )


@pytest.mark.parametrize(
    "policy, dtype, use_eig", [(UCB, tf.float32, False), (TS, tf.float64, True)]
)
def test_train_sets_a_b_and_theta_exactly(policy, dtype, use_eig):
    agent = lba.LinearBanditAgent(
        policy,
        TS_SPEC,
        ACTION_SPEC,
        use_eigendecomp=use_eig,
        tikhonov_weight=0.5,
        dtype=dtype,
    )
    x, a, r = _data()
    loss = agent.train(_experience(x, a, r))
    # The loss is the one before the update: theta was zero.
    np.testing.assert_allclose(loss.loss, np.mean(r**2), rtol=1e-5)
    covs, datas = _expected_models(x, a, r)
    np.testing.assert_allclose(agent.cov_matrix, covs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(agent.data_vector, datas, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(
        agent.num_samples, [np.sum(a == k) for k in range(NUM_ACTIONS)]
    )
    theta = _theta(covs, datas, 0.5)
    np.testing.assert_allclose(agent.theta, theta, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(
        agent._variable_collection.theta, theta, rtol=1e-4, atol=1e-5
    )
    if use_eig:
        for k in range(NUM_ACTIONS):
            np.testing.assert_allclose(
                agent.eig_vals[k], np.linalg.eigvalsh(covs[k]), atol=1e-8
            )
    assert agent.policy.info_spec.predicted_rewards_mean == ()


def test_second_train_accumulates_with_forgetting_and_counts_steps():
    step = tf.Variable(0, dtype=tf.int64)
    agent = lba.LinearBanditAgent(
        UCB, TS_SPEC, ACTION_SPEC, gamma=0.5, train_step_counter=step
    )
    x1, a1, r1 = _data(seed=1)
    x2, a2, r2 = _data(batch=7, seed=2)
    a2[:] = 0  # Arms 1 and 2 see no new data: they only decay.
    train = tf.function(agent.train, autograph=False)
    train(_experience(x1, a1, r1))
    train(_experience(x2, a2, r2))
    first = _expected_models(x1, a1, r1)
    covs, datas = _expected_models(x2, a2, r2, gamma=0.5, previous=first)
    np.testing.assert_allclose(agent.cov_matrix, covs, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(agent.data_vector, datas, rtol=1e-5, atol=1e-5)
    assert step.numpy() == 19


def test_weights_give_weighted_least_squares():
    agent = lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, tikhonov_weight=1e-3)
    x, a, r = _data(batch=30, seed=3)
    w = np.linspace(0.5, 3.0, 30)
    loss = agent.train(_experience(x, a, r), weights=tf.constant(w, tf.float32))
    np.testing.assert_allclose(loss.loss, np.mean(w * r**2), rtol=1e-5)
    covs, datas = _expected_models(x, a, r, weights=w)
    np.testing.assert_allclose(agent.cov_matrix, covs, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(agent.theta, _theta(covs, datas, 1e-3), rtol=1e-3)


def test_bias_feature_is_learned():
    agent = lba.LinearBanditAgent(
        UCB, TS_SPEC, ACTION_SPEC, add_bias=True, tikhonov_weight=1e-4
    )
    x, _, _ = _data(batch=40, seed=4)
    a = np.zeros(40, np.int32)
    r = (x @ np.array([2.0, -1.0]) + 3.0).astype(np.float32)
    agent.train(_experience(x, a, r))
    np.testing.assert_allclose(agent.theta[0], [2.0, -1.0, 3.0], atol=1e-3)


def test_action_mask_splitter_is_applied_before_training():
    spec = ts.time_step_spec(
        (
            tensor_spec.TensorSpec((DIM,), tf.float32),
            tensor_spec.TensorSpec((3,), tf.int32),
        )
    )
    agent = lba.LinearBanditAgent(
        UCB,
        spec,
        ACTION_SPEC,
        observation_and_action_constraint_splitter=lambda o: (o[0], o[1]),
    )
    x, a, r = _data(seed=5)
    agent.train(_experience((x, np.ones((12, 3), np.int32)), a, r))
    covs, _ = _expected_models(x, a, r)
    np.testing.assert_allclose(agent.cov_matrix, covs, rtol=1e-5, atol=1e-5)


def test_per_arm_agent_trains_one_model_on_the_chosen_arm():
    obs_spec = bandit_spec_utils.create_per_arm_observation_spec(
        2, 3, 4, add_num_actions_feature=True
    )
    agent = lba.LinearBanditAgent(
        UCB,
        ts.time_step_spec(obs_spec),
        tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3),
        accepts_per_arm_features=True,
        emit_policy_info=(policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,),
    )
    rng = np.random.default_rng(6)
    batch = 8
    obs = {
        "global": rng.normal(size=(batch, 2)).astype(np.float32),
        "per_arm": rng.normal(size=(batch, 4, 3)).astype(np.float32),
        "num_actions": np.full(batch, 4, np.int32),
    }
    step = agent.collect_policy.action(
        ts.restart(tf.nest.map_structure(tf.constant, obs), batch)
    )
    r = rng.normal(size=batch).astype(np.float32)
    experience = _experience(obs, step.action.numpy(), r, step.info)
    agent.train(experience)
    contexts = np.concatenate([obs["global"], step.info.chosen_arm_features], axis=1)
    assert len(agent.cov_matrix) == 1
    np.testing.assert_allclose(agent.cov_matrix[0], contexts.T @ contexts, rtol=1e-5)
    np.testing.assert_allclose(agent.data_vector[0], r @ contexts, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(agent.num_samples[0], batch)


@pytest.mark.parametrize("use_eig", [False, True])
def test_distributed_step_matches_train(use_eig):
    x, a, r = _data(seed=7)
    plain = lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, use_eigendecomp=use_eig)
    plain.train(_experience(x, a, r))
    strategy = tf.distribute.MirroredStrategy(["/cpu:0"])
    with strategy.scope():
        step = tf.Variable(0, dtype=tf.int64)
        distributed = lba.LinearBanditAgent(
            UCB, TS_SPEC, ACTION_SPEC, use_eigendecomp=use_eig, train_step_counter=step
        )
    experience = _experience(x, a, r)
    loss = strategy.run(
        tf.function(distributed.train, autograph=False), args=(experience,)
    )
    np.testing.assert_allclose(loss.loss, np.mean(r**2), rtol=1e-5)
    for got, want in [
        (distributed.cov_matrix, plain.cov_matrix),
        (distributed.data_vector, plain.data_vector),
        (distributed.num_samples, plain.num_samples),
        (distributed.theta, plain.theta),
        (distributed.eig_vals, plain.eig_vals),
    ]:
        np.testing.assert_allclose(
            [v.numpy() for v in got] if isinstance(got, list) else got,
            [v.numpy() for v in want] if isinstance(want, list) else want,
            rtol=1e-5,
            atol=1e-6,
        )
    assert step.numpy() == 12
    # Without a strategy the merge call runs in the default replica context.
    default = lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, gamma=0.5)
    default._distributed_train_step(experience)
    default._distributed_train_step(experience)
    covs, _ = _expected_models(x, a, r, gamma=0.5, previous=_expected_models(x, a, r))
    np.testing.assert_allclose(default.cov_matrix, covs, rtol=1e-5, atol=1e-5)


def test_shared_variable_collection_and_checkpoint(tmp_path):
    collection = lba.LinearBanditVariableCollection(DIM, NUM_ACTIONS)
    ucb = lba.LinearBanditAgent(
        UCB, TS_SPEC, ACTION_SPEC, variable_collection=collection
    )
    ts_agent = lba.LinearBanditAgent(
        TS, TS_SPEC, ACTION_SPEC, variable_collection=collection
    )
    x, a, r = _data(seed=8)
    ucb.train(_experience(x, a, r))
    assert ts_agent.cov_matrix[0] is ucb.cov_matrix[0]
    np.testing.assert_array_equal(ts_agent.theta, ucb.theta)
    checkpoint = tf.train.Checkpoint(collection=collection)
    path = checkpoint.save(str(tmp_path / "ckpt"))
    saved = collection.cov_matrix_list[1].numpy()
    collection.cov_matrix_list[1].assign(tf.zeros([DIM, DIM]))
    checkpoint.restore(path).assert_consumed()
    np.testing.assert_array_equal(collection.cov_matrix_list[1], saved)
    # The policy reads the collection's variables.
    assert any(v is collection.theta for v in ucb.policy.variables())


def test_update_a_and_b_with_forgetting():
    a_prev = np.eye(2)
    b_prev = np.array([1.0, 2.0])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    r = np.array([0.5, -1.0])
    a_new, b_new = lba.update_a_and_b_with_forgetting(a_prev, b_prev, r, x, 0.25)
    np.testing.assert_allclose(a_new, 0.25 * a_prev + x.T @ x)
    np.testing.assert_allclose(b_new, 0.25 * b_prev + r @ x)


def test_update_alpha_needs_a_variable():
    alpha = tf.Variable(0.0)
    agent = lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, alpha=alpha)
    agent.update_alpha(3.0)
    assert agent.alpha.numpy() == 3.0
    with pytest.raises(TypeError, match="tf.Variable"):
        lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC).update_alpha(2.0)


def test_summaries_are_written(tmp_path):
    agent = lba.LinearBanditAgent(
        UCB, TS_SPEC, ACTION_SPEC, add_bias=True, summarize_grads_and_vars=True
    )
    writer = tf.summary.create_file_writer(str(tmp_path))
    x, a, r = _data(seed=9)
    with writer.as_default():
        agent.train(_experience(x, a, r))
    writer.flush()
    tags = set()
    for path in tf.io.gfile.glob(str(tmp_path / "*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            tags.update(value.tag for value in event.summary.value)
    assert "Losses/loss" in tags
    assert {f"bias/action_{k}" for k in range(NUM_ACTIONS)} <= tags
    assert any(tag.startswith("Variables/") for tag in tags)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="gamma"):
        lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, gamma=1.5)
    with pytest.raises(ValueError, match="float32 or tf.float64"):
        lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, dtype=tf.int32)
    with pytest.raises(ValueError, match="not implemented"):
        lba.LinearBanditAgent("ucb", TS_SPEC, ACTION_SPEC)
    with pytest.raises(TypeError, match="LinearBanditVariableCollection"):
        lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC, variable_collection=object())
    with pytest.raises(ValueError, match=r"needs \[3, 3\]"):
        lba.LinearBanditAgent(
            UCB,
            TS_SPEC,
            ACTION_SPEC,
            add_bias=True,
            variable_collection=lba.LinearBanditVariableCollection(DIM, NUM_ACTIONS),
        )
    with pytest.raises(ValueError, match="dtype float64"):
        lba.LinearBanditAgent(
            UCB,
            TS_SPEC,
            ACTION_SPEC,
            variable_collection=lba.LinearBanditVariableCollection(
                DIM, NUM_ACTIONS, dtype=tf.float64
            ),
        )
    with pytest.raises(ValueError, match="use_eigendecomp=True"):
        lba.LinearBanditAgent(
            UCB,
            TS_SPEC,
            ACTION_SPEC,
            use_eigendecomp=True,
            variable_collection=lba.LinearBanditVariableCollection(DIM, NUM_ACTIONS),
        )


def test_an_empty_batch_changes_nothing_and_has_zero_loss():
    agent = lba.LinearBanditAgent(UCB, TS_SPEC, ACTION_SPEC)
    x, a, r = _data(seed=10)
    agent.train(_experience(x, a, r))
    before = [v.numpy() for v in agent.cov_matrix]
    loss = agent.train(_experience(x[:0], a[:0], r[:0]))
    assert loss.loss.numpy() == 0.0
    np.testing.assert_array_equal(agent.cov_matrix, before)
