"""Data shipped with policylib: a trained CartPole-v1 DQN policy.

    from policylib import data
    policy = policy_loader.load(data.cartpole_dqn_path())

`cartpole_dqn/` is a `PolicySaver` SavedModel of the greedy policy that
`examples/train_dqn_cartpole.py` trained (Keras 3, seed 0, deterministic ops); `training.json`
beside it records the run (environment steps, learning curve, and an average
return of 495.1 over 20 held-out seeded episodes, after 10,500
environment steps).
"""

from __future__ import annotations

import os

__all__ = ["cartpole_dqn_path"]


def cartpole_dqn_path() -> str:
    """The directory of the shipped CartPole-v1 DQN policy."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "cartpole_dqn")
