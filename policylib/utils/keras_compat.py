"""Every difference between Keras 3 and Keras 2 (tf-keras) that policylib meets.

`tf.keras` is Keras 3 by default since TF 2.16, and Keras 2 when
`TF_USE_LEGACY_KERAS=1` is set and tf-keras is installed. The mode is read
once, from what `tf.keras` actually is, and all version-dependent code lives
here so the rest of the library is written once.

The central difference: Keras 3 variables are not `tf.Variable`s, so
`tf.Module` attribute walking and `tf.train.Checkpoint` do not see them (a
`tf.Module` holding Keras 3 layers reports no `trainable_variables`, and a
checkpoint of it saves no layer weights). This is why TF-Agents 0.19 cannot
update, checkpoint or train its networks under Keras 3. Each Keras 3 variable wraps one `tf.Variable`, reachable as
`.value` (the same object every time); `tf_variables` returns those, and a
module that keeps them in an attribute is tracked as usual.
"""

from __future__ import annotations

import copy
import functools
import importlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import tensorflow as tf
import wrapt

__all__ = [
    "accept_numpy_integer_units",
    "add_weight",
    "build_optimizer",
    "collect_variables",
    "input_only_sequential_key",
    "copy_layer_from_config",
    "deepcopy_layer",
    "idle_dropout_seed_states",
    "is_keras_layer",
    "accept_policy_call_arguments",
    "new_layer",
    "track_variables",
    "track_variables_once",
    "is_keras3",
    "keras",
    "legacy_optimizer",
    "lstm_initial_state",
    "rnn_layer_initial_state",
    "route_tf1_rnn_cells_to_tf_keras",
    "safe_layer_name",
    "tf_variable",
    "tf_variables",
    "units",
    "untracked",
]


@functools.cache
def is_keras3() -> bool:
    """True when `tf.keras` is Keras 3 (False for tf-keras / Keras 2)."""
    return tf.keras.layers.Layer.__module__.startswith("keras.")


def keras() -> Any:
    """The Keras module `tf.keras` resolves to in this process."""
    return tf.keras


def tf_variable(variable: Any) -> tf.Variable:
    """The `tf.Variable` behind a Keras (2 or 3) or TensorFlow variable."""
    if isinstance(variable, tf.Variable):
        return variable
    value = getattr(variable, "value", None)
    if isinstance(value, tf.Variable):
        return value
    raise TypeError(f"{variable!r} is not backed by a tf.Variable.")


def tf_variables(variables: Iterable[Any]) -> list[tf.Variable]:
    """`tf_variable` of each variable, without duplicates, in order."""
    seen: set[int] = set()
    result = []
    for variable in variables:
        tf_var = tf_variable(variable)
        if id(tf_var) not in seen:
            seen.add(id(tf_var))
            result.append(tf_var)
    return result


def build_optimizer(optimizer: Any, variables: Iterable[Any]) -> None:
    """Creates a Keras optimizer's slots for `variables` now, as eager variables.

    Keras builds them on the first `apply_gradients`, inside whatever is being
    traced: inside a `tf.cond` branch that fails (Keras 3), and inside a
    `tf.function`'s first trace it makes the function trace twice (variables
    made on the first call send TF back to trace a variable-free version:
    SAC's first `train` took 3.4 s instead of 1.7 s). Built here under
    `init_scope` and without tf.function's variable lifting, they are ordinary
    eager variables the trace only reads. Keras 3, tf-keras and tf-keras'
    legacy optimizers; `tf.compat.v1.train` optimizers build their own.
    """
    variables = list(variables)
    if is_keras3():
        if not isinstance(optimizer, tf.keras.optimizers.Optimizer) or optimizer.built:
            return
        build = optimizer.build
    elif hasattr(optimizer, "_create_all_weights"):  # tf-keras legacy (OptimizerV2)
        build = optimizer._create_all_weights  # noqa: SLF001 (creates only what is missing)
    elif isinstance(optimizer, tf.keras.optimizers.Optimizer):
        if getattr(optimizer, "_built", False):
            return
        build = optimizer.build
    else:
        return
    with tf.init_scope(), tf.variable_creator_scope(_not_lifted):
        build(variables)


