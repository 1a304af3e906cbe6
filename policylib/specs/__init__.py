"""Array and tensor specs: shapes, dtypes and bounds of policy inputs and outputs."""

from policylib.specs import (
    array_spec,
    bandit_spec_utils,
    distribution_spec,
    tensor_spec,
)
from policylib.specs.array_spec import ArraySpec, BoundedArraySpec
from policylib.specs.tensor_spec import (
    BoundedTensorSpec,
    TensorSpec,
    from_spec,
    is_bounded,
    is_continuous,
    is_discrete,
    sample_spec_nest,
    zero_spec_nest,
)

__all__ = [
    "ArraySpec",
    "BoundedArraySpec",
    "BoundedTensorSpec",
    "TensorSpec",
    "array_spec",
    "bandit_spec_utils",
    "distribution_spec",
    "from_spec",
    "is_bounded",
    "is_continuous",
    "is_discrete",
    "sample_spec_nest",
    "tensor_spec",
    "zero_spec_nest",
]
