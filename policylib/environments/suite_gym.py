"""TF-Agents' `suite_gym`, backed by Gymnasium (see `suite_gymnasium`)."""

from __future__ import annotations

from policylib.environments.suite_gymnasium import (
    TimeLimitWrapperType,
    check_id,
    load,
    wrap_env,
)

__all__ = ["TimeLimitWrapperType", "check_id", "load", "wrap_env"]
