"""Offline RL on Pendulum-v1: CQL-SAC and behavioural cloning from a recorded Minari data set.

    python examples/offline_cql_pendulum.py --output-dir runs/offline_pendulum
    python examples/offline_cql_pendulum.py --data-steps 2000 --train-steps 200  # a smoke run

1. Record: the SAC expert shipped with policylib (`data.pendulum_sac_path()`, trained
   by `notebooks/sac_pendulum.ipynb`; `--expert` takes any saved Pendulum policy) plays
   `--data-steps` steps with Gaussian action noise and some uniformly random actions.
   `offline.record_dataset` writes them as a local Minari data set under
   `<output-dir>/datasets` (D4RL's "medium-expert" recipe; nothing is downloaded).
2. Train, from the data alone: `CqlSacAgent` (conservative Q-learning on SAC, as
   TF-Agents has it) and `BehavioralCloningAgent`, on windows of the data set.
3. Evaluate: each greedy policy is saved with `PolicySaver` and played for 20 seeded
   episodes by `policylib evaluate`; `<output-dir>/summary.json` records the data set's
   average return beside both.

Needs `pip install 'policylib[offline,gymnasium]'`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import time
from typing import Any

ENV_NAME = "Pendulum-v1"
EVAL_SEED = 10_000  # episodes never seen in the data


def default_expert() -> str:
    """The shipped SAC policy's directory."""
    from policylib import data

    return data.pendulum_sac_path()


def record(
    output_dir: str, expert_dir: str, num_steps: int, seed: int, noise: float
) -> Any:
    """The noisy-expert data set, recorded anew (its summary printed)."""
    from policylib.offline import minari_data
    from policylib.policies import py_tf_eager_policy

    os.environ["MINARI_DATASETS_PATH"] = os.path.join(output_dir, "datasets")
    expert = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        expert_dir, load_specs_from_pbtxt=True
    )
    dataset_id = f"pendulum/sac-noisy-s{seed}-n{num_steps}-v0"
    try:
        data = minari_data.MinariTrajectories(dataset_id)
    except ValueError:  # not recorded yet
        data = minari_data.record_dataset(
            dataset_id,
            ENV_NAME,
            expert,
            num_steps,
            seed=seed,
            action_noise=noise,
            random_action_prob=0.2,
            author="policylib examples",
            author_email="examples@policylib.invalid",
            code_permalink="examples/offline_cql_pendulum.py",
            description=(
                f"SAC expert on {ENV_NAME} with N(0, {noise}) torque noise and 20% "
                "random actions"
            ),
        )
    return data


def _networks(data: Any, deterministic_actor: bool) -> tuple[Any, Any]:
    from policylib.agents.ddpg import actor_network, critic_network
    from policylib.agents.sac import tanh_normal_projection_network
    from policylib.networks import actor_distribution_network

    if deterministic_actor:
        actor = actor_network.ActorNetwork(
            data.observation_spec, data.action_spec, fc_layer_params=(256, 256)
        )
    else:
        actor = actor_distribution_network.ActorDistributionNetwork(
            data.observation_spec,
            data.action_spec,
            fc_layer_params=(256, 256),
            continuous_projection_net=(
                tanh_normal_projection_network.TanhNormalProjectionNetwork
            ),
        )
    critic = critic_network.CriticNetwork(
        (data.observation_spec, data.action_spec),
        joint_fc_layer_params=(256, 256),
        kernel_initializer="glorot_uniform",
        last_kernel_initializer="glorot_uniform",
    )
    return actor, critic


