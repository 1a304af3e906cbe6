"""TF-Agents' import path `utils.nest_utils`: the module `policylib.base.nest_utils` itself.

The module moved to the base layer (it imports nothing above it); this name
stays for code written against `tf_agents.utils.nest_utils`. Registering the base
module under this name makes both names one module object, so patches and
private helpers reached through either path are the same.
"""

import sys

from policylib.base import nest_utils as _module
from policylib.base.nest_utils import *  # noqa: F403  (names for type checkers)

sys.modules[__name__] = _module
