"""Actor and Learner together on a Reverb replay buffer (a local `policylib.reverb` server)."""

from __future__ import annotations

import os

import pytest
import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.environments import suite_gym
from policylib.networks import q_network
from policylib.policies import py_tf_eager_policy
from policylib.train import actor, learner, triggers
from policylib.train.utils import replay_buffer_utils, spec_utils, train_utils

pytest.importorskip(
    "policylib.replay_buffers.reverb_replay_buffer",
    reason="ReverbReplayBuffer is not in this tree yet",
    exc_type=ImportError,
)


def test_collect_with_actor_train_with_learner_export_policies(tmp_path):
    root_dir = str(tmp_path)
    env = suite_gym.load("CartPole-v0")
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
    train_step = train_utils.create_train_step()
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_network.QNetwork(
            time_step_spec.observation, action_spec, fc_layer_params=(8,)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-3),
        train_step_counter=train_step,
    )
    agent.initialize()
    replay, observer = replay_buffer_utils.get_reverb_buffer_and_observer(
        agent.collect_data_spec, sequence_length=2, replay_capacity=100
    )
    try:
        collect_actor = actor.Actor(
            env,
            py_tf_eager_policy.PyTFEagerPolicy(
                agent.collect_policy, use_tf_function=True
            ),
            train_step,
            steps_per_run=10,
            observers=[observer],
            metrics=actor.collect_metrics(buffer_size=2),
        )
        collect_actor.run()
        assert replay.num_frames() > 0

        saved_model_dir = os.path.join(root_dir, learner.POLICY_SAVED_MODEL_DIR)
        test_learner = learner.Learner(
            root_dir,
            train_step,
            agent,
            experience_dataset_fn=lambda: replay.as_dataset(
                sample_batch_size=4, num_steps=2
            ),
            triggers=[
                triggers.PolicySavedModelTrigger(saved_model_dir, agent, train_step, 2)
            ],
            checkpoint_interval=2,
        )
        test_learner.run(iterations=2)
        collect_actor.run()
        test_learner.run(iterations=1)
        assert test_learner.train_step_numpy == 3
        checkpoints = os.listdir(
            os.path.join(saved_model_dir, learner.POLICY_CHECKPOINT_DIR)
        )
        assert checkpoints == ["policy_checkpoint_0000000002"]
    finally:
        replay.local_server.stop()
