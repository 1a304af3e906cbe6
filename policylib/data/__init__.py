"""Data shipped with policylib: trained CartPole-v1 DQN and Pendulum-v1 SAC policies.

    from policylib import data
    policy = policy_loader.load(data.cartpole_dqn_path())

`cartpole_dqn/` is a `PolicySaver` SavedModel of the greedy policy that
`examples/train_dqn_cartpole.py` trained (Keras 3, seed 0, deterministic ops); `training.json`
beside it records the run (environment steps, learning curve, and an average
return of 495.1 over 20 held-out seeded episodes, after 10,500
environment steps).

`pendulum_sac/` is the greedy policy that `notebooks/sac_pendulum.ipynb` saved
(Keras 3, seed 0); `training.json` records its run. It is the expert of
`examples/offline_cql_pendulum.py`, which records an offline data set from it.
"""

from __future__ import annotations

import os

__all__ = ["cartpole_dqn_path", "pendulum_sac_path"]


def cartpole_dqn_path() -> str:
    """The directory of the shipped CartPole-v1 DQN policy."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "cartpole_dqn")


def pendulum_sac_path() -> str:
    """The directory of the shipped Pendulum-v1 SAC policy."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "pendulum_sac")
