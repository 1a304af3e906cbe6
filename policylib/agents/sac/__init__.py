"""SAC: the soft actor-critic agent and its tanh-Normal actor head."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="sac_agent tanh_normal_projection_network",
    attributes="""
        sac_agent: SacAgent
    """,
)