def optimizer_is_built(optimizer: Any) -> bool:
    """True for a Keras 3 optimizer whose slots exist (`build_optimizer` ran):
    its `apply_gradients` then creates no variables, so it may run inside a
    `tf.while_loop` body."""
    return (
        is_keras3()
        and isinstance(optimizer, tf.keras.optimizers.Optimizer)
        and bool(optimizer.built)
    )


def _not_lifted(next_creator: Callable[..., Any], **kwargs: Any) -> Any:
    """Creates the variable as is, not as one the enclosing `tf.function` lifts
    (and then traces again to be free of); used under `init_scope`, where the
    variable is an ordinary eager one."""
    kwargs["experimental_enable_variable_lifting"] = False
    return next_creator(**kwargs)


def legacy_optimizer(optimizer: Any) -> Any:
    """A tf-keras (Keras 2) optimizer as its legacy twin; anything else as is.

    Keras 2.11+'s optimizers update each variable with a dozen unfused ops;
    their legacy versions use TensorFlow's fused kernels (`ResourceApplyAdam`),
    which makes an SAC step ~10 % faster on CPU. TF-Agents' SAC converts them
    the same way. The legacy twin starts from the optimizer's config (its
    learning rate or schedule), not from its slots. Keras 3 has no legacy
    optimizers.
    """
    if is_keras3():
        return optimizer
    experimental = getattr(tf.keras.optimizers, "experimental", None)
    if experimental is not None and isinstance(optimizer, experimental.Optimizer):
        return tf.keras.__internal__.optimizers.convert_to_legacy_optimizer(optimizer)
    return optimizer


def units(value: Any) -> int:
    """A layer width as a Python int (Keras 3 rejects 0-d NumPy arrays)."""
    return int(value)


def add_weight(layer: Any, name: str, **kwargs: Any) -> Any:
    """`layer.add_weight` with `name` passed as a keyword (required by Keras 3)."""
    return layer.add_weight(name=name, **kwargs)


def safe_layer_name(name: str | None) -> str | None:
    """A layer name without '/', which Keras 3 refuses."""
    return None if name is None else name.replace("/", "_")


def lstm_initial_state(cell: Any, batch_size: Any, dtype: tf.DType) -> Any:
    """Zero state of an RNN cell of `dtype`.

    Keras 3's cells take no `dtype` in `get_initial_state` (their state is cast
    after); Keras 2 cells, TF1 cells and custom cells written for them do, and
    may need it (a TF1 `LSTMCell` refuses `dtype=None`).
    """
    if is_keras3() and not _takes_argument(cell.get_initial_state, "dtype"):
        state = cell.get_initial_state(batch_size=batch_size)
        return tf.nest.map_structure(lambda s: tf.cast(s, dtype), state)
    return cell.get_initial_state(batch_size=batch_size, dtype=dtype)


