"""TensorFlow helpers under TF-Agents' `utils.common` path.

Policy helpers (specs, variables, noise, Q-values) live here; returns and
loss aggregation live in `utils.returns` and `utils.losses` and are
re-exported here so TF-Agents code finds them where it expects.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import struct_pb2

__all__ = [
    "AggregatedLosses",
    "Checkpointer",
    "EagerPeriodically",
    "OUProcess",
    "Periodically",
    "aggregate_losses",
    "assert_members_are_not_overridden",
    "check_matching_networks",
    "check_no_shared_variables",
    "check_tf1_allowed",
    "clip_to_spec",
    "compute_returns",
    "convert_q_logits_to_values",
    "create_variable",
    "discounted_future_sum",
    "discounted_future_sum_masked",
    "entropy",
    "function",
    "function_in_tf1",
    "get_contiguous_sub_episodes",
    "get_episode_mask",
    "has_eager_been_enabled",
    "in_legacy_tf1",
    "index_with_actions",
    "join_scope",
    "load_spec",
    "log_probability",
    "ornstein_uhlenbeck_process",
    "periodically",
    "replicate",
    "resource_variables_enabled",
    "safe_has_state",
    "save_spec",
    "scale_to_spec",
    "set_default_tf_function_parameters",
    "shift_values",
    "soft_variables_update",
    "spec_means_and_magnitudes",
]


# ----------------------------------------------------------------------------
# tf.function and TF1 mode


def function(*args: Any, **kwargs: Any) -> Any:
    """`tf.function` with autograph off and `reduce_retracing` on by default."""
    kwargs.setdefault("autograph", False)
    kwargs.setdefault("reduce_retracing", True)
    return tf.function(*args, **kwargs)


def has_eager_been_enabled() -> bool:
    """True when TF2 behaviour (eager by default) is on."""
    return tf.compat.v1.executing_eagerly_outside_functions()


def in_legacy_tf1() -> bool:
    """True inside a TF1 graph (eager disabled), outside any `tf.function`."""
    return (
        not tf.executing_eagerly()
        and not tf.compat.v1.executing_eagerly_outside_functions()
    )


def function_in_tf1(*args: Any, **kwargs: Any) -> Callable:
    """Wraps a method in `common.function` only in TF1 graph mode.

    In TF2 the method runs as written (eagerly, or traced by the caller's own
    `tf.function`), which keeps eager debugging possible.
    """

    def decorator(fn: Callable) -> Callable:
        compiled = None

        @functools.wraps(fn)
        def wrapper(*a: Any, **kw: Any) -> Any:
            nonlocal compiled
            if not in_legacy_tf1():
                return fn(*a, **kw)
            if compiled is None:
                compiled = function(fn, *args, **kwargs)
            return compiled(*a, **kw)

        return wrapper

    return decorator


def check_tf1_allowed() -> None:
    """Raises if TF2 behaviour has been disabled: policylib needs TF2 semantics."""
    if not tf.__internal__.tf2.enabled():
        raise RuntimeError(
            "policylib needs TF2 behaviour; tf.compat.v1.disable_v2_behavior() was called."
        )


def resource_variables_enabled() -> bool:
    return tf.compat.v1.resource_variables_enabled()


# ----------------------------------------------------------------------------
# Variables


def create_variable(
    name: str,
    initial_value: Any = 0,
    shape: Any = (),
    dtype: Any = tf.int64,
    use_local_variable: bool = False,
    trainable: bool = False,
    initializer: Any = None,
    unique_name: bool = True,
) -> tf.Variable:
    """A (by default non-trainable int64 scalar) variable, e.g. a train step.

    Args:
      name: variable name.
      initial_value: starting value when no `initializer` is given.
      shape: variable shape.
      dtype: variable dtype.
      use_local_variable: accepted for TF1 compatibility; ignored in TF2.
      trainable: whether optimizers should see it.
      initializer: optional callable `(shape, dtype) -> value`.
      unique_name: accepted for TF1 compatibility; TF2 names need not be unique.
    """
    del use_local_variable, unique_name
    if initializer is None:
        value = (
            tf.fill(shape, tf.constant(initial_value, dtype=dtype))
            if shape
            else tf.constant(initial_value, dtype=dtype)
        )
    else:
        value = (
            functools.partial(initializer, shape, dtype)
            if callable(initializer)
            else initializer
        )
    return tf.Variable(value, name=name, dtype=dtype, trainable=trainable, shape=shape)


def soft_variables_update(
    source_variables: Sequence[tf.Variable],
    target_variables: Sequence[tf.Variable],
    tau: float = 1.0,
    tau_non_trainable: float | None = None,
    sort_variables_by_name: bool = False,
) -> tf.Operation:
    """`target = (1 - tau) * target + tau * source` for each paired variable.

    Args:
      source_variables: variables to copy from.
      target_variables: variables to update, paired in order with the sources.
      tau: interpolation weight for trainable targets (1.0 copies).
      tau_non_trainable: weight for non-trainable targets; defaults to `tau`.
      sort_variables_by_name: pair variables by sorted name instead of order.

    Raises:
      ValueError: tau outside [0, 1], different counts, or mismatched shapes.
    """
    if not 0.0 <= tau <= 1.0:
        raise ValueError(f"tau must be in [0, 1], got {tau}.")
    if tau_non_trainable is None:
        tau_non_trainable = tau
    source_variables = list(source_variables)
    target_variables = list(target_variables)
    if len(source_variables) != len(target_variables):
        raise ValueError(
            f"Number of source variables ({len(source_variables)}) differs from the number "
            f"of target variables ({len(target_variables)})."
        )
    if sort_variables_by_name:
        source_variables = sorted(source_variables, key=lambda v: v.name)
        target_variables = sorted(target_variables, key=lambda v: v.name)
    updates = []
    for source, target in zip(source_variables, target_variables):
        if not source.shape.is_compatible_with(target.shape):
            raise ValueError(
                f"Cannot update {target.name} {target.shape} from {source.name} {source.shape}: "
                "shapes differ."
            )
        weight = tau if target.trainable else tau_non_trainable
        if weight == 1.0:
            updates.append(target.assign(source))
        else:
            updates.append(target.assign((1 - weight) * target + weight * source))
    return tf.group(*updates, name="update_targets")


# ----------------------------------------------------------------------------
# Specs and actions


def spec_means_and_magnitudes(action_spec: Any) -> tuple[Any, Any]:
    """Per-leaf `(mean, half-width)` of a bounded spec nest, as float32 arrays."""

    def _mean(spec: Any) -> np.ndarray:
        return ((np.asarray(spec.maximum) + np.asarray(spec.minimum)) / 2.0).astype(
            np.float32
        )

    def _magnitude(spec: Any) -> np.ndarray:
        return ((np.asarray(spec.maximum) - np.asarray(spec.minimum)) / 2.0).astype(
            np.float32
        )

    return (
        tf.nest.map_structure(_mean, action_spec),
        tf.nest.map_structure(_magnitude, action_spec),
    )


def scale_to_spec(tensor: tf.Tensor, spec: Any) -> tf.Tensor:
    """Maps values in [-1, 1] linearly onto the spec's [minimum, maximum].

    The result has shape `[batch] + spec.shape`: outer dims are folded into
    one batch dim (an unbatched value gets a batch dim of 1).
    """
    tensor = tf.reshape(tensor, [-1] + spec.shape.as_list())
    means, magnitudes = spec_means_and_magnitudes(spec)
    return means + magnitudes * tensor


def clip_to_spec(value: Any, spec: Any) -> tf.Tensor:
    """Clips a tensor to a bounded spec's [minimum, maximum]."""
    return tf.clip_by_value(
        value,
        tf.cast(spec.minimum, value.dtype),
        tf.cast(spec.maximum, value.dtype),
    )


