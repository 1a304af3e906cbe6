"""Helpers that let one training function run eagerly and in TF1 graph mode.

- `Future` / `future_in_eager_mode`: eagerly, defer a call (so a loss can be
  recomputed under a `GradientTape`); in graph mode, call at once.
- `create_train_step` / `create_train_op`: one optimizer step from a loss.
- `clip_gradient_norms`, gradient/variable summaries, `np_function`,
  `dataset_iterator` / `get_next`.
"""

from __future__ import annotations

import copy
import functools
import inspect
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Union

import numpy as np
import tensorflow as tf

from policylib.typing import types
from policylib.utils import common, keras_compat, summaries

__all__ = [
    "Future",
    "add_gradients_summaries",
    "add_variables_summaries",
    "clip_gradient_norms",
    "clip_gradient_norms_fn",
    "create_train_op",
    "create_train_step",
    "dataset_iterator",
    "future_in_eager_mode",
    "get_next",
    "has_self_cls_arg",
    "is_unbound",
    "np_function",
]

# Sentinel: use (and create if needed) the TF1 global step.
_USE_GLOBAL_STEP = 0

# Variables to train: a nest (usually a list) of variables.
_Variables = Sequence[tf.Variable]
# A dataset iterator: a Python iterator eagerly, a TF1 iterator in graph mode.
_Iterator = Union[Iterator[types.NestedTensor], tf.compat.v1.data.Iterator]


def has_self_cls_arg(
    func_or_method: Callable[..., object] | staticmethod | classmethod,
) -> bool:
    """True for methods and functions whose first parameter is `self` or `cls`."""
    if isinstance(func_or_method, staticmethod):
        return False
    if inspect.ismethod(func_or_method) or isinstance(func_or_method, classmethod):
        return True
    names = list(inspect.signature(func_or_method).parameters)
    return bool(names) and names[0] in ("self", "cls")


def is_unbound(method: object) -> bool:
    """True unless `method` is bound to an object."""
    return not getattr(method, "__self__", None)


class Future:
    """A deferred call `func_or_method(*args, **kwargs)`.

    Calling it with new arguments overrides the stored ones: positional
    arguments replace the stored positional ones (and stored keywords of the
    same names), keywords update the stored keywords. An unbound method takes
    its instance from the first stored argument.

    Raises:
      ValueError: an unbound method without an instance argument.
    """

    def __init__(self, func_or_method: Callable, *args: Any, **kwargs: Any):
        self._func_or_method = func_or_method
        self._args = args
        self._kwargs = copy.copy(kwargs)
        arg_names = inspect.getfullargspec(func_or_method).args
        self._arg_names = arg_names
        self._self = None
        if has_self_cls_arg(func_or_method):
            self._arg_names = arg_names[1:]
            if is_unbound(func_or_method):
                if not args:
                    raise ValueError(
                        "func_or_method is unbound, but no class/instance was provided."
                    )
                self._self, self._args = args[0], args[1:]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        call_args = args or self._args
        call_kwargs = copy.copy(self._kwargs)
        for name in self._arg_names[: len(args)]:
            call_kwargs.pop(name, None)
        call_kwargs.update(kwargs)
        if self._self:
            return self._func_or_method(self._self, *call_args, **call_kwargs)
        return self._func_or_method(*call_args, **call_kwargs)


def future_in_eager_mode(func_or_method: Callable) -> Callable:
    """Decorator: eagerly, calls return a `Future`; in graph mode, the result."""
    if not callable(func_or_method):
        raise TypeError("func_or_method must be callable.")

    @functools.wraps(func_or_method)
    def _decorated(*args: Any, **kwargs: Any) -> Any:
        if tf.executing_eagerly():
            return Future(func_or_method, *args, **kwargs)
        return func_or_method(*args, **kwargs)

    return _decorated


def _values(tensor: types.Tensor) -> types.Tensor:
    return tensor.values if isinstance(tensor, tf.IndexedSlices) else tensor