def _takes_argument(function: Any, name: str) -> bool:
    """Whether `function` accepts a keyword argument `name` (or any, via `**kwargs`)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in parameters)


def idle_dropout_seed_states(layer: Any) -> list[Any]:
    """The seed-generator variables of `layer`'s RNN cells that have no dropout.

    Every Keras 3 RNN cell (`LSTMCell`, `GRUCell`, `SimpleRNNCell`) keeps a
    seed generator for its dropout masks, and Keras 3 lists its state among
    the layer's `variables` even when both dropout rates are 0 and it is never
    read. Keras 2 has no such variable, so TF-Agents code that counts an
    LSTM's variables (kernel, recurrent kernel, bias) meets one more. `layer`
    is an RNN layer, a cell or `StackedRNNCells`; empty under Keras 2.
    """
    if not is_keras3():
        return []
    idle = []
    pending = [layer]
    while pending:
        cell = pending.pop()
        pending.extend(getattr(cell, "cells", None) or [])
        if getattr(cell, "cell", None) is not None:
            pending.append(cell.cell)
        generator = getattr(cell, "seed_generator", None)
        rates = (getattr(cell, "dropout", 0), getattr(cell, "recurrent_dropout", 0))
        if generator is not None and not any(rates):
            idle.append(generator.state)
    return idle


# Where TensorFlow 2.16+ resolves `tf.compat.v1.nn.rnn_cell` in tf-keras.
_TF_KERAS_TF1_RNN_CELLS = "tf_keras.api._v1.keras.__internal__.legacy.rnn_cell"
_TF1_NN_MODULE = "tensorflow._api.v2.compat.v1.nn"


class _LazyModule(types.ModuleType):
    """A module that imports `target` on first attribute access and serves it."""

    def __init__(self, name: str, target: str):
        super().__init__(name)
        self._target = target

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        return getattr(importlib.import_module(self._target), attr)


def route_tf1_rnn_cells_to_tf_keras() -> bool:
    """Under Keras 3, serves `tf.compat.v1.nn.rnn_cell` from tf-keras; returns whether it does.

    TensorFlow resolves `tf.compat.v1.nn.rnn_cell` (`LSTMCell`, `GRUCell`,
    `MultiRNNCell`, ...) through `tf.keras`. Keras 3 has no TF1 cells, so each
    of those names raises "`LSTMCell` is not available with Keras 3", though
    TensorFlow's own `tf.compat.v1.nn.dynamic_rnn` still runs them. tf-keras
    ships them (it is what TensorFlow routes to under `TF_USE_LEGACY_KERAS=1`),
    so with tf-keras installed the same module is served under Keras 3 too:
    Keras 2 cells, usable with `dynamic_rnn` and `DynamicUnroll`. tf-keras is
    imported only when a cell is first looked up (importing it takes seconds).
    True and unchanged under Keras 2; False, changing nothing, without
    tf-keras. Process-wide and idempotent, so it is for `policylib._tf_patches`
    to install.
    """
    if not is_keras3():
        return True
    if importlib.util.find_spec("tf_keras") is None:
        return False
    cells = _LazyModule(f"{_TF1_NN_MODULE}.rnn_cell", _TF_KERAS_TF1_RNN_CELLS)
    nn = importlib.import_module(_TF1_NN_MODULE)
    setattr(nn, "rnn_cell", cells)  # noqa: B010 - a module attribute mypy cannot see
    wrapper = getattr(tf.compat.v1, "nn", None)
    if wrapper is not None and wrapper is not nn:
        # `tf.compat.v1.nn` is a module wrapper that may have cached the loader.
        wrapper.rnn_cell = cells
    sys.modules[f"{_TF1_NN_MODULE}.rnn_cell"] = cells
    return True


def is_keras_layer(value: Any) -> bool:
    """True for a layer of the Keras that `tf.keras` is."""
    return isinstance(value, tf.keras.layers.Layer)


# Keras 3 layer attributes that never lead to a raw tf.Variable of the layer.
_SKIP_ATTRIBUTES = frozenset(
    {"_tracker", "_inbound_nodes", "_outbound_nodes", "_parent_path", "_lock"}
)


def _held_values(value: Any) -> list:
    """What a `tf.Module` (by attribute name), dict (by key) or list/tuple holds, in order.

    Tracking wrappers (`_DictWrapper`, `ListWrapper`) count as dict and list;
    anything else holds nothing.
    """
    if isinstance(value, tf.Module):
        return [vars(value)[name] for name in sorted(vars(value))]
    if isinstance(value, dict) or type(value).__name__ == "_DictWrapper":
        return [value[key] for key in sorted(value, key=str)]
    if isinstance(value, (list, tuple)) or type(value).__name__ == "ListWrapper":
        return list(value)
    return []


def collect_variables(root: Any, trainable_only: bool = False) -> list[tf.Variable]:
    """Every `tf.Variable` reachable from `root`, each once, in a stable order.

    `root` may be a Keras layer, a `tf.Module` (e.g. a policy) or a nest of
    them. Keras 2 layers report their weights (which include `tf.Variable`
    attributes). Keras 3 layers report the `tf.Variable` behind each Keras
    weight, plus `tf.Variable`s kept directly in attributes (of the layer or
    its sublayers), which Keras 3 does not track. `tf.Module`s are walked by
    attribute name, as `tf.Module.variables` does.

    Args:
      root: where to start.
      trainable_only: keep trainable variables only (a frozen Keras layer's
        weights count as non-trainable).
    """
    found: list[tf.Variable] = []
    seen_vars: set[int] = set()
    seen_objects: set[int] = set()

    def _add(variable: tf.Variable, trainable: bool) -> None:
        # The first sighting decides: a frozen Keras weight stays excluded even
        # when its (always trainable) tf.Variable is met again elsewhere.
        if id(variable) in seen_vars:
            return
        seen_vars.add(id(variable))
        if trainable or not trainable_only:
            found.append(variable)

    def _visit(value: Any) -> None:
        if isinstance(value, tf.Variable):
            _add(value, value.trainable)
            return
        if isinstance(value, (str, bytes, int, float, bool, type(None), tf.Tensor)):
            return
        if id(value) in seen_objects:
            return
        seen_objects.add(id(value))
        if is_keras_layer(value):
            _visit_layer(value)
        else:
            for item in _held_values(value):
                _visit(item)

    def _visit_layer(layer: Any) -> None:
        trainable = {id(w) for w in layer.trainable_weights}
        for weight in layer.weights:
            _add(tf_variable(weight), id(weight) in trainable)
        if is_keras3():
            # Raw tf.Variables (e.g. from common.create_variable) and layers
            # held in attributes; Keras weights were added above.
            for name, attr in vars(layer).items():
                if name not in _SKIP_ATTRIBUTES:
                    _visit(attr)

    _visit(root)
    return found


def _holds_keras_layer(value: Any, seen: set[int]) -> bool:
    if is_keras_layer(value):
        return True
    if id(value) in seen:
        return False
    seen.add(id(value))
    return any(_holds_keras_layer(v, seen) for v in _held_values(value))


def saved_model_dependencies(module: tf.Module) -> dict[str, Any]:
    """`module`'s direct checkpoint dependencies to save beside its variables.

    Under Keras 3, dependencies that reach Keras layers are left out: Keras 3
    layers expose different children to a SavedModel than to a checkpoint, so
    a checkpoint of the same objects would not match the loaded model. Their
    variables are saved through the policy's variable list instead.
    """
    deps = {ref.name: ref.ref for ref in module._unconditional_checkpoint_dependencies}  # noqa: SLF001
    if not is_keras3():
        return deps
    return {
        name: ref for name, ref in deps.items() if not _holds_keras_layer(ref, set())
    }


class _VariableHolder(tf.Module):
    """Keeps `tf.Variable`s in an attribute so TF's object tracking sees them."""

    def __init__(self, variables: list[tf.Variable]):
        super().__init__(name="keras_variables")
        self.tracked = list(variables)


