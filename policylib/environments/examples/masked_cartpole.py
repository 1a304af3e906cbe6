"""CartPole without its velocities, registered as `MaskedCartPole-v0` / `-v1`.

The pole's state can only be told from a history of observations, which makes
it a small test problem for agents with recurrent networks. Importing this
module registers the ids with Gymnasium, so that afterwards

    from policylib.environments import suite_gym
    from policylib.environments.examples import masked_cartpole  # registers

    env = suite_gym.load("MaskedCartPole-v0")

works as in TF-Agents (whose version subclasses gym's CartPole; this one
subclasses Gymnasium's, whose `reset` and `step` return Gymnasium's tuples).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from policylib.base import extras

if TYPE_CHECKING:
    import gymnasium
    from gymnasium.envs.classic_control import cartpole
else:
    gymnasium = extras.require(
        "gymnasium", extra="gymnasium", feature="Gym environments"
    )
    from gymnasium.envs.classic_control import cartpole

__all__ = ["ENV_IDS", "MaskedCartPoleEnv", "register"]

# Observation entries kept: cart position (0) and pole angle (2).
_KEPT = [0, 2]

# id -> (episode step limit, reward threshold), CartPole's v0 and v1 settings.
ENV_IDS = {
    "MaskedCartPole-v0": (200, 195.0),
    "MaskedCartPole-v1": (500, 475.0),
}


class MaskedCartPoleEnv(cartpole.CartPoleEnv):
    """Gymnasium's CartPole observing only the cart position and pole angle.

    Args:
      **kwargs: passed to `CartPoleEnv` (e.g. `render_mode`).
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        high = np.array(
            [self.x_threshold * 2, self.theta_threshold_radians * 2], dtype=np.float32
        )
        self.observation_space = gymnasium.spaces.Box(-high, high, dtype=np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict | None = None
    ) -> tuple[np.ndarray, dict]:
        observation, info = super().reset(seed=seed, options=options)
        return _mask(observation), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        observation, reward, terminated, truncated, info = super().step(action)
        return _mask(observation), reward, terminated, truncated, info


def _mask(observation: np.ndarray) -> np.ndarray:
    """The position and angle entries of a full CartPole observation."""
    return np.asarray(observation, dtype=np.float32)[_KEPT]


def register() -> None:
    """Registers the `ENV_IDS` with Gymnasium (ids already registered are kept)."""
    for env_id, (max_episode_steps, reward_threshold) in ENV_IDS.items():
        if env_id in gymnasium.envs.registry:
            continue
        gymnasium.register(
            id=env_id,
            entry_point=f"{__name__}:MaskedCartPoleEnv",
            max_episode_steps=max_episode_steps,
            reward_threshold=reward_threshold,
        )


register()
