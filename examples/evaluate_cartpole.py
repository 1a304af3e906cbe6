"""Evaluate the CartPole-v1 DQN policy shipped with policylib (or any saved policy).

    python examples/evaluate_cartpole.py                    # the shipped policy
    python examples/evaluate_cartpole.py runs/cartpole_dqn/policy --episodes 100

Loads the SavedModel (policylib's or TF-Agents' `PolicySaver` format), runs
seeded episodes of Gymnasium CartPole-v1 and prints the average return.
"""

from __future__ import annotations

import argparse

from policylib import data
from policylib.environments import suite_gym
from policylib.eval import metric_utils
from policylib.metrics import py_metrics
from policylib.policies import policy_loader


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", nargs="?", default=data.cartpole_dqn_path())
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=10_000)
    args = parser.parse_args()
    policy = policy_loader.load(args.policy)
    env = suite_gym.load("CartPole-v1")
    metrics = [
        py_metrics.AverageReturnMetric(buffer_size=args.episodes),
        py_metrics.AverageEpisodeLengthMetric(buffer_size=args.episodes),
    ]
    metric_utils.compute(
        metrics, env, policy, num_episodes=args.episodes, seed=args.seed
    )
    env.close()
    print(
        f"Average return: {float(metrics[0].result()):.2f} over {args.episodes} "
        f"episodes (CartPole-v1, seeds {args.seed}..{args.seed + args.episodes - 1})"
    )


if __name__ == "__main__":
    main()
