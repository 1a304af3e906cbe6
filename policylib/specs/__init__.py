"""Array and tensor specs: shapes, dtypes and bounds of policy inputs and outputs.

Submodules and names load on first access, so array specs need no TensorFlow.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="array_spec bandit_spec_utils distribution_spec tensor_spec",
    attributes="""
        array_spec: ArraySpec BoundedArraySpec
        tensor_spec: BoundedTensorSpec TensorSpec from_spec is_bounded is_continuous is_discrete sample_spec_nest zero_spec_nest
    """,
)
