"""Builders and checks shared by the Actor/Learner tests (TF-Agents' `train.utils.test_utils`).

Small CartPole DQN and PPO set-ups with deterministic in-memory datasets, and
checks that variables did or did not change.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.agents.ppo import ppo_clip_agent
from policylib.environments import suite_gym
from policylib.networks import actor_distribution_network, sequential, value_network
from policylib.policies import py_tf_eager_policy
from policylib.specs import tensor_spec
from policylib.train import actor
from policylib.train.utils import spec_utils
from policylib.trajectories import time_step as ts
from policylib.trajectories import trajectory

__all__ = [
    "build_actor",
    "build_dummy_sequential_net",
    "check_variables_different",
    "check_variables_same",
    "configure_logical_cpus",
    "create_dqn_agent_and_dataset_fn",
    "create_ppo_agent_and_dataset_fn",
    "create_reverb_server_for_replay_buffer_and_variable_container",
    "get_cartpole_env_and_specs",
]

_log = logging.getLogger(__name__)

# Reverb layout of a replay buffer plus variable container (TF-Agents' names).
_EXPERIENCE_TABLE = "experience"
_VARIABLES_TABLE = "variables"
_POLICY_KEY = "policy_variables"
_TRAIN_STEP_KEY = "train_step"

_NUM_LOGICAL_CPUS = 4


def configure_logical_cpus() -> None:
    """Splits the first physical CPU into 4 logical ones (for `MirroredStrategy` tests).

    The split can only be made before TensorFlow's runtime starts; called again
    afterwards (as every test's `setUp` does) it keeps what is there.
    """
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu,
            [tf.config.LogicalDeviceConfiguration() for _ in range(_NUM_LOGICAL_CPUS)],
        )
    except RuntimeError:
        current = tf.config.get_logical_device_configuration(cpu)
        _log.info("Logical CPUs already configured (%s); keeping them.", current)


def get_cartpole_env_and_specs() -> tuple[Any, Any, Any]:
    """CartPole-v0 (a `PyEnvironment`), its action spec and its time-step spec."""
    env = suite_gym.load("CartPole-v0")
    _, action_spec, time_step_spec = spec_utils.get_tensor_specs(env)
    return env, action_spec, time_step_spec


def build_dummy_sequential_net(
    fc_layer_params: Any, action_spec: Any
) -> sequential.Sequential:
    """A `Sequential` Q-network: ReLU layers of `fc_layer_params` units, then one logit per action."""
    keras = tf.keras
    num_actions = int(action_spec.maximum - action_spec.minimum + 1)
    hidden = [
        keras.layers.Dense(
            int(units),
            activation=keras.activations.relu,
            kernel_initializer=keras.initializers.VarianceScaling(
                scale=2.0, mode="fan_in", distribution="truncated_normal"
            ),
        )
        for units in fc_layer_params
    ]
    logits = keras.layers.Dense(
        num_actions,
        activation=None,
        kernel_initializer=keras.initializers.RandomUniform(minval=-0.03, maxval=0.03),
        bias_initializer=keras.initializers.Constant(-0.2),
    )
    return sequential.Sequential([*hidden, logits])


def create_ppo_agent_and_dataset_fn(
    action_spec: Any, time_step_spec: Any, train_step: tf.Variable, batch_size: int
) -> tuple[Any, tf.data.Dataset, Any, Any]:
    """A small PPO-clip agent on a 2-d observation, 1-d action problem, and a fixed dataset.

    The given specs and batch size are not used (the agent has its own specs);
    they keep the signature of `create_dqn_agent_and_dataset_fn`.

    Returns:
      `(agent, dataset, dataset_fn, training_data_spec)`; the dataset yields
      100 preprocessed `(trajectory[2, 3], index)` pairs.
    """
    del action_spec, time_step_spec, batch_size
    keras = tf.keras
    observation_spec = tensor_spec.TensorSpec([2], tf.float32)
    agent_time_step_spec = ts.time_step_spec(observation_spec)
    agent_action_spec = tensor_spec.BoundedTensorSpec([1], tf.float32, -1, 1)
    actor_net = actor_distribution_network.ActorDistributionNetwork(
        observation_spec,
        agent_action_spec,
        fc_layer_params=(100,),
        activation_fn=keras.activations.tanh,
    )
    value_net = value_network.ValueNetwork(
        observation_spec, fc_layer_params=(100,), activation_fn=keras.activations.tanh
    )
    agent = ppo_clip_agent.PPOClipAgent(
        agent_time_step_spec,
        agent_action_spec,
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        actor_net=actor_net,
        value_net=value_net,
        entropy_regularization=0.0,
        importance_ratio_clipping=0.2,
        normalize_observations=False,
        normalize_rewards=False,
        use_gae=False,
        use_td_lambda_return=False,
        num_epochs=1,
        debug_summaries=False,
        summarize_grads_and_vars=False,
        train_step_counter=train_step,
        compute_value_and_advantage_in_train=False,
    )

    def make_experience(_: Any) -> Any:
        batch, time = 2, 3
        observation = tf.tile(
            tf.constant([[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]]), [batch, 1, 1]
        )
        step_type = tf.fill([batch, time], tf.constant(int(ts.StepType.MID), tf.int32))
        ones = tf.ones([batch, time], tf.float32)
        action = tf.tile(tf.constant([[[0.0], [1.0], [1.0]]]), [batch, 1, 1])
        policy_info = {
            "dist_params": {
                "loc": tf.zeros([batch, time, 1], tf.float32),
                "scale": tf.ones([batch, time, 1], tf.float32),
            },
            "value_prediction": tf.tile(tf.constant([[9.0, 15.0, 21.0]]), [batch, 1]),
        }
        experience = trajectory.Trajectory(
            step_type=step_type,
            observation=observation,
            action=action,
            policy_info=policy_info,
            next_step_type=step_type,
            reward=ones,
            discount=ones,
        )
        return agent._preprocess(experience)  # noqa: SLF001 - the learner's input layout

    indices = tf.data.Dataset.from_tensor_slices([[i] for i in range(100)])
    dataset = tf.data.Dataset.zip(
        (indices.map(make_experience), tf.data.Dataset.counter())
    )
    return agent, dataset, lambda: dataset, agent.training_data_spec


def create_dqn_agent_and_dataset_fn(
    action_spec: Any, time_step_spec: Any, train_step: tf.Variable, batch_size: int
) -> tuple[Any, tf.data.Dataset, Any, Any]:
    """A DQN agent with a 100-unit Q-network and a fixed dataset of its collect data.

    Returns:
      `(agent, dataset, dataset_fn, collect_data_spec)`; the dataset yields 100
      `(trajectory[2], index)` pairs sampled from the spec (seeded, float
      leaves scaled by 1e-22 to stay small); `dataset_fn` batches it by
      `batch_size`.
    """
    q_net = build_dummy_sequential_net(fc_layer_params=(100,), action_spec=action_spec)
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
        train_step_counter=train_step,
    )
    agent.initialize()

    def make_item(_: Any) -> Any:
        sample = tensor_spec.sample_spec_nest(
            agent.collect_data_spec, seed=123, outer_dims=[2]
        )
        return tf.nest.map_structure(
            lambda t: t / 1.0e22 if t.dtype == tf.float32 else t, sample
        )

    indices = tf.data.Dataset.from_tensor_slices([[i] for i in range(100)])
    dataset = tf.data.Dataset.zip((indices.map(make_item), tf.data.Dataset.counter()))
    return agent, dataset, lambda: dataset.batch(batch_size), agent.collect_data_spec


def build_actor(
    root_dir: str, env: Any, agent: Any, rb_observer: Any, train_step: tf.Variable
) -> actor.Actor:
    """A one-step-per-run collect `Actor` for `agent` writing to `rb_observer`."""
    collect_policy = py_tf_eager_policy.PyTFEagerPolicy(
        agent.collect_policy, use_tf_function=True
    )
    return actor.Actor(
        env,
        collect_policy,
        train_step,
        steps_per_run=1,
        metrics=actor.collect_metrics(10),
        summary_dir=root_dir + "actor",
        observers=[rb_observer],
    )


def _changed_flags(old: Any, new: Any) -> list[bool]:
    return tf.nest.flatten(
        tf.nest.map_structure(lambda a, b: not np.array_equal(a, b), old, new)
    )


def check_variables_different(
    test_case: tf.test.TestCase, old_vars_numpy: Any, new_vars_numpy: Any
) -> None:
    """Asserts that at least one variable changed (a train step ran)."""
    test_case.assertTrue(any(_changed_flags(old_vars_numpy, new_vars_numpy)))


def check_variables_same(
    test_case: tf.test.TestCase, old_vars_numpy: Any, new_vars_numpy: Any
) -> None:
    """Asserts that no variable changed (only a loss was computed)."""
    test_case.assertFalse(any(_changed_flags(old_vars_numpy, new_vars_numpy)))


def create_reverb_server_for_replay_buffer_and_variable_container(
    collect_policy: Any,
    train_step: tf.Variable,
    replay_buffer_capacity: int,
    port: int | None,
) -> Any:
    """One Reverb server with an experience table and a one-item variables table.

    The experience table ("experience") holds `collect_policy`'s collect data
    (uniform sampling, FIFO eviction); the variables table ("variables")
    holds `{"policy_variables": ..., "train_step": ...}`, TF-Agents' variable
    container layout.
    """
    from policylib import reverb

    variables = {_POLICY_KEY: collect_policy.variables(), _TRAIN_STEP_KEY: train_step}
    variables_signature = tf.nest.map_structure(
        lambda v: tf.TensorSpec(v.shape, dtype=v.dtype), variables
    )
    experience_signature = tensor_spec.add_outer_dim(
        tensor_spec.from_spec(collect_policy.collect_data_spec)
    )

    def table(name: str, max_size: int, signature: Any) -> Any:
        return reverb.Table(
            name=name,
            sampler=reverb.selectors.Uniform(),
            remover=reverb.selectors.Fifo(),
            rate_limiter=reverb.rate_limiters.MinSize(1),
            max_size=max_size,
            max_times_sampled=0,
            signature=signature,
        )

    return reverb.Server(
        tables=[
            table(_EXPERIENCE_TABLE, replay_buffer_capacity, experience_signature),
            table(_VARIABLES_TABLE, 1, variables_signature),
        ],
        port=port,
    )