def track_variables(layer: Any) -> None:
    """Makes `tf.train.Checkpoint` and `tf.Module` see a Keras 3 layer's weights.

    Under Keras 3 the weights are invisible to TensorFlow's object graph
    (see the module docstring); the layer keeps their `tf.Variable`s in a `tf.Module`
    attribute instead. Nothing to do under Keras 2. Call again after new
    weights were created.
    """
    if not is_keras3():
        return
    variables = tf_variables(layer.weights)
    holder = getattr(layer, "_policylib_tracked_variables", None)
    if holder is None or len(holder.tracked) != len(variables):
        layer._policylib_tracked_variables = _VariableHolder(variables)


def track_variables_once(layer: Any) -> None:
    """`track_variables` on a layer's first call (a dict lookup after that)."""
    if is_keras3() and "_policylib_tracked_variables" not in vars(layer):
        track_variables(layer)


def new_layer(parent: Any, cls: Any, args: tuple, kwargs: dict) -> Any:
    """`Layer.__new__` for a layer class: `parent` is `super(<Base>, cls)`.

    Keras 3's `Layer.__new__` takes the constructor arguments (Keras 2's takes
    none), and reads the argument names with `getfullargspec`, which honours
    `__signature__` but not `__wrapped__`: a decorated `__init__` (e.g.
    `gin.configurable`, taking `*args, **kwargs`) gets its real signature set.
    """
    init = cls.__init__
    if hasattr(init, "__wrapped__") and "__signature__" not in vars(init):
        init.__signature__ = inspect.signature(init)
    if is_keras3():
        return parent.__new__(cls, *args, **kwargs)
    return parent.__new__(cls)


