"""Policy exports for deployment and the policy arguments that load them.

`litert` writes a TFLite flatbuffer and specs, `LiteRTPolicy` runs it,
`spec_json` encodes the specs, `policy_source` decides once what a policy
argument is (a SavedModel, a LiteRT export or a live policy), and
`inspection` describes a saved one.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="inspection litert litert_files litert_policy policy_source spec_json",
    attributes="""
        litert_policy: LiteRTPolicy
        policy_source: PolicySource
    """,
)
