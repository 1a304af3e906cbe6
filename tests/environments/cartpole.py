"""Shared pieces for the Gymnasium tests: a fixed CartPole policy and toy envs."""

from __future__ import annotations

import gymnasium
import numpy as np

from policylib.policies import py_policy
from policylib.trajectories import policy_step


class PoleAnglePolicy(py_policy.PyPolicy):
    """Pushes toward the side the pole leans to (batched or not).

    Deterministic and mediocre on purpose: episode returns vary with the
    start state, so comparing means across evaluation modes is meaningful.
    """

    def _action(self, time_step, policy_state):
        action = (np.asarray(time_step.observation)[..., 2] > 0).astype(np.int64)
        return policy_step.PolicyStep(action, policy_state, ())


class EndsEnv(gymnasium.Env):
    """Reward 1 per step; terminates at step `terminate_at`, truncates at `truncate_at`."""

    observation_space = gymnasium.spaces.Box(-1.0, 1.0, (2,), np.float32)
    action_space = gymnasium.spaces.Discrete(3, start=-1)

    def __init__(self, terminate_at=None, truncate_at=None):
        self._terminate_at = terminate_at
        self._truncate_at = truncate_at
        self.actions = []
        self._t = 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self._t = 0
        return self.np_random.uniform(-1, 1, 2).astype(np.float32), {"t": 0}

    def step(self, action):
        self.actions.append(action)
        self._t += 1
        obs = np.full(2, self._t / 100, np.float32)
        terminated = self._t == self._terminate_at
        truncated = self._t == self._truncate_at
        return obs, 1.0, terminated, truncated, {"t": self._t}
