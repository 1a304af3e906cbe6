"""Train a DQN agent on Gymnasium CartPole-v1 and save its greedy policy.

    python examples/train_dqn_cartpole.py --output-dir runs/cartpole_dqn
    python examples/train_dqn_cartpole.py --num-iterations 2000   # a quick smoke run

A TF-Agents training script with the import renamed: DqnAgent + QNetwork +
TFUniformReplayBuffer + DynamicStepDriver + metric_utils, seeded. Every
`--eval-interval` iterations the greedy policy is evaluated on
`--eval-episodes` seeded episodes; the best one so far is saved with
`PolicySaver` to `<output-dir>/policy`. At the end the saved policy is
evaluated on 20 fresh seeded episodes, and the learning curve (average return
against environment steps) is written as `curve.json` (and `curve.png` with
matplotlib installed: `pip install 'policylib[plot]'`).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

import numpy as np
import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.drivers import dynamic_step_driver
from policylib.environments import suite_gym, tf_py_environment
from policylib.eval import metric_utils
from policylib.metrics import py_metrics, tf_metrics
from policylib.networks import q_network
from policylib.policies import policy_saver, py_tf_eager_policy, random_tf_policy
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.utils import common

ENV_NAME = "CartPole-v1"
CONFIRM_SEED = 5_000  # episodes that confirm a candidate policy
FINAL_EVAL_SEED = 10_000  # episodes never seen while choosing the policy


def evaluate(policy: Any, num_episodes: int, seed: int) -> float:
    """Average return of a py policy over seeded CartPole episodes."""
    env = suite_gym.load(ENV_NAME)
    metric = py_metrics.AverageReturnMetric(buffer_size=num_episodes)
    metric_utils.compute([metric], env, policy, num_episodes=num_episodes, seed=seed)
    env.close()
    return float(metric.result())


def train(
    output_dir: str,
    num_iterations: int = 50_000,
    seed: int = 0,
    eval_interval: int = 250,
    eval_episodes: int = 10,
    target_return: float = 475.0,
    log: bool = True,
    learning_rate: float = 2.3e-3,
    epsilon_decay_steps: int | None = 8_000,
    target_update_tau: float = 1.0,
    target_update_period: int = 10,
    huber: bool = False,
    fc_layer_params: tuple[int, ...] = (256, 256),
) -> dict[str, Any]:
    """Trains, saves the best greedy policy to `output_dir/policy`; returns a summary.

    `epsilon_decay_steps` (None: half of `num_iterations`) is how long the
    collect policy's epsilon takes to fall from 1 to 0.01. The defaults
    (a 256-256 network, learning rate 2.3e-3, target copied every 10 steps)
    follow the RL Baselines3 Zoo's tuned DQN for CartPole-v1.
    """
    tf.keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()  # the same run every time
    train_py_env = suite_gym.load(ENV_NAME)
    train_py_env.seed(seed)
    train_env = tf_py_environment.TFPyEnvironment(train_py_env)

    q_net = q_network.QNetwork(
        train_env.observation_spec(),
        train_env.action_spec(),
        fc_layer_params=fc_layer_params,
    )
    train_step = tf.Variable(0, dtype=tf.int64)
    epsilon = tf.keras.optimizers.schedules.PolynomialDecay(
        initial_learning_rate=1.0,
        decay_steps=num_iterations // 2,
        end_learning_rate=0.01,
    )
    agent = dqn_agent.DqnAgent(
        train_env.time_step_spec(),
        train_env.action_spec(),
        q_network=q_net,
        optimizer=tf.keras.optimizers.Adam(learning_rate=learning_rate),
        epsilon_greedy=lambda: epsilon(train_step),
        target_update_tau=target_update_tau,
        target_update_period=target_update_period,
        gamma=0.99,
        td_errors_loss_fn=(
            common.element_wise_huber_loss
            if huber
            else common.element_wise_squared_loss
        ),
        train_step_counter=train_step,
    )
    agent.initialize()

    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=train_env.batch_size, max_length=100_000
    )
    random_policy = random_tf_policy.RandomTFPolicy(
        train_env.time_step_spec(), train_env.action_spec()
    )
    env_steps = tf_metrics.EnvironmentSteps()
    observers = [buffer.add_batch, env_steps]
    dynamic_step_driver.DynamicStepDriver(
        train_env, random_policy, observers=observers, num_steps=1_000
    ).run()
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            train_env, agent.collect_policy, observers=observers, num_steps=1
        ).run
    )
    dataset = buffer.as_dataset(
        sample_batch_size=64, num_steps=agent.train_sequence_length
    ).prefetch(3)
    iterator = iter(dataset)
    agent_train = common.function(agent.train)

    # The save records its train step and environment steps (`policylib inspect`).
    saved_env_steps = tf.Variable(0, dtype=tf.int64, name="env_steps")
    saver = policy_saver.PolicySaver(
        agent.policy, train_step=train_step, metadata={"env_steps": saved_env_steps}
    )
    greedy = py_tf_eager_policy.PyTFEagerPolicy(agent.policy)
    policy_dir = os.path.join(output_dir, "policy")
    curve: list[tuple[int, float]] = []
    best = -np.inf
    start = time.perf_counter()
    time_step, policy_state = None, None
    for iteration in range(1, num_iterations + 1):
        time_step, policy_state = collect(time_step, policy_state)
        experience, _ = next(iterator)
        agent_train(experience)
        if iteration % eval_interval == 0 or iteration == num_iterations:
            average = evaluate(greedy, eval_episodes, seed=seed + 1_000 * iteration)
            steps = int(env_steps.result())
            curve.append((steps, average))
            if log:
                print(
                    f"iteration {iteration}: env steps {steps}, "
                    f"average return {average:.1f} (best {max(best, average):.1f})",
                    flush=True,
                )
            if average < best:
                continue
            best = average
            saved_env_steps.assign(steps)
            saver.save(policy_dir)
            # A candidate: confirm on the held-out episodes before stopping.
            if (
                average >= target_return
                and evaluate(greedy, 20, FINAL_EVAL_SEED) >= target_return
            ):
                break
    train_seconds = time.perf_counter() - start

    saved = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        policy_dir, load_specs_from_pbtxt=True
    )
    final = evaluate(saved, 20, seed=FINAL_EVAL_SEED)
    summary = {
        "env": ENV_NAME,
        "seed": seed,
        "iterations": iteration,
        "env_steps": int(env_steps.result()),
        "train_seconds": round(train_seconds, 1),
        "best_eval_return": best,
        "final_average_return_20_episodes": final,
        "curve": curve,
    }
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "curve.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary


def plot_curve(summary: dict[str, Any], path: str) -> bool:
    """Writes the learning curve as a PNG; False (with a note) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "Plot skipped: matplotlib is not installed: pip install 'policylib[plot]'"
        )
        return False
    steps, returns = zip(*summary["curve"])
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, returns, marker="o")
    ax.axhline(475, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("average return")
    ax.set_title(f"DQN on {summary['env']} (seed {summary['seed']})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="runs/cartpole_dqn")
    parser.add_argument("--num-iterations", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--eval-interval", type=int, default=250)
    parser.add_argument("--eval-episodes", type=int, default=10)
    args = parser.parse_args()
    summary = train(
        args.output_dir,
        num_iterations=args.num_iterations,
        seed=args.seed,
        eval_interval=args.eval_interval,
        eval_episodes=args.eval_episodes,
    )
    plot_curve(summary, os.path.join(args.output_dir, "curve.png"))
    print(
        f"Saved policy: {os.path.join(args.output_dir, 'policy')}; average return "
        f"{summary['final_average_return_20_episodes']:.1f} over 20 episodes, after "
        f"{summary['env_steps']} environment steps in {summary['train_seconds']} s."
    )


if __name__ == "__main__":
    main()
