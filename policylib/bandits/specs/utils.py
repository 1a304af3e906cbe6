"""TF-Agents' older import path for the per-arm spec helpers.

Everything is `policylib.specs.bandit_spec_utils`; this module only re-exports it.
"""

from policylib.specs import bandit_spec_utils as _impl
from policylib.specs.bandit_spec_utils import *  # noqa: F403

__all__ = list(_impl.__all__)
