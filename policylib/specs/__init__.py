"""Array and tensor specs: shapes, dtypes and bounds of policy inputs and outputs.

Submodules and names load on first access, so array specs need no TensorFlow.
"""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "array_spec",
    "bandit_spec_utils",
    "distribution_spec",
    "spec_json",
    "tensor_spec",
)

_ATTRIBUTES = {
    "ArraySpec": "array_spec",
    "BoundedArraySpec": "array_spec",
    "BoundedTensorSpec": "tensor_spec",
    "TensorSpec": "tensor_spec",
    "from_spec": "tensor_spec",
    "is_bounded": "tensor_spec",
    "is_continuous": "tensor_spec",
    "is_discrete": "tensor_spec",
    "sample_spec_nest": "tensor_spec",
    "zero_spec_nest": "tensor_spec",
}

__all__ = [*_MODULES, *_ATTRIBUTES]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES, _ATTRIBUTES)
