"""TF-Agents' `suite_gym`, backed by Gymnasium (see `suite_gymnasium`).

`load` is `suite_gymnasium.load` registered with gin a second time, as
`suite_gym.load`, so that TF-Agents' gin files (`suite_gym.load.environment_name
= ...`, `@suite_gym.load()`) bind it.
"""

from __future__ import annotations

import gin

from policylib.environments import suite_gymnasium
from policylib.environments.suite_gymnasium import (
    TimeLimitWrapperType,
    check_id,
    wrap_env,
)

__all__ = ["TimeLimitWrapperType", "check_id", "load", "wrap_env"]

load = gin.external_configurable(
    suite_gymnasium.load, name="load", module="policylib.environments.suite_gym"
)
# Pickled by reference (worker processes get environment constructors): the
# wrapper must be found under its own module, not suite_gymnasium's `load`.
load.__module__ = __name__
load.__qualname__ = "load"