def _summarize(
    tensor: types.Tensor, variable: tf.Variable, suffix: str, step: types.Int
) -> None:
    """A histogram and a norm summary of `tensor`, named after `variable`."""
    values, name = _values(tensor), variable.name.replace(":", "_")
    summaries.histogram(name=f"{name}_{suffix}", data=values, step=step)
    summaries.scalar(
        name=f"{name}_{suffix}_norm", data=tf.linalg.global_norm([values]), step=step
    )


def add_variables_summaries(
    grads_and_vars: Sequence[tuple[types.Tensor | None, tf.Variable]], step: types.Int
) -> None:
    """Histogram and norm summaries of each variable."""
    with tf.name_scope("summarize_vars"):
        for _, var in grads_and_vars:
            _summarize(var, var, "value", step)


def add_gradients_summaries(
    grads_and_vars: Sequence[tuple[types.Tensor | None, tf.Variable]], step: types.Int
) -> None:
    """Histogram and norm summaries of each gradient (logs variables without one)."""
    with tf.name_scope("summarize_grads"):
        for grad, var in grads_and_vars:
            if grad is None:
                logging.info("Var %s has no gradient", var.name)
                continue
            _summarize(grad, var, "gradient", step)


def clip_gradient_norms(
    gradients_to_variables: Sequence[tuple[types.Tensor | None, tf.Variable]],
    max_norm: types.Float,
) -> list:
    """Clips each gradient (dense or IndexedSlices) to norm `max_norm`."""
    clipped = []
    for grad, var in gradients_to_variables:
        if isinstance(grad, tf.IndexedSlices):
            grad = tf.IndexedSlices(
                tf.clip_by_norm(grad.values, max_norm), grad.indices, grad.dense_shape
            )
        elif grad is not None:
            grad = tf.clip_by_norm(grad, max_norm)
        clipped.append((grad, var))
    return clipped


def clip_gradient_norms_fn(max_norm: float) -> Callable:
    """`clip_gradient_norms` with `max_norm` fixed (a `transform_grads_fn`)."""
    return functools.partial(clip_gradient_norms, max_norm=max_norm)


def _for_optimizer(optimizer: Any, variables: Sequence[Any]) -> list:
    """`variables` as `optimizer` updates them.

    A TF1 optimizer (`tf.compat.v1.train`) takes tf.Variables; Keras 3 layers
    hold Keras variables that wrap them.
    """
    if isinstance(optimizer, tf.compat.v1.train.Optimizer):
        return [keras_compat.tf_variable(v) for v in variables]
    return list(variables)


