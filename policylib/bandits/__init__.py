"""Contextual and multi-armed bandits: environments, agents, policies, networks, metrics.

TF-Agents' `tf_agents.bandits` under the same module paths; subpackages load
on first use.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules=(
        "agents drivers environments metrics multi_objective networks policies "
        "replay_buffers specs"
    ),
)