def _fit(agent: Any, dataset: Any, steps: int, name: str) -> float:
    """`steps` traced train steps on `dataset`; the seconds they took."""
    from policylib.utils import common

    train = common.function(agent.train)
    iterator = iter(dataset)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        loss = train(next(iterator)).loss
        if step % max(1, steps // 5) == 0 or step == steps:
            print(f"{name}: step {step}, loss {float(loss):.3f}", flush=True)
    return time.perf_counter() - start


def train_cql(data: Any, steps: int, seed: int) -> tuple[Any, float]:
    """CQL-SAC (fixed alpha, TF-Agents' MuJoCo settings, reward scale 0.1)."""
    import tensorflow as tf

    from policylib.agents.cql import cql_sac_agent

    actor, critic = _networks(data, deterministic_actor=False)
    agent = cql_sac_agent.CqlSacAgent(
        data.time_step_spec,
        data.action_spec,
        critic_network=critic,
        actor_network=actor,
        actor_optimizer=tf.keras.optimizers.Adam(3e-4),
        critic_optimizer=tf.keras.optimizers.Adam(3e-4),
        alpha_optimizer=tf.keras.optimizers.Adam(3e-4),
        cql_alpha=5.0,
        num_cql_samples=10,
        include_critic_entropy_term=False,
        use_lagrange_cql_alpha=False,
        target_update_tau=5e-3,
        gamma=0.99,
        reward_scale_factor=0.1,
        random_seed=seed,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    seconds = _fit(
        agent, data.as_dataset(256, num_steps=2, seed=seed), steps, "CQL-SAC"
    )
    return agent, seconds


def train_bc(data: Any, steps: int, seed: int) -> tuple[Any, float]:
    """Behavioural cloning: a deterministic actor regressed onto the recorded torques."""
    import tensorflow as tf

    from policylib.agents.behavioral_cloning import behavioral_cloning_agent

    actor, _ = _networks(data, deterministic_actor=True)
    agent = behavioral_cloning_agent.BehavioralCloningAgent(
        data.time_step_spec,
        data.action_spec,
        cloning_network=actor,
        optimizer=tf.keras.optimizers.Adam(3e-4),
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    seconds = _fit(agent, data.as_dataset(256, num_steps=None, seed=seed), steps, "BC")
    return agent, seconds


def evaluate_saved(policy_dir: str, episodes: int) -> dict[str, Any]:
    """`policylib evaluate` on the save, as a user runs it; its JSON results."""
    out = policy_dir + "-eval.json"
    command = [sys.executable, "-m", "policylib", "evaluate", policy_dir]
    command += ["--env", ENV_NAME, "--episodes", str(episodes)]
    command += ["--seed", str(EVAL_SEED), "--json", out, "--quiet"]
    print("$ policylib evaluate", " ".join(command[4:-1]), flush=True)
    subprocess.run(command, check=True)
    with open(out) as f:
        return json.load(f)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="runs/offline_pendulum")
    parser.add_argument("--expert", help="saved Pendulum policy (default: shipped SAC)")
    parser.add_argument("--data-steps", type=int, default=20_000)
    parser.add_argument("--noise", type=float, default=1.0, help="torque noise std")
    parser.add_argument("--train-steps", type=int, default=10_000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import tensorflow as tf

    from policylib.policies import policy_saver

    tf.keras.utils.set_random_seed(args.seed)
    tf.config.experimental.enable_op_determinism()  # the same run every time
    expert = args.expert or default_expert()
    data = record(args.output_dir, expert, args.data_steps, args.seed, args.noise)
    summary: dict[str, Any] = {"env": ENV_NAME, "seed": args.seed}
    summary["data"] = dataclasses.asdict(data.summary())
    print(f"Data set: {summary['data']}", flush=True)
    for name, fit in (("cql_sac", train_cql), ("bc", train_bc)):
        agent, seconds = fit(data, args.train_steps, args.seed)
        policy_dir = os.path.join(args.output_dir, name)
        policy_saver.PolicySaver(agent.policy).save(policy_dir)
        result = evaluate_saved(policy_dir, args.eval_episodes)
        summary[name] = {
            "train_steps": args.train_steps,
            "train_seconds": round(seconds, 1),
            "mean_return": result["mean_return"],
            "std_return": result["std_return"],
            "policy": policy_dir,
        }
    with open(os.path.join(args.output_dir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(
        f"Average return over {args.eval_episodes} episodes: data set "
        f"{summary['data']['average_return']:.1f}, CQL-SAC "
        f"{summary['cql_sac']['mean_return']:.1f}, BC {summary['bc']['mean_return']:.1f}"
    )
    return summary


if __name__ == "__main__":
    main()