def accept_policy_call_arguments(layer: Any) -> None:
    """Lets a layer take what policies pass it: non-tensor states, `mask=`.

    Keras 3 refuses non-tensor positional arguments (e.g. a state of `()`),
    and warns that a `mask=` argument (here an action mask, not sequence
    masking) would be dropped unless the layer supports masking.
    """
    layer._allow_non_tensor_positional_args = True
    layer.supports_masking = True


_PATCHED_UNITS: list[bool] = []


def accept_numpy_integer_units() -> None:
    """Lets Keras 3's `Dense` take unit counts that Keras 2 takes.

    TF-Agents code (its tutorials among it) writes
    `Dense(spec.maximum - spec.minimum + 1)`, a NumPy integer (or a float
    like `1.0`), which Keras 2 converts with `int()` and Keras 3 rejects
    ("expected a positive integer"). A whole-number count is converted to
    `int` before Keras 3 sees it; anything else reaches Keras unchanged.
    Nothing changes under Keras 2. Idempotent.
    """
    if not is_keras3() or _PATCHED_UNITS:
        return
    dense = tf.keras.layers.Dense
    original = dense.__init__

    @functools.wraps(original)
    def __init__(self: Any, units: Any, *args: Any, **kwargs: Any) -> None:
        original(self, _whole_number(units), *args, **kwargs)

    # Keras 3 reads constructor arguments with getfullargspec, which honours
    # __signature__ (not __wrapped__).
    __init__.__signature__ = inspect.signature(original)  # type: ignore[attr-defined]
    dense.__init__ = __init__
    _PATCHED_UNITS.append(True)


class OptimizerVariables(list):
    """A Keras 3 optimizer's `variables` list that can also be called, as in tf-keras.

    As a list it is Keras 3's `optimizer.variables` unchanged. Called, it is
    tf-keras's `optimizer.variables()`: the same variables without the learning
    rate, which tf-keras keeps out of that list (Keras 3 tracks it as an
    optimizer variable).
    """

    def __init__(self, variables: Iterable[Any], learning_rate: Any) -> None:
        super().__init__(variables)
        self._learning_rate = learning_rate

    def __call__(self) -> list[Any]:
        return [v for v in self if v is not self._learning_rate]


_PATCHED_OPTIMIZER_VARIABLES: list[bool] = []