def replicate(tensor: Any, outer_shape: Any) -> tf.Tensor:
    """Tiles `tensor` so that its shape becomes `outer_shape + tensor.shape`."""
    tensor = tf.convert_to_tensor(tensor)
    outer_shape = tf.convert_to_tensor(outer_shape, dtype=tf.int32)
    if outer_shape.shape.rank != 1:
        raise ValueError(
            f"outer_shape must be a vector, got shape {outer_shape.shape}."
        )
    tiled = tf.tile(
        tf.reshape(tensor, tf.concat([tf.ones_like(outer_shape), tf.shape(tensor)], 0)),
        tf.concat([outer_shape, tf.ones_like(tf.shape(tensor))], 0),
    )
    static_outer = tf.get_static_value(outer_shape)
    if static_outer is not None:
        tiled = tf.ensure_shape(tiled, list(static_outer) + tensor.shape.as_list())
    return tiled


# ----------------------------------------------------------------------------
# Class contracts


def _public_members(cls: type) -> Iterable[str]:
    return (name for name in dir(cls) if not name.startswith("_"))


def assert_members_are_not_overridden(
    base_cls: type,
    instance: Any,
    allowlist: Sequence[str] = (),
    denylist: Sequence[str] = (),
) -> None:
    """Raises ValueError if `instance`'s class redefines public members of `base_cls`.

    Base classes use this to keep their public methods a fixed template that
    subclasses customize only through `_private` hooks.

    Args:
      base_cls: the class whose public members are protected.
      instance: the object being constructed.
      allowlist: public members subclasses may override.
      denylist: if given, only these members are protected.
    """
    if denylist:
        protected = [m for m in denylist if m not in allowlist]
    else:
        protected = [m for m in _public_members(base_cls) if m not in allowlist]
    instance_type = type(instance)
    overridden = [
        name
        for name in protected
        if inspect.getattr_static(instance_type, name, None)
        is not inspect.getattr_static(base_cls, name, None)
    ]
    if overridden:
        raise ValueError(
            f"{instance_type.__name__} overrides public members of {base_cls.__name__}, which "
            f"subclasses must not redefine: {', '.join(sorted(overridden))}. Override the "
            "corresponding _private hooks instead."
        )


