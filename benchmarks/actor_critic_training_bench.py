"""SAC and PPO training throughput: `agent.train` calls per second.

    python benchmarks/actor_critic_training_bench.py --lib policylib
    TF_USE_LEGACY_KERAS=1 <tf-agents venv>/bin/python \
        benchmarks/actor_critic_training_bench.py --lib tf_agents

The same configuration in either library, on Pendulum-v1's specs (3 floats in,
1 torque in [-2, 2] out), under `common.function`:

- SAC: `ActorDistributionNetwork` (256, 256) with a `TanhNormalProjectionNetwork`,
  `CriticNetwork` joint (256, 256), Adam 3e-4, batches of 256 two-step
  trajectories drawn from a `TFUniformReplayBuffer` of 10,000 steps.
- PPO: `PPOClipAgent`, `ActorDistributionNetwork` and `ValueNetwork` (64, 64),
  GAE, 10 epochs per `train`, on a `[8, 128]` batch the collect policy acted.

The experience is synthetic (seeded random observations) but made by each
library's own collect policy, so its structure and policy info are real.
Prints one JSON line with the median rate over `--trials` timed trials.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform

import numpy as np
from dqn_training_bench import timed  # the same timing, beside this script


def acted_trajectories(
    tf, lib, policy, time_step_spec, batch: int, steps: int, seed: int
):
    """`[batch, steps]` trajectories of `policy` on random observations (episodes of 32)."""
    ts = importlib.import_module(f"{lib}.trajectories.time_step")
    trajectory = importlib.import_module(f"{lib}.trajectories.trajectory")
    rng = np.random.default_rng(seed)
    observation = rng.uniform(-1, 1, size=(batch, steps, 3)).astype(np.float32)
    step_type = np.full((batch, steps), ts.StepType.MID, np.int32)
    step_type[:, ::32] = ts.StepType.FIRST
    step_type[:, 31::32] = ts.StepType.LAST
    next_step_type = np.roll(step_type, -1, axis=1)
    flat_steps = ts.TimeStep(
        step_type=tf.constant(step_type.reshape(-1)),
        reward=tf.zeros([batch * steps]),
        discount=tf.ones([batch * steps]),
        observation=tf.constant(observation.reshape(-1, 3)),
    )
    policy_step = policy.action(flat_steps)
    unflatten = lambda t: tf.reshape(t, [batch, steps] + t.shape[1:].as_list())  # noqa: E731
    return trajectory.Trajectory(
        step_type=tf.constant(step_type),
        observation=tf.constant(observation),
        action=unflatten(policy_step.action),
        policy_info=tf.nest.map_structure(unflatten, policy_step.info),
        next_step_type=tf.constant(next_step_type),
        reward=tf.constant(-(observation[..., 0] ** 2)),
        discount=tf.constant(
            np.where(step_type == ts.StepType.LAST, 0.0, 1.0), tf.float32
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lib", choices=["policylib", "tf_agents"], default="policylib"
    )
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--sac-calls", type=int, default=200)
    parser.add_argument("--ppo-calls", type=int, default=10)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mod = lambda name: importlib.import_module(f"{args.lib}.{name}")  # noqa: E731
    tensor_spec = mod("specs.tensor_spec")
    ts = mod("trajectories.time_step")
    common = mod("utils.common")
    actor_distribution_network = mod("networks.actor_distribution_network")
    observation_spec = tensor_spec.BoundedTensorSpec([3], tf.float32, -8.0, 8.0)
    action_spec = tensor_spec.BoundedTensorSpec([1], tf.float32, -2.0, 2.0)
    time_step_spec = ts.time_step_spec(observation_spec)
    tf.keras.utils.set_random_seed(0)

    # SAC
    sac_agent = mod("agents.sac.sac_agent")
    tanh_normal = mod("agents.sac.tanh_normal_projection_network")
    critic_network = mod("agents.ddpg.critic_network")
    buffers = mod("replay_buffers.tf_uniform_replay_buffer")
    sac = sac_agent.SacAgent(
        time_step_spec,
        action_spec,
        actor_network=actor_distribution_network.ActorDistributionNetwork(
            observation_spec,
            action_spec,
            fc_layer_params=(256, 256),
            continuous_projection_net=tanh_normal.TanhNormalProjectionNetwork,
        ),
        critic_network=critic_network.CriticNetwork(
            (observation_spec, action_spec), joint_fc_layer_params=(256, 256)
        ),
        actor_optimizer=tf.keras.optimizers.Adam(3e-4),
        critic_optimizer=tf.keras.optimizers.Adam(3e-4),
        alpha_optimizer=tf.keras.optimizers.Adam(3e-4),
        target_update_tau=0.005,
        gamma=0.99,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    sac.initialize()
    buffer = buffers.TFUniformReplayBuffer(
        sac.collect_data_spec, batch_size=8, max_length=1_250
    )
    experience = acted_trajectories(
        tf, args.lib, sac.collect_policy, time_step_spec, 8, 1_248, seed=0
    )
    for t in range(1_248):
        buffer.add_batch(tf.nest.map_structure(lambda x, t=t: x[:, t], experience))
    iterator = iter(buffer.as_dataset(sample_batch_size=256, num_steps=2).prefetch(3))
    sac_train = common.function(sac.train)

    def sac_step() -> None:
        sac_train(next(iterator)[0])

    for _ in range(20):  # traces and optimizer slots
        sac_step()

    # PPO
    ppo_clip_agent = mod("agents.ppo.ppo_clip_agent")
    value_network = mod("networks.value_network")
    ppo = ppo_clip_agent.PPOClipAgent(
        time_step_spec,
        action_spec,
        optimizer=tf.keras.optimizers.Adam(3e-4),
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            observation_spec, action_spec, fc_layer_params=(64, 64)
        ),
        value_net=value_network.ValueNetwork(
            observation_spec, fc_layer_params=(64, 64)
        ),
        importance_ratio_clipping=0.2,
        use_gae=True,
        num_epochs=10,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    ppo.initialize()
    ppo_experience = acted_trajectories(
        tf, args.lib, ppo.collect_policy, time_step_spec, 8, 128, seed=1
    )
    ppo_train = common.function(ppo.train)

    def ppo_step() -> None:
        ppo_train(ppo_experience)

    for _ in range(2):
        ppo_step()

    result = {
        "lib": args.lib,
        "keras": "tf-keras"
        if os.environ.get("TF_USE_LEGACY_KERAS") == "1"
        else "Keras 3",
        "tf": tf.__version__,
        "python": platform.python_version(),
        "sac_train_steps_per_s": round(timed(sac_step, args.trials, args.sac_calls), 1),
        "ppo_train_calls_per_s": round(timed(ppo_step, args.trials, args.ppo_calls), 2),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