def callable_optimizer_variables() -> None:
    """Lets code written for tf-keras call `optimizer.variables()` under Keras 3.

    tf-keras optimizers answer `variables()` (a callable list); Keras 3 made
    `variables` a plain-list property, so TF-Agents code and tests that call
    it raise "'list' object is not callable". The property now returns an
    `OptimizerVariables`. Nothing changes under Keras 2. Idempotent.
    """
    if not is_keras3() or _PATCHED_OPTIMIZER_VARIABLES:
        return
    from keras.src.optimizers import base_optimizer

    original = base_optimizer.BaseOptimizer.variables

    def variables(self: Any) -> OptimizerVariables:
        return OptimizerVariables(
            original.fget(self), getattr(self, "_learning_rate", None)
        )

    variables.__doc__ = original.__doc__
    base_optimizer.BaseOptimizer.variables = property(variables)
    _PATCHED_OPTIMIZER_VARIABLES.append(True)


def tf_random_generator_switch() -> None:
    """Gives Keras 3 tf-keras's `backend.experimental.enable_tf_random_generator`.

    tf-keras draws initializer and dropout randomness from TF's stateful ops
    unless this switch moves it to `tf.random.Generator`; TF-Agents' tests and
    scripts call it at import. Keras 3 always draws from its own seed
    generators, so there is nothing to switch: under Keras 3,
    `tf.keras.backend.experimental` gets `enable_tf_random_generator`,
    `disable_tf_random_generator` (no-ops) and `is_tf_random_generator_enabled`
    (True). Nothing changes under Keras 2, or where Keras 3 has the namespace.
    Idempotent.
    """
    backend = tf.keras.backend
    if not is_keras3() or hasattr(backend, "experimental"):
        return
    experimental = types.ModuleType(f"{backend.__name__}.experimental")
    experimental.enable_tf_random_generator = lambda: None  # type: ignore[attr-defined]
    experimental.disable_tf_random_generator = lambda: None  # type: ignore[attr-defined]
    experimental.is_tf_random_generator_enabled = lambda: True  # type: ignore[attr-defined]
    backend.experimental = experimental


def _whole_number(value: Any) -> Any:
    """`int(value)` for a non-bool whole number given as NumPy or float; else `value`."""
    if isinstance(value, (bool, int, np.bool_)):
        return value
    if isinstance(value, (float, np.number)) or (
        isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf"
    ):
        number = value.item() if hasattr(value, "item") else value
        if float(number).is_integer():
            return int(number)
    return value


def rnn_layer_initial_state(rnn_layer: Any, inputs: Any) -> Any:
    """Zero state of a Keras RNN layer for batch-major `[B, T, ...]` inputs.

    Keras 2's `RNN.get_initial_state` takes the inputs, Keras 3's the batch size.
    """
    if is_keras3():
        batch_size = tf.shape(tf.nest.flatten(inputs)[0])[0]
        return rnn_layer.get_initial_state(batch_size)
    return rnn_layer.get_initial_state(inputs)


def copy_layer_from_config(layer: Any) -> Any:
    """A new, unbuilt layer with `layer`'s config.

    A `Lambda` layer is rebuilt around the same function object: rebuilding
    it from its config (which Keras 3's `deepcopy` also does) recompiles the
    function's bytecode without its module globals, so `tf.concat` in it fails,
    and Keras 3's safe mode refuses it outright.
    """
    if isinstance(layer, tf.keras.layers.Lambda):
        return type(layer)(
            layer.function,
            output_shape=getattr(layer, "_output_shape", None),
            mask=getattr(layer, "mask", None),
            arguments=getattr(layer, "arguments", None),
            name=layer.name,
        )
    config = layer.get_config()
    try:
        return type(layer).from_config(config)
    except (TypeError, ValueError):
        if not is_keras3():
            raise
    # Keras 3 rebuilds a nested object (initializer, regularizer, constraint)
    # from its config by class name, so TensorFlow's own v1 initializers
    # (`tf.compat.v1.variance_scaling_initializer`, used by TF-Agents' DQN
    # example) come back as Keras classes that refuse their `dtype`: such
    # entries take a copy of the layer's own object instead.
    return type(layer).from_config(
        {key: _own_object(layer, key, value) for key, value in config.items()}
    )


