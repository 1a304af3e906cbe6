"""`Network`: the Keras layer base class of policy networks.

A network maps `(inputs, step_type, network_state)` to `(outputs, new_state)`:

    outputs, state = net(observation, step_type=step_type, network_state=state)

Subclasses implement `call` (it may leave out `step_type`, `network_state` or
`training`; arguments it does not accept are not passed), and build their
layers in `__init__`. `create_variables()` builds the network from its input
spec and returns its output spec; `copy()` makes an unbuilt twin from the
recorded constructor arguments.

Works with Keras 3 and tf-keras alike: `variables` (and so `TFPolicy.variables()`,
`update()` and `tf.train.Checkpoint`) see Keras 3 weights too, through
`utils.keras_compat`.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

import tensorflow as tf

from policylib import _tf_patches
from policylib.base import nest_utils
from policylib.networks import layer_utils
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types
from policylib.utils import common, keras_compat

# TF-Agents code passes NumPy unit counts to Dense; Keras 3 needs a patch to
# accept them (see `_tf_patches`).
_tf_patches.install("networks")

__all__ = [
    "DistributionNetwork",
    "Network",
    "create_variables",
    "get_state_spec",
    "layer_initial_state",
]

# Arguments the policies pass that a user's `call` may not accept.
_OPTIONAL_CALL_ARGUMENTS = ("step_type", "network_state", "training", "mask")


def _constructor_arguments(cls: Any, args: tuple, kwargs: dict) -> dict | None:
    """`cls(*args, **kwargs)`'s arguments by name (None if they do not bind)."""
    signature = inspect.signature(cls.__init__)
    try:
        bound = signature.bind(None, *args, **kwargs)
    except TypeError:
        return None  # __init__ raises Python's own message.
    saved: dict = {}
    for name, value in list(bound.arguments.items())[1:]:
        kind = signature.parameters[name].kind
        if kind == inspect.Parameter.VAR_KEYWORD:
            saved.update(value)
        elif kind == inspect.Parameter.VAR_POSITIONAL:
            if value:
                raise RuntimeError(
                    f"{cls.__name__}.__init__ got positional *args; Network subclasses need "
                    "named constructor arguments so that copy() can rebuild them."
                )
        else:
            saved[name] = value
    return saved