def safe_has_state(state: Any) -> bool:
    """True unless `state` is None or an empty tuple/list (policy without state)."""
    return not (state is None or (isinstance(state, (tuple, list)) and len(state) == 0))


# ----------------------------------------------------------------------------
# Checkpoints and spec files


class Checkpointer:
    """`tf.train.Checkpoint` plus a `CheckpointManager` for one directory.

    Args:
      ckpt_dir: where checkpoints are written.
      max_to_keep: how many recent checkpoints to keep.
      **kwargs: the objects to checkpoint, by name.
    """

    def __init__(self, ckpt_dir: str, max_to_keep: int = 20, **kwargs: Any):
        self._checkpoint = tf.train.Checkpoint(**kwargs)
        self._manager = tf.train.CheckpointManager(
            self._checkpoint, directory=ckpt_dir, max_to_keep=max_to_keep
        )
        # Restoring None yields a status that initializes variables (graph mode).
        self._load_status = self._checkpoint.restore(self._manager.latest_checkpoint)

    @property
    def checkpoint_exists(self) -> bool:
        return self._manager.latest_checkpoint is not None

    @property
    def manager(self) -> tf.train.CheckpointManager:
        return self._manager

    def initialize_or_restore(self, session: Any = None) -> Any:
        """Restores the latest checkpoint (or initializes, in graph mode); returns the status."""
        if not tf.executing_eagerly():
            self._load_status.initialize_or_restore(session)
        return self._load_status

    def save(
        self, global_step: Any, options: tf.train.CheckpointOptions | None = None
    ) -> str:
        """Writes a checkpoint numbered by `global_step` (an int or variable); returns its path."""
        if tf.executing_eagerly() and hasattr(global_step, "numpy"):
            global_step = int(global_step.numpy())
        return self._manager.save(checkpoint_number=global_step, options=options)


def save_spec(spec: Any, file_path: str) -> None:
    """Writes a spec nest as a binary `StructuredValue` proto."""
    from policylib.specs import tensor_spec

    proto = tensor_spec.to_proto(spec)
    directory = os.path.dirname(file_path)
    if directory:
        tf.io.gfile.makedirs(directory)
    with tf.io.gfile.GFile(file_path, "wb") as f:
        f.write(proto.SerializeToString())


def load_spec(file_path: str) -> Any:
    """Reads a spec nest written by `save_spec`."""
    from policylib.specs import tensor_spec

    proto = struct_pb2.StructuredValue()
    with tf.io.gfile.GFile(file_path, "rb") as f:
        proto.ParseFromString(f.read())
    return tensor_spec.from_proto(proto)


# ----------------------------------------------------------------------------
# Exploration noise


class OUProcess(tf.Module):
    """Ornstein-Uhlenbeck noise: each call returns `x <- (1 - damping) * x + N(0, stddev^2)`.

    Args:
      initial_value: initial `x` (a tensor, or a callable returning one).
      damping: pull towards 0 per step.
      stddev: standard deviation of the increments.
      seed: op seed.
      scope: name scope of the state variable.
    """

    def __init__(
        self,
        initial_value: Any,
        damping: float = 0.15,
        stddev: float = 0.2,
        seed: int | None = None,
        scope: str = "ornstein_uhlenbeck_noise",
    ):
        super().__init__()
        self._damping = damping
        self._stddev = stddev
        self._seed = seed
        with tf.name_scope(scope):
            self._x = tf.Variable(initial_value=initial_value, trainable=False)

    def __call__(self) -> tf.Tensor:
        noise = tf.random.normal(
            shape=self._x.shape,
            stddev=self._stddev,
            dtype=self._x.dtype,
            seed=self._seed,
        )
        return self._x.assign((1.0 - self._damping) * self._x + noise)


