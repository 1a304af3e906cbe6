"""`StaticMixtureAgent`: a `MixtureAgent` whose mixture distribution never changes.

    agent = StaticMixtureAgent(
        tfp.distributions.Categorical(probs=[0.7, 0.3]), [lin_ucb, eps_greedy]
    )

Training trains each sub-agent on the samples it chose; the probabilities of
choosing each sub-agent stay as given (or as whoever owns their variables
sets them).
"""

from __future__ import annotations

from typing import Any

import gin

from policylib.bandits.agents import mixture_agent
from policylib.trajectories import trajectory

__all__ = ["StaticMixtureAgent"]


@gin.configurable
class StaticMixtureAgent(mixture_agent.MixtureAgent):
    """Mixes sub-agents with a fixed distribution; see `MixtureAgent` for the arguments."""

    def _update_mixture_distribution(self, experience: trajectory.Trajectory) -> Any:
        del experience  # The mixture is static.
        return None