def create_train_step(
    loss: types.NestedTensor | Callable[[], types.NestedTensor],
    optimizer: tf.compat.v1.train.Optimizer,
    global_step: tf.Variable | int | None = _USE_GLOBAL_STEP,
    total_loss_fn: Callable | None = None,
    update_ops: Iterable[tf.Operation] | None = None,
    variables_to_train: _Variables | Callable[[], _Variables] | None = None,
    transform_grads_fn: Callable | None = None,
    summarize_gradients: bool = False,
    gate_gradients: int = tf.compat.v1.train.Optimizer.GATE_OP,
    aggregation_method: int | None = None,
    check_numerics: bool = True,
) -> types.NestedTensor:
    """Applies one optimizer step to `loss`; returns the loss (after the step).

    Eagerly, `loss` must be callable (ideally a `Future`): it is evaluated
    under a `GradientTape`; variables default to those the tape watched. In
    graph mode this builds `create_train_op` and returns the loss with a
    dependency on it.

    Args:
      loss: a loss tensor or nest (graph), or a callable returning one.
      optimizer: a TF1 `tf.compat.v1.train.Optimizer`.
      global_step: incremented by the step; None for no step counter.
      total_loss_fn: maps the loss (nest) to the scalar to minimize.
      variables_to_train: variables (or a callable returning them).
      transform_grads_fn: e.g. `clip_gradient_norms_fn(1.0)`.
    """
    if total_loss_fn is None:
        total_loss_fn = lambda x: x  # noqa: E731
    if not callable(total_loss_fn):
        raise ValueError("`total_loss_fn` should be a function.")
    if not common.resource_variables_enabled():
        raise RuntimeError(
            "create_train_step needs resource variables (TF2 behaviour)."
        )
    if not tf.executing_eagerly():
        if callable(loss):
            loss = loss()
        if callable(variables_to_train):
            variables_to_train = variables_to_train()
        with tf.control_dependencies(tf.nest.flatten(loss)):
            loss = tf.nest.map_structure(
                lambda t: tf.identity(t, "loss_pre_train"), loss
            )
        train_op = create_train_op(
            total_loss_fn(loss),
            optimizer,
            global_step=global_step,
            update_ops=update_ops,
            variables_to_train=variables_to_train,
            transform_grads_fn=transform_grads_fn,
            summarize_gradients=summarize_gradients,
            gate_gradients=gate_gradients,
            aggregation_method=aggregation_method,
            check_numerics=check_numerics,
        )
        with tf.control_dependencies([train_op]):
            return tf.nest.map_structure(
                lambda t: tf.identity(t, "loss_post_train"), loss
            )

    if global_step is _USE_GLOBAL_STEP:
        global_step = tf.compat.v1.train.get_or_create_global_step()
    if not callable(loss):
        raise ValueError("`loss` should be a function in eager mode.")
    if not isinstance(loss, Future):
        logging.warning("loss should be an instance of eager_utils.Future")
    with tf.GradientTape() as tape:
        loss_value = loss()
        total_loss_value = total_loss_fn(loss_value)
    if variables_to_train is None:
        variables_to_train = tape.watched_variables()
    elif callable(variables_to_train):
        variables_to_train = variables_to_train()
    flat_variables = tf.nest.flatten(variables_to_train)
    flat_variables = _for_optimizer(optimizer, flat_variables)
    grads = tape.gradient(total_loss_value, flat_variables)
    grads_and_vars = list(zip(grads, flat_variables))
    if transform_grads_fn:
        grads_and_vars = transform_grads_fn(grads_and_vars)
    if summarize_gradients:
        add_gradients_summaries(grads_and_vars, global_step)
    if check_numerics:
        tf.debugging.check_numerics(total_loss_value, "Loss is inf or nan")
    optimizer.apply_gradients(grads_and_vars, global_step=global_step)
    return loss_value


def create_train_op(
    total_loss: types.Tensor,
    optimizer: tf.compat.v1.train.Optimizer,
    global_step: tf.Variable | int | None = _USE_GLOBAL_STEP,
    update_ops: Iterable[tf.Operation] | None = None,
    variables_to_train: _Variables | None = None,
    transform_grads_fn: Callable | None = None,
    summarize_gradients: bool = False,
    gate_gradients: int = tf.compat.v1.train.Optimizer.GATE_OP,
    aggregation_method: int | None = None,
    check_numerics: bool = True,
) -> tf.Tensor:
    """TF1 graph mode: the op computing gradients, applying them, returning the loss.

    `update_ops` (default: the UPDATE_OPS collection) run before the
    gradients; variables default to all trainable variables.
    """
    if global_step is _USE_GLOBAL_STEP:
        global_step = tf.compat.v1.train.get_or_create_global_step()
    collected_updates = set(
        tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.UPDATE_OPS)
    )
    update_ops = collected_updates if update_ops is None else set(update_ops)
    if not collected_updates.issubset(update_ops):
        logging.warning(
            "update_ops in create_train_op does not contain all the update_ops in "
            "GraphKeys.UPDATE_OPS"
        )
    if update_ops:
        with tf.control_dependencies(update_ops):
            barrier = tf.no_op(name="update_barrier")
        with tf.control_dependencies([barrier]):
            total_loss = tf.identity(total_loss)
    trainable = tf.compat.v1.trainable_variables()
    if variables_to_train is None:
        variables_to_train = trainable
    else:
        for variable in variables_to_train:
            if not (variable.trainable or variable in trainable):
                raise ValueError(f"{variable.name} is not trainable.")
    if not variables_to_train:
        raise ValueError("create_train_op: there are no variables to train.")
    variables_to_train = _for_optimizer(optimizer, variables_to_train)
    grads = optimizer.compute_gradients(
        total_loss,
        variables_to_train,
        gate_gradients=gate_gradients,
        aggregation_method=aggregation_method,
    )
    if transform_grads_fn:
        grads = transform_grads_fn(grads)
    if summarize_gradients:
        add_gradients_summaries(grads, global_step)
    grad_updates = optimizer.apply_gradients(grads, global_step=global_step)
    with tf.name_scope("train_op"):
        if check_numerics:
            total_loss = tf.debugging.check_numerics(
                total_loss, "LossTensor is inf or nan"
            )
        with tf.control_dependencies([grad_updates]):
            return tf.identity(total_loss, name="train_op")