def ornstein_uhlenbeck_process(
    initial_value: Any,
    damping: float = 0.15,
    stddev: float = 0.2,
    seed: int | None = None,
    scope: str = "ornstein_uhlenbeck_noise",
) -> Any:
    """An `OUProcess` (eager), or the op of one step of it (TF1 graph mode)."""
    process = OUProcess(initial_value, damping, stddev, seed, scope)
    return process if tf.executing_eagerly() else process()


# ----------------------------------------------------------------------------
# Distributions and Q-values


def convert_q_logits_to_values(logits: tf.Tensor, support: tf.Tensor) -> tf.Tensor:
    """Expected value per action of categorical (C51) logits over `support` atoms."""
    return tf.reduce_sum(support * tf.nn.softmax(logits), axis=-1)


def index_with_actions(
    q_values: tf.Tensor, actions: tf.Tensor, multi_dim_actions: bool = False
):
    """`q_values[..., action]` for every outer index of `actions`.

    Args:
      q_values: `[B1, ..., Bn, num_actions]` (or more inner dims when
        `multi_dim_actions`).
      actions: `[B1, ..., Bn]` integer actions (`[..., action_dims]` when
        `multi_dim_actions`).
    """
    if actions.shape.rank is None:
        raise ValueError("actions should have known rank.")
    batch_dims = actions.shape.rank - (1 if multi_dim_actions else 0)
    outer_shape = tf.shape(actions)
    batch_indices = tf.meshgrid(
        *[tf.range(outer_shape[i]) for i in range(batch_dims)], indexing="ij"
    )
    batch_indices = [tf.cast(tf.expand_dims(i, -1), tf.int32) for i in batch_indices]
    if not multi_dim_actions:
        actions = tf.expand_dims(actions, -1)
    indices = tf.concat(batch_indices + [tf.cast(actions, tf.int32)], -1)
    return tf.gather_nd(q_values, indices)


def log_probability(distributions: Any, actions: Any, action_spec: Any) -> tf.Tensor:
    """Total log-probability of a nest of actions, summed over inner dims and leaves."""
    from policylib.utils import nest_utils

    outer_rank = nest_utils.get_outer_rank(actions, action_spec)
    nest_utils.assert_same_structure(distributions, actions)

    def _log_prob(distribution: Any, action: Any) -> tf.Tensor:
        value = distribution.log_prob(action)
        return tf.reduce_sum(value, axis=list(range(outer_rank, value.shape.rank)))

    return tf.add_n(
        [
            _log_prob(d, a)
            for d, a in zip(tf.nest.flatten(distributions), tf.nest.flatten(actions))
        ]
    )


def entropy(distributions: Any, action_spec: Any, outer_rank: int | None = None) -> Any:
    """Total entropy of a nest of distributions (None if no leaf has one)."""
    from policylib.utils import nest_utils

    if outer_rank is None:
        modes = tf.nest.map_structure(lambda d: d.mode(), distributions)
        outer_rank = nest_utils.get_outer_rank(modes, action_spec)
    entropies = []
    for distribution in tf.nest.flatten(distributions):
        try:
            value = distribution.entropy()
        except NotImplementedError:
            continue
        entropies.append(
            tf.reduce_sum(value, axis=list(range(outer_rank, value.shape.rank)))
        )
    return tf.add_n(entropies) if entropies else None


# ----------------------------------------------------------------------------
# Training-loop helpers


class Periodically(tf.Module):
    """Runs `body` every `period`-th call, counting in a variable (graph-safe)."""

    def __init__(self, body: Callable, period: Any, name: str = "periodically"):
        super().__init__(name=name)
        if not callable(body):
            raise TypeError("body must be callable.")
        self._body = body
        self._period = period
        self._counter = create_variable(self.name + "/counter", 0)

    def __call__(self) -> Any:
        if self._period is None:
            return tf.no_op()
        if isinstance(self._period, int) and self._period == 1:
            return self._body()
        period = tf.cast(self._period, self._counter.dtype)
        remainder = tf.math.mod(self._counter.assign_add(1), period)
        return tf.cond(tf.equal(remainder, 0), self._body, tf.no_op)


