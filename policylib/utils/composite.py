"""TF-Agents' import path `utils.composite`: the module `policylib.base.composite` itself.

The module moved to the base layer (it imports nothing above it); this name
stays for code written against `tf_agents.utils.composite`. Registering the base
module under this name makes both names one module object, so patches and
private helpers reached through either path are the same.
"""

import sys

from policylib.base import composite as _module
from policylib.base.composite import *  # noqa: F403  (names for type checkers)

sys.modules[__name__] = _module