def _own_object(layer: Any, key: str, value: Any) -> Any:
    """A copy of `layer.<key>` where `value` is that object's config, else `value`."""
    own = getattr(layer, key, None)
    if isinstance(value, dict) and "class_name" in value and own is not None:
        return copy.deepcopy(own)
    return value


def deepcopy_layer(layer: Any) -> Any:
    """`copy.deepcopy(layer)`: same config and, where Keras can, same weights.

    Keras 3 deep-copies through its saving code, which fails where Keras 2's
    did not: a `Lambda` of a local function cannot be named in a config (it is
    rebuilt around the same function), and weights whose stored shape differs
    from the variable's (a bias made by `constant_initializer([[0]])`) do not
    load back, and a layer class not registered as Keras-serializable (say
    `NestFlatten`) cannot be found by name; such a layer is copied unbuilt,
    from its config.
    """
    if isinstance(layer, tf.keras.layers.Lambda):
        return copy_layer_from_config(layer)
    if not is_keras3():
        return copy.deepcopy(layer)
    try:
        return copy.deepcopy(layer)
    except (ValueError, TypeError):
        return copy_layer_from_config(layer)


def untracked(structure: Any) -> Any:
    """`structure` with TF's tracking wrappers (`_TupleWrapper`, `ListWrapper`,
    `_DictWrapper`, which a module attribute holding layers becomes) replaced by
    plain tuples, lists and dicts. Keras 3 layers accept only plain nests as
    positional inputs, so outputs packed like such an attribute must be plain."""
    if isinstance(structure, wrapt.ObjectProxy):
        structure = structure.__wrapped__
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):
        return type(structure)(*(untracked(item) for item in structure))
    if isinstance(structure, tuple):
        return tuple(untracked(item) for item in structure)
    if isinstance(structure, list):
        return [untracked(item) for item in structure]
    if isinstance(structure, dict) or type(structure).__name__ == "_DictWrapper":
        return {key: untracked(value) for key, value in structure.items()}
    return structure


def call_folding_outer_dims(layer: Any, inputs: Any, **kwargs: Any) -> Any:
    """Calls `layer`; a Keras 3 conv layer gets extra outer dims folded into the batch.

    Keras 2 convolutions accept inputs with several outer dims (e.g. batch and
    time); Keras 3's need exactly one. So `[B, T, H, W, C]` into a Keras 3
    `Conv2D` runs as `[B*T, H, W, C]` and is unfolded after.
    """
    rank = getattr(layer, "rank", None)
    if (
        not is_keras3()
        or not isinstance(rank, int)
        or not tf.is_tensor(inputs)
        or inputs.shape.rank is None
        or inputs.shape.rank <= rank + 2
        or "Conv" not in type(layer).__name__
    ):
        return layer(inputs, **kwargs)
    outer = tf.shape(inputs)[: inputs.shape.rank - rank - 1]
    folded = tf.reshape(inputs, tf.concat([[-1], tf.shape(inputs)[-rank - 1 :]], 0))
    outputs = layer(folded, **kwargs)
    return tf.reshape(outputs, tf.concat([outer, tf.shape(outputs)[1:]], 0))


def input_only_sequential_key(layer: Any) -> str | None:
    """The input name of a `keras.Sequential` that holds only an `Input`, else None.

    Keras 2 runs such a model as the identity on the input of that name (so
    `Sequential([Input(name='x')])` selects `inputs['x']` from a dict); Keras 3
    cannot call a Sequential without layers. Callers apply the selection
    themselves.
    """
    if not isinstance(layer, tf.keras.Sequential) or layer.layers:
        return None
    inputs = [
        sub
        for sub in getattr(layer, "_layers", [])
        if type(sub).__name__ == "InputLayer"
    ]
    return inputs[0].name if len(inputs) == 1 else None