class EagerPeriodically:
    """Runs `body` every `period`-th call, counting in Python (eager)."""

    def __init__(self, body: Callable, period: int | None):
        if not callable(body):
            raise TypeError("body must be callable.")
        self._body = body
        self._period = period
        self._counter = 0

    def __call__(self) -> Any:
        if self._period is None:
            return tf.no_op()
        if self._period == 1:
            return self._body()
        self._counter += 1
        if self._counter % self._period == 0:
            return self._body()
        return None


def periodically(body: Callable, period: Any, name: str = "periodically") -> Any:
    """A callable running `body` every `period` calls (None: never; 1: always).

    Eagerly, returns the callable (a variable-backed one when `period` is a
    `tf.Variable`); in TF1 graph mode, returns the op of one call.
    """
    if tf.executing_eagerly():
        if isinstance(period, tf.Variable):
            return Periodically(body, period, name)
        return EagerPeriodically(body, period)
    return Periodically(body, period, name)()


def check_matching_networks(network_1: Any, network_2: Any) -> None:
    """ValueError unless two networks have the same input spec and variable shapes."""
    if network_1.input_tensor_spec != network_2.input_tensor_spec:
        raise ValueError(
            "Input tensor specs of network and target network do not match: "
            f"{network_1.input_tensor_spec} vs. {network_2.input_tensor_spec}."
        )
    variables_1, variables_2 = network_1.variables, network_2.variables
    if len(variables_1) != len(variables_2):
        raise ValueError(
            "Variables lengths do not match between Q network and target network: "
            f"{variables_1} vs. {variables_2}"
        )
    for v1, v2 in zip(variables_1, variables_2):
        if v1.dtype != v2.dtype or v1.shape != v2.shape:
            raise ValueError(f"Variable dtypes or shapes do not match: {v1} vs. {v2}")


def check_no_shared_variables(network_1: Any, network_2: Any) -> None:
    """ValueError if two networks (e.g. online and target) share trainable variables."""
    ids_2 = {id(v) for v in network_2.trainable_variables}
    shared = [v for v in network_1.trainable_variables if id(v) in ids_2]
    if shared:
        raise ValueError(
            f"After making a copy of network '{network_1.name}' to create a target network "
            f"'{network_2.name}', the target network shares weights with the original "
            "network.  This is not allowed: create every weight inside the Network (a copy "
            "is a new Network built from the same arguments), or pass a target network "
            f"that shares layers explicitly. Shared variables found: '{[v.name for v in shared]}'."
        )


@contextlib.contextmanager
def exclusive(lock: threading.Lock, message: str) -> Iterator[None]:
    """Holds `lock`, raising RuntimeError(`message`) instead of waiting for it.

    For Python state reached from TF ops (`tf.numpy_function`), where two ops
    running at once means the caller's graph is missing a dependency.
    """
    if not lock.acquire(blocking=False):
        raise RuntimeError(message)
    try:
        yield
    finally:
        lock.release()


def transpose_batch_time(t: tf.Tensor) -> tf.Tensor:
    """Swaps the two leading axes ([B, T, ...] <-> [T, B, ...])."""
    return tf.transpose(t, [1, 0, *range(2, t.shape.rank)])


def join_scope(parent_scope: str, child_scope: str) -> str:
    """`'parent/child'`, or whichever of the two is non-empty."""
    if not parent_scope:
        return child_scope
    if not child_scope:
        return parent_scope
    return f"{parent_scope}/{child_scope}"


def set_default_tf_function_parameters(*args: Any, **kwargs: Any) -> Callable:
    """Decorator: in graph mode, wraps the function in `common.function(*args, **kwargs)`.

    Eagerly the function runs as is, so callers decide about tracing.
    """

    def _decorate(fn: Callable) -> Callable:
        traced: list = [None]

        @functools.wraps(fn)
        def _preconfigured(*fn_args: Any, **fn_kwargs: Any) -> Any:
            if tf.executing_eagerly():
                return fn(*fn_args, **fn_kwargs)
            if traced[0] is None:
                traced[0] = function(fn, *args, **kwargs)
            return traced[0](*fn_args, **fn_kwargs)

        return _preconfigured

    return _decorate


# Re-exported under TF-Agents' module path.
from policylib.utils.losses import AggregatedLosses, aggregate_losses  # noqa: E402
from policylib.utils.returns import (  # noqa: E402
    compute_returns,
    discounted_future_sum,
    discounted_future_sum_masked,
    get_contiguous_sub_episodes,
    get_episode_mask,
    shift_values,
)
