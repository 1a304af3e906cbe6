"""Evaluate the CartPole-v1 DQN policy shipped with policylib (or any saved policy).

    python examples/evaluate_cartpole.py                    # the shipped policy
    python examples/evaluate_cartpole.py runs/cartpole_dqn/policy --episodes 100

Loads the SavedModel (policylib's or TF-Agents' `PolicySaver` format), runs
seeded episodes of Gymnasium CartPole-v1 and prints the average return. The
`policylib evaluate` command does the same with more options.
"""

from __future__ import annotations

import argparse

from policylib import data
from policylib.eval import evaluate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", nargs="?", default=data.cartpole_dqn_path())
    parser.add_argument("--episodes", type=int, default=20)
    parser.add_argument("--seed", type=int, default=10_000)
    args = parser.parse_args()
    result = evaluate(
        args.policy, "CartPole-v1", args.episodes, seed=args.seed, progress=False
    )
    print(
        f"Average return: {result.mean_return:.2f} over {args.episodes} "
        f"episodes (CartPole-v1, seeds {args.seed}..{args.seed + args.episodes - 1})"
    )


if __name__ == "__main__":
    main()
