"""Distribution helpers: squashing to a spec, parameter records, output specs.

- `SquashToSpecNormal` / `scale_distribution_to_spec`: a Normal squashed by
  `tanh` into a bounded action spec.
- `Params`, `get_parameters`, `make_from_parameters`, `parameters_to_dict`,
  `merge_to_parameters_from_dict`: a distribution (or bijector, linear
  operator) as a nested record of its constructor arguments, to edit and
  rebuild.
- `DistributionSpecV2`, `assert_specs_are_compatible`: what a network emitting
  distributions promises (see `Network.create_variables`).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import numpy as np
import tensorflow as tf
import tensorflow_probability as tfp

from policylib.base import nest_utils
from policylib.distributions import tanh_bijector_stable
from policylib.distributions.type_spec_names import register_under_tf_agents_name
from policylib.specs import tensor_spec
from policylib.typing import types
from policylib.utils import common

__all__ = [
    "DistributionSpecV2",
    "Params",
    "SquashToSpecNormal",
    "assert_specs_are_compatible",
    "get_parameters",
    "make_from_parameters",
    "merge_to_parameters_from_dict",
    "parameters_to_dict",
    "scale_distribution_to_spec",
]


def scale_distribution_to_spec(
    distribution: tfp.distributions.Distribution, spec: tf.TensorSpec
) -> SquashToSpecNormal:
    """`distribution` squashed into the bounds of `spec`."""
    return SquashToSpecNormal(distribution, spec)


class SquashToSpecNormal(tfp.distributions.AutoCompositeTensorDistribution):
    """`Y = magnitude * tanh(X) + mean` for a Normal `X` and a bounded spec.

    Samples always lie inside the spec. The unsquashed distribution is kept
    (`input_distribution`), so the KL divergence between two squashed
    distributions of the same spec is that of their inputs (the change of
    variables is invertible). `mode()` and `mean()` are the squashed mode.

    Args:
      distribution: a `Normal` or `MultivariateNormalDiag`.
      spec: the bounded action spec.
    """

    def __init__(
        self,
        distribution: tfp.distributions.Distribution,
        spec: tf.TensorSpec,
        validate_args: bool = False,
        name: str = "SquashToSpecNormal",
    ):
        parameters = dict(locals())
        if not isinstance(
            distribution,
            (tfp.distributions.Normal, tfp.distributions.MultivariateNormalDiag),
        ):
            raise ValueError(
                "SquashToSpecNormal needs a Normal or MultivariateNormalDiag input "
                f"distribution, got {distribution}."
            )
        self.action_means, self.action_magnitudes = common.spec_means_and_magnitudes(
            spec
        )
        self._distribution = distribution
        self._spec = spec
        squash = tfp.bijectors.Chain(
            [
                tfp.bijectors.Shift(self.action_means)(
                    tfp.bijectors.Scale(self.action_magnitudes)
                ),
                tanh_bijector_stable.Tanh(),
            ]
        )
        self._squashed_distribution = tfp.distributions.TransformedDistribution(
            distribution=distribution, bijector=squash
        )
        super().__init__(
            dtype=distribution.dtype,
            reparameterization_type=distribution.reparameterization_type,
            validate_args=validate_args,
            allow_nan_stats=distribution.allow_nan_stats,
            parameters=parameters,
            name=name,
        )

    @classmethod
    def _parameter_properties(cls, dtype, num_classes=None):
        return dict(distribution=tfp.util.BatchedComponentProperties())

    @property
    def input_distribution(self) -> tfp.distributions.Distribution:
        """The Normal before squashing."""
        return self._distribution

    def kl_divergence(
        self, other: tfp.distributions.Distribution, name: str = "kl_divergence"
    ) -> tf.Tensor:
        """KL divergence to another `SquashToSpecNormal` of the same spec."""
        if not isinstance(other, SquashToSpecNormal):
            raise ValueError(
                f"kl_divergence needs another SquashToSpecNormal, got {other}."
            )
        if np.any(self.action_means != other.action_means) or np.any(
            self.action_magnitudes != other.action_magnitudes
        ):
            raise ValueError(
                "kl_divergence needs distributions squashed to the same spec: means "
                f"{self.action_means} vs {other.action_means}, magnitudes "
                f"{self.action_magnitudes} vs {other.action_magnitudes}."
            )
        return self.input_distribution.kl_divergence(other.input_distribution, name)

    def sample(self, sample_shape=(), seed=None, name: str = "sample") -> tf.Tensor:
        return self._squashed_distribution.sample(sample_shape, seed, name)

    def log_prob(self, value: types.Tensor, name: str = "log_prob") -> tf.Tensor:
        return self._squashed_distribution.log_prob(value, name)

    def prob(self, value: types.Tensor, name: str = "prob") -> tf.Tensor:
        return self._squashed_distribution.prob(value, name)

    def stddev(self, name: str = "stddev") -> tf.Tensor:
        return self.action_magnitudes * tf.tanh(self.input_distribution.stddev())

    def mode(self, name: str = "mode") -> tf.Tensor:
        return (
            self.action_magnitudes * tf.tanh(self.input_distribution.mode())
            + self.action_means
        )

    def mean(self, name: str = "mean", **kwargs: Any) -> tf.Tensor:
        return self.mode(name)

    def event_shape_tensor(self, name: str = "event_shape_tensor") -> tf.Tensor:
        return self._squashed_distribution.event_shape_tensor(name)

    def batch_shape_tensor(self, name: str = "batch_shape_tensor") -> tf.Tensor:
        return self._squashed_distribution.batch_shape_tensor(name)


class Params:
    """A distribution (or any object with `.parameters`) as a nested record.

    `type_` is the class; `params` maps constructor argument names to values
    that differ from the defaults, with nested parameterized objects (a
    TransformedDistribution's bijector, a LinearOperator) as `Params` too.
    Edit `params` and call `make_from_parameters` to build a new object.
    """

    def __init__(self, type_: type, params: Mapping[str, Any]):
        self.type_ = type_
        self.params = params

    def __str__(self) -> str:
        return f"<Params: type={self.type_}, params={self.params}>"

    __repr__ = __str__

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(self, type(other))
            and self.type_ == other.type_
            and self.params == other.params
        )


def _default_arguments(cls: Any) -> dict[str, object]:
    signature = inspect.signature(cls.__init__)
    return {
        name: p.default
        for name, p in signature.parameters.items()
        if p.default is not inspect.Parameter.empty
    }


def get_parameters(value: object) -> Params:
    """The `Params` record of `value` (whose `.parameters` must be a dict).

    Arguments left at their default (by identity) are omitted.

    Raises:
      TypeError: `value` has no `parameters` dict.
    """
    parameters = getattr(value, "parameters", None)
    if not isinstance(parameters, Mapping):
        raise TypeError(
            f"get_parameters needs an object with a `parameters` dict; {value!r} has "
            f"parameters={parameters!r}."
        )

    def _record(leaf: object) -> object:
        return (
            get_parameters(leaf)
            if getattr(leaf, "parameters", None) is not None
            else leaf
        )

    defaults = _default_arguments(type(value))
    params = {
        name: tf.nest.map_structure(_record, arg)
        for name, arg in parameters.items()
        if arg is not defaults.get(name, None)
    }
    return Params(type(value), params)


def make_from_parameters(value: Params) -> Any:
    """Builds `value.type_(**value.params)`, building nested `Params` first."""

    def _build(leaf: object) -> object:
        return make_from_parameters(leaf) if isinstance(leaf, Params) else leaf

    kwargs = {
        name: tf.nest.map_structure(_build, arg) for name, arg in value.params.items()
    }
    return value.type_(**kwargs)


def _is_tensor_or_spec(value: object) -> bool:
    return tf.is_tensor(value) or isinstance(value, tf.TypeSpec)


def parameters_to_dict(value: Params, tensors_only: bool = False) -> dict[str, Any]:
    """`value` as nested dicts without types.

    Nested `Params` become sub-dicts; a nested argument (list, dict) is
    flattened into keys `'<name>:<path>'` (e.g. `'bijectors:0'`).

    Args:
      value: a `Params` record.
      tensors_only: keep only tensor and `TypeSpec` leaves (and the sub-dicts).
    """
    entries: dict[str, Any] = {}

    def _add(key: str, leaf: Any) -> None:
        if isinstance(leaf, Params):
            entries[key] = parameters_to_dict(leaf, tensors_only)
        elif not tensors_only or _is_tensor_or_spec(leaf):
            entries[key] = leaf

    for name, arg in value.params.items():
        if tf.nest.is_nested(arg):
            for path, leaf in nest_utils.flatten_with_joined_paths(arg):
                _add(f"{name}:{path}", leaf)
        else:
            _add(name, arg)
    return entries


def merge_to_parameters_from_dict(
    value: Params, params_dict: Mapping[str, Any] | None
) -> Params:
    """A new `Params`: `value` with the entries of `params_dict` (from `parameters_to_dict`).

    Missing plain keys keep `value`'s entry; a nested argument must be given
    completely or not at all.

    Raises:
      ValueError: `params_dict` has keys that `value` does not.
      KeyError: only some entries of a nested argument were given.
    """
    params_dict = params_dict or {}
    used: set[str] = set()
    new_params: dict[str, Any] = {}
    for name, arg in value.params.items():
        if not tf.nest.is_nested(arg):
            used.add(name)
            new_params[name] = _merged_leaf(arg, params_dict.get(name))
            continue
        required: list[str] = []
        given: list[str] = []

        def _merge(
            path: str,
            leaf: object,
            name: str = name,
            required: list = required,
            given: list = given,
        ) -> object:
            key = f"{name}:{path}"
            used.add(key)
            required.append(key)
            override = params_dict.get(key)
            if override is not None:
                given.append(key)
            return _merged_leaf(leaf, override)

        new_params[name] = nest_utils.map_structure_with_paths(_merge, arg)
        if given and sorted(given) != sorted(required):
            raise KeyError(
                f"Only saw partial information from the dictionary for nested key "
                f"'{name}' in params_dict.  Entries provided: {sorted(given)}.  "
                f"Entries required: {sorted(required)}"
            )
    unknown = set(params_dict) - used
    if unknown:
        raise ValueError(
            "params_dict had keys that were not part of value.params.  params_dict keys: "
            f"{sorted(params_dict)}, value.params processed keys: {sorted(used)}"
        )
    return Params(type_=value.type_, params=new_params)


def _merged_leaf(leaf: Any, override: Any) -> Any:
    if isinstance(leaf, Params):
        return merge_to_parameters_from_dict(leaf, override)
    return leaf if override is None else override


def _assert_no_tensors(parameters: Params) -> None:
    for leaf in tf.nest.flatten(parameters.params):
        if isinstance(leaf, Params):
            _assert_no_tensors(leaf)
        elif tf.is_tensor(leaf):
            raise TypeError(
                f"DistributionSpecV2 parameters must hold specs, not tensors: {parameters}"
            )


class DistributionSpecV2:
    """The spec of a distribution output: event shape, dtype and parameter specs.

    Args:
      event_shape: shape of one sample.
      dtype: sample dtype.
      parameters: `Params` whose tensors were replaced by `tf.TypeSpec`s.
    """

    def __init__(
        self, event_shape: tf.TensorShape, dtype: tf.DType, parameters: Params
    ):
        _assert_no_tensors(parameters)
        self._event_shape = tf.TensorShape(event_shape)
        self._dtype = tf.as_dtype(dtype)
        self._parameters = parameters
        self._event_spec = tf.TensorSpec(shape=self._event_shape, dtype=self._dtype)

    @property
    def event_shape(self) -> tf.TensorShape:
        return self._event_shape

    @property
    def dtype(self) -> tf.DType:
        return self._dtype

    @property
    def event_spec(self) -> tf.TensorSpec:
        return self._event_spec

    @property
    def parameters(self) -> Params:
        return self._parameters

    def __eq__(self, other: Any) -> bool:
        return (
            isinstance(self, type(other))
            and self._event_shape == other._event_shape
            and self._dtype == other._dtype
            and self._parameters == other._parameters
        )

    def __str__(self) -> str:
        return (
            f"<DistributionSpecV2: event_shape={self.event_shape}, dtype={self.dtype}, "
            f"parameters={self.parameters}>"
        )

    __repr__ = __str__


def assert_specs_are_compatible(
    network_output_spec: types.NestedSpec,
    spec: types.NestedTensorSpec,
    message_prefix: str,
) -> None:
    """Raises ValueError unless a network's output spec matches `spec`.

    Distribution outputs are compared by their event spec.
    """

    def _event(s: types.TensorSpec) -> types.TensorSpec:
        return (
            s.event_spec
            if isinstance(s, DistributionSpecV2)
            else tensor_spec.from_spec(s)
        )

    event_spec = tf.nest.map_structure(_event, network_output_spec)
    message = f"{message_prefix}:\n{event_spec}\nvs.\n{spec}"
    nest_utils.assert_same_structure(event_spec, spec, message=message)
    for (path, got), expected in zip(
        nest_utils.flatten_with_joined_paths(event_spec), tf.nest.flatten(spec)
    ):
        if not got.is_compatible_with(expected):
            raise ValueError(
                f"{message_prefix}: at {path or '<root>'}, the network emits "
                f"{got.dtype.name}{list(got.shape)} where the spec expects "
                f"{expected.dtype.name}{list(expected.shape)}.\n{event_spec}\nvs.\n{spec}"
            )


# Saved distributions cross to and from TF-Agents under its type-spec names.
register_under_tf_agents_name(SquashToSpecNormal, "tf_agents.distributions.utils")
