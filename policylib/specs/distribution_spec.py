"""Specs that describe TFP distributions built from tensor parameters.

Projection networks declare their output with a `DistributionSpec`: which
distribution to build, the specs of its parameters and of its samples.
TensorFlow Probability is imported only when a distribution is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from policylib.base import nest_utils

if TYPE_CHECKING:
    from policylib.typing import types


__all__ = [
    "DistributionSpec",
    "deterministic_distribution_from_spec",
    "nested_distributions_from_specs",
]


class DistributionSpec:
    """Describes a distribution: a builder, its parameter specs and its sample spec.

    Args:
      builder: callable that returns a distribution from keyword parameters.
      input_params_spec: nest of tensor specs of the builder's tensor inputs.
      sample_spec: spec of one sample of the distribution.
      **distribution_parameters: constant keyword arguments for the builder.
    """

    __slots__ = (
        "_builder",
        "_input_params_spec",
        "_sample_spec",
        "_distribution_parameters",
    )

    def __init__(
        self,
        builder: Callable[..., types.Distribution],
        input_params_spec: types.NestedTensorSpec,
        sample_spec: types.NestedTensorSpec,
        **distribution_parameters: Any,
    ):
        self._builder = builder
        self._input_params_spec = input_params_spec
        self._sample_spec = sample_spec
        self._distribution_parameters = distribution_parameters

    @property
    def builder(self) -> Callable[..., types.Distribution]:
        return self._builder

    @property
    def input_params_spec(self) -> Any:
        return self._input_params_spec

    @property
    def sample_spec(self) -> Any:
        return self._sample_spec

    @property
    def distribution_parameters(self) -> dict[str, Any]:
        return self._distribution_parameters

    def build_distribution(self, **distribution_parameters: Any) -> types.Distribution:
        """Calls the builder with the stored constants overridden by the arguments."""
        kwargs = dict(self._distribution_parameters)
        kwargs.update(distribution_parameters)
        return self._builder(**kwargs)

    def __repr__(self) -> str:
        return (
            f"DistributionSpec(builder={self._builder!r}, "
            f"input_params_spec={self._input_params_spec!r}, "
            f"sample_spec={self._sample_spec!r})"
        )


def deterministic_distribution_from_spec(
    spec: types.NestedTensorSpec,
) -> DistributionSpec:
    """A spec for a `tfp.distributions.Deterministic` centred on a `spec`-shaped loc."""
    import tensorflow_probability as tfp  # Imported lazily: TFP is slow to import.

    return DistributionSpec(
        tfp.distributions.Deterministic, {"loc": spec}, sample_spec=spec
    )


def nested_distributions_from_specs(
    specs: types.NestedSpec, parameters: types.NestedTensor
) -> Any:
    """Builds one distribution per spec of `specs` from the matching `parameters`."""
    return nest_utils.map_structure_up_to(
        specs, lambda spec, params: spec.build_distribution(**params), specs, parameters
    )
