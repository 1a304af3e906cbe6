"""LinearUCBAgent and LinearThompsonSamplingAgent learn the best arm of a linear bandit."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.bandits.agents import lin_ucb_agent, linear_thompson_sampling_agent
from policylib.bandits.agents import linear_bandit_agent as lba
from policylib.bandits.policies import linear_bandit_policy as lbp
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

TRUE_THETA = np.array(
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.5, 0.5, 0.5]]
)
ACTION_SPEC = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 3)
TS_SPEC = ts.time_step_spec(tensor_spec.TensorSpec((3,), tf.float32))


def _run_bandit(agent, rounds=25, batch=16, seed=0):
    rng = np.random.default_rng(seed)
    tf.random.set_seed(seed)
    act = tf.function(agent.collect_policy.action, autograph=False)
    train = tf.function(agent.train, autograph=False)
    for _ in range(rounds):
        x = rng.normal(size=(batch, 3)).astype(np.float32)
        step = act(ts.restart(tf.constant(x), batch))
        a = step.action.numpy()
        r = (np.sum(x * TRUE_THETA[a], axis=1) + 0.1 * rng.normal(size=batch)).astype(
            np.float32
        )
        experience = trajectory.Trajectory(
            step_type=tf.zeros([batch, 1], tf.int32),
            observation=tf.constant(x[:, None]),
            action=tf.constant(a[:, None]),
            policy_info=tf.nest.map_structure(lambda t: t[:, None], step.info),
            next_step_type=tf.fill([batch, 1], 2),
            reward=tf.constant(r[:, None]),
            discount=tf.zeros([batch, 1]),
        )
        train(experience)
    x = rng.normal(size=(500, 3)).astype(np.float32)
    greedy = (x @ TRUE_THETA.T).argmax(-1)
    return np.mean(
        agent.policy.action(ts.restart(tf.constant(x), 500)).action == greedy
    )


@pytest.mark.parametrize(
    "cls, strategy",
    [
        (lin_ucb_agent.LinearUCBAgent, lbp.ExplorationStrategy.optimistic),
        (
            linear_thompson_sampling_agent.LinearThompsonSamplingAgent,
            lbp.ExplorationStrategy.sampling,
        ),
    ],
)
def test_agents_learn_the_best_arm(cls, strategy):
    agent = cls(TS_SPEC, ACTION_SPEC, alpha=0.5, train_step_counter=tf.Variable(0))
    assert isinstance(agent, lba.LinearBanditAgent)
    assert agent.policy._exploration_strategy == strategy
    assert _run_bandit(agent) > 0.9
    np.testing.assert_allclose(agent.theta, TRUE_THETA, atol=0.15)
    assert agent.train_step_counter.numpy() == 25 * 16


def test_only_ucb_emits_log_probabilities():
    ucb = lin_ucb_agent.LinearUCBAgent(TS_SPEC, ACTION_SPEC, emit_log_probability=True)
    assert ucb.policy.emit_log_probability
    thompson = linear_thompson_sampling_agent.LinearThompsonSamplingAgent(
        TS_SPEC, ACTION_SPEC
    )
    assert not thompson.policy.emit_log_probability
