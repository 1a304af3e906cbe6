"""Keras layers used by policylib networks (work with Keras 3 and tf-keras)."""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        bias_layer dynamic_unroll_layer inner_reshape
        permanent_variable_rate_dropout rnn_wrapper squashed_outer_wrapper
    """,
    attributes="""
        bias_layer: BiasLayer
        dynamic_unroll_layer: DynamicUnroll
        inner_reshape: InnerReshape
        rnn_wrapper: RNNWrapper
        squashed_outer_wrapper: SquashedOuterWrapper
    """,
)
