"""Drivers: run a policy in an environment and feed what happens to observers."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        driver dynamic_episode_driver dynamic_step_driver py_driver test_utils
        tf_driver
    """,
)
