"""The v2 example trainer: drives, trains, checkpoints, saves and resumes."""

import functools
import os

import numpy as np
import tensorflow as tf

from policylib.bandits.agents import lin_ucb_agent
from policylib.bandits.agents.examples.v2 import trainer
from policylib.bandits.environments import environment_utilities as eu
from policylib.bandits.environments import stationary_stochastic_py_environment as sspe
from policylib.bandits.metrics import tf_metrics as bandit_metrics
from policylib.environments import tf_py_environment

BATCH, DIM, ARMS, STEPS = 8, 4, 3, 2


def _setup(seed: int = 0):
    np.random.seed(seed)
    tf.random.set_seed(seed)
    fns = eu.sliding_linear_reward_fn_generator(DIM, ARMS, 0.01)
    py_env = sspe.StationaryStochasticPyEnvironment(
        functools.partial(eu.context_sampling_fn, batch_size=BATCH, context_dim=DIM),
        fns,
        batch_size=BATCH,
    )
    env = tf_py_environment.TFPyEnvironment(py_env)
    agent = lin_ucb_agent.LinearUCBAgent(
        env.time_step_spec(),
        env.action_spec(),
        alpha=0.1,
        dtype=tf.float32,
        # Its own counter: the default (the global step) is shared by the
        # tests that run in this process.
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    regret = bandit_metrics.RegretMetric(
        functools.partial(eu.tf_compute_optimal_reward, per_action_reward_fns=fns)
    )
    return env, agent, fns, regret


def test_train_checkpoints_saves_and_resumes(tmp_path):
    env, agent, _, regret = _setup()
    root = str(tmp_path)
    trainer.train(
        root,
        agent,
        env,
        training_loops=2,
        steps_per_loop=STEPS,
        additional_metrics=[regret],
    )
    # Linear agents count samples: loops x steps x batch. The policy is saved
    # at loop 0, under the environment steps seen then.
    assert int(agent.train_step_counter.numpy()) == 2 * STEPS * BATCH
    assert os.path.isdir(os.path.join(root, f"policy_{STEPS * BATCH}"))
    assert tf.train.latest_checkpoint(root) is not None

    env, agent, _, regret = _setup()
    trainer.train(
        root,
        agent,
        env,
        training_loops=3,
        steps_per_loop=STEPS,
        additional_metrics=[regret],
        resume_training_loops=True,
    )
    # Restored after 2 loops, then one more loop.
    assert int(agent.train_step_counter.numpy()) == 3 * STEPS * BATCH


def test_linucb_learns_the_best_arm(tmp_path):
    env, agent, fns, regret = _setup(seed=1)
    trainer.train(
        str(tmp_path),
        agent,
        env,
        training_loops=25,
        steps_per_loop=STEPS,
        additional_metrics=[regret],
        save_policy=False,
    )
    contexts = np.random.RandomState(7).uniform(-1, 1, (200, DIM)).astype(np.float32)
    best = eu.tf_compute_optimal_action(tf.constant(contexts), fns).numpy()
    time_step = tf.nest.map_structure(
        lambda spec: tf.zeros([200] + spec.shape.as_list(), spec.dtype),
        env.time_step_spec(),
    )._replace(observation=tf.constant(contexts))
    chosen = agent.policy.action(time_step).action.numpy()
    assert np.mean(chosen == best) > 0.9
