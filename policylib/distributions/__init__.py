"""TFP distributions and helpers used by policies (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        gumbel_softmax masked reparameterized_sampling shifted_categorical
        tanh_bijector_stable utils
    """,
)
