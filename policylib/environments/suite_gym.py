"""TF-Agents' `suite_gym`, backed by Gymnasium (see `suite_gymnasium`)."""

from __future__ import annotations

from policylib.environments.suite_gymnasium import TimeLimitWrapperType, load, wrap_env

__all__ = ["TimeLimitWrapperType", "load", "wrap_env"]
