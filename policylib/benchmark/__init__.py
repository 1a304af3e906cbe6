"""Benchmark helpers: step timing, event-log reading, strategies, PerfZero base.

Nothing here is imported until used: `policylib.benchmark.utils` and its
siblings load TensorFlow, the package itself does not.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="distribution_strategy_utils perfzero_benchmark utils",
    attributes="""
        perfzero_benchmark: PerfZeroBenchmark
        utils: BatchTimestamp TimeHistory run_test
    """,
)
