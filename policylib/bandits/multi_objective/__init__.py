"""Multi-objective bandits: scalarizers that turn several rewards into one.

Modules load on first use, as everywhere in policylib.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(globals(), modules="multi_objective_scalarizer")
