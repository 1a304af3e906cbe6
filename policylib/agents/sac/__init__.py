"""SAC: the soft actor-critic agent and its tanh-Normal actor head."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = ("sac_agent", "tanh_normal_projection_network")

__all__ = [*_MODULES, "SacAgent"]

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), _MODULES, {"SacAgent": "sac_agent"}
)
