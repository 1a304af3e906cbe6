"""CQL: conservative Q-learning on top of SAC, for offline RL."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="cql_sac_agent",
    attributes="""
        cql_sac_agent: CqlSacAgent
    """,
)