class Network(tf.keras.layers.Layer):
    """Base class of policy networks.

    Args:
      input_tensor_spec: nest of `TensorSpec`s of the inputs (no batch dim);
        inputs are checked against it.
      state_spec: nest of `TensorSpec`s of the recurrent state; `()` if none.
      name: layer name ('/' is replaced, Keras 3 forbids it).
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Network:
        instance = keras_compat.new_layer(super(), cls, args, kwargs)
        # Kept for copy(); set without Keras attribute tracking.
        object.__setattr__(
            instance, "_saved_kwargs", _constructor_arguments(cls, args, kwargs)
        )
        return instance

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec | None = None,
        state_spec: types.NestedTensorSpec = (),
        name: str | None = None,
    ):
        super().__init__(name=keras_compat.safe_layer_name(name), autocast=False)
        keras_compat.accept_policy_call_arguments(self)
        self._input_tensor_spec = (
            None
            if input_tensor_spec is None
            else tensor_spec.from_spec(input_tensor_spec)
        )
        self._state_spec = tensor_spec.from_spec(state_spec)
        self._network_output_spec = None
        call_parameters = inspect.signature(self.call).parameters
        self._call_accepts_any_kwargs = any(
            p.kind == p.VAR_KEYWORD for p in call_parameters.values()
        )
        self._call_argument_names = frozenset(call_parameters)

    # ------------------------------------------------------------------------
    # Specs and building

    @property
    def input_tensor_spec(self) -> types.NestedTensorSpec | None:
        return self._input_tensor_spec

    @property
    def state_spec(self) -> types.NestedTensorSpec:
        return self._state_spec

    def build(self, input_shape: Any = None) -> None:
        # Sublayers build themselves on first use.
        super().build(input_shape)

    def create_variables(
        self, input_tensor_spec: types.NestedTensorSpec | None = None, **kwargs: Any
    ) -> types.NestedTensorSpec:
        """Builds the network on a random batch of one; returns the output spec.

        Args:
          input_tensor_spec: the input spec, used when the network has none
            (a network's own spec is kept, as in TF-Agents).
          **kwargs: passed to `call`, e.g. `training=True`.

        Returns:
          The nest of output specs without the batch dim; distribution outputs
          are described by `distributions.utils.DistributionSpecV2`.

        Raises:
          ValueError: no input spec, or the network's outputs/state do not fit.
        """
        if input_tensor_spec is not None and self._input_tensor_spec is None:
            self._input_tensor_spec = tensor_spec.from_spec(input_tensor_spec)
        if self._network_output_spec is not None:
            return self._network_output_spec
        if self._input_tensor_spec is None:
            raise ValueError(
                f"Unable to create_variables of {self.name}: no input_tensor_spec "
                "provided, and Network did not define one."
            )
        random_input = tensor_spec.sample_spec_nest(
            self._input_tensor_spec, outer_dims=(1,)
        )
        step_type = tf.fill((1,), ts.StepType.FIRST)
        outputs, _ = self(
            random_input,
            step_type=step_type,
            network_state=self.get_initial_state(batch_size=1),
            **kwargs,
        )
        self._network_output_spec = tf.nest.map_structure(
            functools.partial(_unbatched_spec, outer_ndim=1), outputs
        )
        keras_compat.track_variables(self)
        return self._network_output_spec

    def get_initial_state(
        self, batch_size: types.Int | None = None
    ) -> types.NestedTensor:
        """Zeros of `state_spec`, with a batch dim unless `batch_size` is None."""
        return self._get_initial_state(batch_size)

    def _get_initial_state(self, batch_size: types.Int | None) -> types.NestedTensor:
        outer = None if batch_size is None else [batch_size]
        return tensor_spec.zero_spec_nest(self._state_spec, outer_dims=outer)

    # ------------------------------------------------------------------------
    # Variables and layers

    def _check_built(self, what: str) -> None:
        if not self.built:
            raise ValueError(
                f"Network {self.name} has not been built, so it has no {what} yet: call "
                "create_variables() (or the network) first."
            )

    @property
    def variables(self) -> list[tf.Variable]:
        """Every `tf.Variable` of the network (Keras 3 weights included)."""
        self._check_built("variables")
        keras_compat.track_variables(self)
        return keras_compat.collect_variables(self)

    @property
    def trainable_variables(self) -> list[tf.Variable]:
        self._check_built("trainable_variables")
        return keras_compat.collect_variables(self, trainable_only=True)

    @property
    def layers(self) -> list[Any]:
        """The network's direct sublayers, in the order they were assigned."""
        return list(self._flatten_layers(include_self=False, recursive=False))

    def get_layer(self, name: str | None = None, index: int | None = None) -> Any:
        """A direct sublayer by name or index."""
        if index is not None and name is not None:
            raise ValueError("Provide only a layer name or a layer index, not both.")
        layers = self.layers
        if index is not None:
            if len(layers) <= index:
                raise ValueError(
                    f"Was asked to retrieve layer at index {index} but {self.name} has "
                    f"only {len(layers)} layers."
                )
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(
            f"No such layer: {name!r}; layers: {[layer.name for layer in layers]}."
        )

    def summary(
        self,
        line_length: int | None = None,
        positions: Any = None,
        print_fn: Any = None,
    ) -> None:
        """Prints each sublayer with its type, output shape and parameter count
        (`layer_utils.print_summary`).

        Raises:
          ValueError: the network is not built yet.
        """
        self._check_built("summary")
        layer_utils.print_summary(
            self, line_length=line_length, positions=positions, print_fn=print_fn
        )

    def copy(self, **kwargs: Any) -> Network:
        """An unbuilt network of the same class and arguments (`kwargs` override)."""
        return type(self)(**dict(self._saved_kwargs, **kwargs))

    # ------------------------------------------------------------------------
    # Calling

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> None:
        """No Keras mask on outputs: a network's `mask=` is an action mask.

        Keras would attach it to the outputs as a sequence mask (and fails on
        an output leaf that is None, such as an empty state).
        """
        del inputs, previous_mask
        return None

    def __call__(self, inputs: Any, *args: Any, **kwargs: Any) -> tuple[Any, Any]:
        """Checks inputs and state against the specs, calls `call`, checks its state.

        Returns:
          `(outputs, new_state)`.

        Raises:
          ValueError: inputs, state or new state do not match their specs, or
            `call` did not return a pair.
        """
        if self._input_tensor_spec is not None:
            nest_utils.assert_matching_dtypes_and_inner_shapes(
                inputs,
                self._input_tensor_spec,
                allow_extra_fields=True,
                caller=self.name,
                tensors_name="`inputs`",
                specs_name="`input_tensor_spec`",
            )
        network_state = kwargs.get("network_state")
        if common.safe_has_state(network_state):
            nest_utils.assert_matching_dtypes_and_inner_shapes(
                network_state,
                self._state_spec,
                allow_extra_fields=True,
                caller=self.name,
                tensors_name="`network_state`",
                specs_name="`state_spec`",
            )
        if not self._call_accepts_any_kwargs:
            for argument in _OPTIONAL_CALL_ARGUMENTS:
                if argument in kwargs and argument not in self._call_argument_names:
                    del kwargs[argument]
        result = super().__call__(inputs, *args, **kwargs)
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            raise ValueError(
                f"{type(self).__name__}.call must return (outputs, new_state), got {result!r}."
            )
        outputs, new_state = result
        nest_utils.assert_matching_dtypes_and_inner_shapes(
            new_state,
            self._state_spec,
            allow_extra_fields=True,
            caller=self.name,
            tensors_name="`new_state`",
            specs_name="`state_spec`",
        )
        keras_compat.track_variables_once(self)
        return outputs, new_state


class DistributionNetwork(Network):
    """A network whose outputs are TFP distributions described by `output_spec`.

    Args:
      output_spec: nest of `DistributionSpec`s of the outputs.
    """

    def __init__(
        self,
        input_tensor_spec: types.NestedTensorSpec,
        state_spec: types.NestedTensorSpec,
        output_spec: Any,
        name: str | None = None,
    ):
        super().__init__(
            input_tensor_spec=input_tensor_spec, state_spec=state_spec, name=name
        )
        self._output_spec = output_spec

    @property
    def output_spec(self) -> Any:
        return self._output_spec


# ----------------------------------------------------------------------------
# Output specs


def _unbatched_spec(value: Any, outer_ndim: int) -> Any:
    """The spec of one output leaf without its `outer_ndim` batch dims."""
    import tensorflow_probability as tfp

    from policylib.distributions import utils as distribution_utils

    if isinstance(value, tfp.distributions.Distribution):
        params = distribution_utils.get_parameters(value)
        return distribution_utils.DistributionSpecV2(
            event_shape=value.event_shape,
            dtype=value.dtype,
            parameters=_params_to_specs(params, outer_ndim),
        )
    return tensor_spec.remove_outer_dims_nest(
        tf.type_spec_from_value(value), outer_ndim
    )


def _params_to_specs(params: Any, outer_ndim: int) -> Any:
    from policylib.distributions import utils as distribution_utils

    def _convert(leaf: Any) -> Any:
        if isinstance(leaf, distribution_utils.Params):
            return _params_to_specs(leaf, outer_ndim)
        if tf.is_tensor(leaf):
            return nest_utils.remove_singleton_batch_spec_dim(
                tf.type_spec_from_value(leaf), outer_ndim=outer_ndim
            )
        return leaf

    return distribution_utils.Params(
        type_=params.type_,
        params=tf.nest.map_structure(_convert, params.params),
    )


def _input_outer_ndim(layer: Any) -> int:
    """Batch dims a Keras layer expects: one, plus one per `TimeDistributed`."""
    if isinstance(layer, tf.keras.layers.TimeDistributed):
        return 1 + _input_outer_ndim(layer.layer)
    if isinstance(layer, tf.keras.Sequential) and layer.layers:
        return _input_outer_ndim(layer.layers[0])
    return 1


def _is_rnn_cell(layer: Any) -> bool:
    from policylib.keras_layers import dynamic_unroll_layer, rnn_wrapper

    return (
        hasattr(layer, "state_size")
        and not isinstance(layer, tf.keras.layers.RNN)
        and not isinstance(
            layer, (rnn_wrapper.RNNWrapper, dynamic_unroll_layer.DynamicUnroll)
        )
    )


def create_variables(
    module: Any, input_spec: types.NestedTensorSpec | None = None, **kwargs: Any
) -> Any:
    """Builds a `Network` or Keras layer from `input_spec`; returns its output spec.

    For plain Keras layers the output spec and the recurrent state spec are
    stored on the layer (`_network_output_spec`, `_network_state_spec`), as
    `sequential.Sequential` expects.

    Raises:
      ValueError: a Keras layer and no `input_spec`.
      TypeError: a bare Keras RNN layer (wrap it in `keras_layers.RNNWrapper`).
    """
    if isinstance(module, Network):
        return module.create_variables(input_spec, **kwargs)
    if input_spec is None:
        raise ValueError(
            f"Module is a Keras layer; an input_spec is required but saw None: {module}"
        )
    if isinstance(module, tf.keras.layers.RNN):
        raise TypeError(
            "Keras RNN layers must be wrapped in policylib.keras_layers.RNNWrapper "
            f"(or used inside networks.Sequential): {module}"
        )
    cached = getattr(module, "_network_output_spec", None)
    if cached is not None:
        return cached
    outer_ndim = _input_outer_ndim(module)
    random_input = tensor_spec.sample_spec_nest(
        input_spec, outer_dims=(1,) * outer_ndim
    )
    state_spec: Any = ()
    if _is_rnn_cell(module) or hasattr(module, "get_initial_state"):
        state = layer_initial_state(module, random_input)
        state_spec = tf.nest.map_structure(
            lambda t: nest_utils.remove_singleton_batch_spec_dim(
                tf.type_spec_from_value(t), outer_ndim=1
            ),
            state,
        )
        output = module(random_input, state, **kwargs)[0]
    else:
        output = module(random_input, **kwargs)
    module._network_output_spec = tf.nest.map_structure(
        functools.partial(_unbatched_spec, outer_ndim=outer_ndim), output
    )
    module._network_state_spec = state_spec
    return module._network_output_spec


def layer_initial_state(layer: Any, inputs: Any) -> Any:
    """Zero state of an RNN cell or `RNNWrapper` for a batch like `inputs`."""
    first = tf.nest.flatten(inputs)[0]
    if _is_rnn_cell(layer):
        return keras_compat.lstm_initial_state(layer, tf.shape(first)[0], first.dtype)
    return layer.get_initial_state(inputs)


def get_state_spec(layer: Any) -> types.NestedTensorSpec:
    """The recurrent state spec of a `Network`, RNN cell or stateful layer.

    Raises:
      TypeError: a bare Keras RNN layer (wrap it in `keras_layers.RNNWrapper`).
    """
    if isinstance(layer, Network):
        return layer.state_spec
    if isinstance(layer, tf.keras.layers.RNN):
        raise TypeError(
            f"RNN layers must be wrapped in policylib.keras_layers.RNNWrapper: {layer}"
        )
    state_spec = getattr(layer, "state_spec", None)
    if state_spec is not None:
        return state_spec
    state_size = getattr(layer, "state_size", None)
    if state_size is None:
        if hasattr(layer, "get_initial_state"):
            raise ValueError(
                f"Layer lacks a `state_size` property; unable to find its state spec: {layer}"
            )
        return ()
    dtype = tf.as_dtype(layer.dtype or tf.float32)
    return tf.nest.map_structure(
        lambda size: tf.TensorSpec(dtype=dtype, shape=size), state_size
    )
