"""What the three DQN Actor–Learner jobs share: the environment, the agent, the tables.

`replay_server.py`, `collect.py` and `train.py` import this module (it sits
beside them, so running a script puts it on the path). The set-up is TF-Agents'
distributed one with `tf_agents` renamed to `policylib` and `import reverb`
to `from policylib import reverb`: the learner writes its collect policy, the
replay server reads the specs from it, collectors load it and pull the
learner's newest weights from the server's variable table.
"""

from __future__ import annotations

import logging
import os
import time

import tensorflow as tf

from policylib import reverb
from policylib.agents.dqn import dqn_agent
from policylib.environments import suite_gym
from policylib.networks import q_network
from policylib.specs import tensor_spec
from policylib.train import learner
from policylib.utils import common

ENV_NAME = "CartPole-v1"
SEQUENCE_LENGTH = 2  # DQN trains on (step, next step) pairs


def collect_policy_dir(root_dir: str) -> str:
    """Where the learner writes the collect policy the other jobs load."""
    return os.path.join(
        root_dir, learner.POLICY_SAVED_MODEL_DIR, learner.COLLECT_POLICY_SAVED_MODEL_DIR
    )


def make_agent(train_step: tf.Variable) -> dqn_agent.DqnAgent:
    """A DQN agent for CartPole: a 100-unit Q network, Adam, epsilon 0.1."""
    env = suite_gym.load(ENV_NAME)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    env.close()
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_network.QNetwork(
            time_step_spec.observation, action_spec, fc_layer_params=(100,)
        ),
        optimizer=tf.keras.optimizers.Adam(learning_rate=1e-3),
        epsilon_greedy=0.1,
        target_update_tau=0.05,
        target_update_period=5,
        gamma=0.99,
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=train_step,
    )
    agent.initialize()
    return agent


def wait_for_server(address: str, timeout_s: float = 300.0) -> reverb.Client:
    """A client of the replay server at `address`, once it answers."""
    deadline = time.monotonic() + timeout_s
    while True:
        client = reverb.Client(address)
        try:
            client.server_info(timeout=5)
            return client
        except reverb.errors.UnavailableError:
            if time.monotonic() > deadline:
                raise
            logging.info("Waiting for the replay server at %s", address)
            time.sleep(1.0)