def np_function(func: Callable | None = None, output_dtypes: object = None) -> Callable:
    """Decorator: run a NumPy function on tensors (eagerly directly, else via py_function).

    In graph mode the output dtypes come from `output_dtypes` (a dtype, a
    nest of dtypes, or a callable of the input dtypes) or, by default, from
    calling `func` once on ones of the input shapes.
    """

    def _decorate(func: Callable) -> Callable:
        dtypes_by_input: dict = {}

        @functools.wraps(func)
        def _wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = functools.partial(func, **kwargs)
            if tf.executing_eagerly():
                result = bound(*tf.nest.map_structure(lambda x: x.numpy(), args))
                return tf.nest.map_structure(
                    lambda x: x if x is None else tf.convert_to_tensor(x), result
                )
            input_dtypes = tuple(x.dtype for x in tf.nest.flatten(args))
            if input_dtypes not in dtypes_by_input:
                dtypes_by_input[input_dtypes] = _output_dtypes(
                    bound, args, input_dtypes, output_dtypes
                )
            out_dtypes = dtypes_by_input[input_dtypes]
            flat = tf.py_function(
                lambda *a: tf.nest.flatten(bound(*a)),
                inp=args,
                Tout=tf.nest.flatten(out_dtypes),
            )
            return tf.nest.pack_sequence_as(out_dtypes, flat)

        return _wrapper

    return _decorate(func) if func is not None else _decorate


def _output_dtypes(
    bound: Callable, args: tuple, input_dtypes: tuple, output_dtypes: object
) -> object:
    if output_dtypes is None:
        dummy = tf.nest.map_structure(
            lambda x: np.ones(x.shape, x.dtype.as_numpy_dtype), args
        )
        return tf.nest.map_structure(lambda x: x.dtype, bound(*dummy))
    if isinstance(output_dtypes, (list, tuple)):
        return output_dtypes
    try:
        tf.as_dtype(output_dtypes)
        return output_dtypes
    except TypeError:
        if callable(output_dtypes):
            return output_dtypes(*input_dtypes)
        raise ValueError("output_dtypes not a list of dtypes or a callable.") from None


def dataset_iterator(dataset: tf.data.Dataset) -> _Iterator:
    """An iterator over `dataset` (a one-shot/initializable iterator in graph mode)."""
    if tf.executing_eagerly():
        return iter(dataset)
    try:
        return tf.compat.v1.data.make_one_shot_iterator(dataset)
    except ValueError:
        return tf.compat.v1.data.make_initializable_iterator(dataset)


def get_next(iterator: Any) -> types.NestedTensor:
    """The next element (a tensor op in graph mode)."""
    if tf.executing_eagerly():
        return next(iterator)
    return iterator.get_next()
