"""TF-Agents' bandit name for the policy utilities (`from ... import policy_utilities`).

Everything is `policylib.policies.utils`; this module only re-exports it.
"""

from policylib.policies import utils as _impl
from policylib.policies.utils import *  # noqa: F403

__all__ = list(_impl.__all__)
