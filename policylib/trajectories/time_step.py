"""`TimeStep`: what an environment hands a policy at every step.

A time step carries the step type (FIRST, MID or LAST), the reward and
discount of the transition that led to it, and the new observation. The type
name and field order (step_type, reward, discount, observation) are part of
the SavedModel format, so they match TF-Agents exactly.
"""

from __future__ import annotations

import math
import pprint
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from policylib.base import nest_utils
from policylib.base.lazy_tf import is_loaded, is_tensor, nest, tf
from policylib.specs import array_spec
from policylib.typing import types

__all__ = [
    "StepType",
    "TimeStep",
    "restart",
    "termination",
    "time_step_spec",
    "transition",
    "truncation",
]


class StepType:
    """Where a time step lies in an episode: FIRST, MID or LAST.

    The constants are 0-d `np.int32` arrays so they compare and broadcast with
    both NumPy arrays and tensors. `StepType(1)` returns the `MID` constant.
    """

    FIRST = np.asarray(0, dtype=np.int32)
    MID = np.asarray(1, dtype=np.int32)
    LAST = np.asarray(2, dtype=np.int32)

    def __new__(cls, value: types.Int) -> np.ndarray:  # type: ignore[misc]
        for constant in (cls.FIRST, cls.MID, cls.LAST):
            if np.all(value == constant):
                return constant
        raise ValueError(
            f"No known conversion for {value!r} into StepType (expected 0, 1 or 2)."
        )


class _TimeStepFields(NamedTuple):
    step_type: Any
    reward: Any
    discount: Any
    observation: Any


class TimeStep(_TimeStepFields):
    """One step of an episode: `(step_type, reward, discount, observation)`."""

    __slots__ = ()

    def _compare(self, constant: np.ndarray) -> Any:
        if is_tensor(self.step_type):
            return tf.equal(self.step_type, constant)
        return np.equal(self.step_type, constant)

    def is_first(self) -> Any:
        return self._compare(StepType.FIRST)

    def is_mid(self) -> Any:
        return self._compare(StepType.MID)

    def is_last(self) -> Any:
        return self._compare(StepType.LAST)

    def __hash__(self) -> int:
        return hash(tuple(nest.flatten(self)))

    def __repr__(self) -> str:
        return (
            "TimeStep(\n" + pprint.pformat(dict(self._asdict()), sort_dicts=False) + ")"
        )


def _is_type_spec(value: object) -> bool:
    """Whether `value` is a TensorFlow spec (never, without TensorFlow loaded)."""
    return is_loaded() and isinstance(value, tf.TypeSpec)


def _is_tensor_nest(value: types.NestedSpecTensorOrArray) -> bool:
    flat = nest.flatten(value)
    return bool(flat) and is_tensor(flat[0])


def _as_array(
    value: object, dtype: npt.DTypeLike = np.float32, what: str = "value"
) -> np.ndarray:
    """`np.asarray(value, dtype)`, refusing values (like None) that become NaN."""
    if value is None:
        raise ValueError(
            f"The time step's {what} is None; expected a number or an array."
        )
    try:
        array = np.asarray(value, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"The time step's {what} {value!r:.100} is not a number or array of numbers: {e}"
        ) from None
    if array.dtype.kind == "f" and (
        math.isnan(array) if array.ndim == 0 else np.isnan(array).any()
    ):
        raise ValueError(
            f"The time step's {what}: could not convert {value!r} to a number: it "
            "converted to a nan array."
        )
    return array


def _np_dtype_of(value: types.TensorOrArray) -> npt.DTypeLike:
    return value.dtype if hasattr(value, "dtype") else np.float32


def _np_outer_shape(reward: types.NestedTensorOrArray) -> tuple:
    flat = nest.flatten(reward)
    if not flat:
        return ()
    if len(flat) == 1 and not nest.is_nested(reward):
        return tuple(np.shape(flat[0]))
    return tuple(np.shape(flat[0]))[:1]


def _tf_outer_shape(reward: types.NestedTensorOrArray) -> list:
    first = nest.flatten(reward)[0]
    if first.shape.rank == 0:
        return []
    return [tf.compat.dimension_value(first.shape[0]) or tf.shape(first)[0]]


def _check_step_args(
    helper: str,
    observation: types.NestedTensorOrArray,
    batch_size: Any = None,
    reward_spec: types.NestedSpec = None,
) -> None:
    """Raises, naming the argument, for a None observation, a bad batch size or spec."""
    if observation is None:
        raise ValueError(
            f"{helper}: observation is None; expected an array or tensor (or a nest of them)."
        )
    if batch_size is not None and not is_tensor(batch_size):
        dims = (
            batch_size
            if isinstance(batch_size, (list, tuple, np.ndarray))
            else [batch_size]
        )
        for d in np.reshape(np.asarray(dims, dtype=object), [-1]):
            if is_tensor(d):
                continue
            if isinstance(d, (bool, np.bool_)) or not hasattr(d, "__index__"):
                raise TypeError(
                    f"{helper}: batch_size must be an int, a list of ints or an int tensor; "
                    f"got {batch_size!r}."
                )
            if int(d) < 0:
                raise ValueError(f"{helper}: batch_size {batch_size!r} is negative.")
    if reward_spec is not None:
        for path, spec in nest_utils.flatten_with_joined_paths(reward_spec):
            if not (hasattr(spec, "shape") and hasattr(spec, "dtype")):
                where = f"reward_spec.{path}" if path else "reward_spec"
                raise TypeError(
                    f"{helper}: {where} is {spec!r}; expected a TensorSpec or ArraySpec."
                )


def _zeros_like_spec(
    reward_spec: types.NestedSpec, outer: types.Shape, as_tensor: bool
) -> Any:
    def _zeros(spec: types.Spec) -> Any:
        if as_tensor:
            dims = tf.TensorShape(spec.shape).as_list()
            if is_tensor(outer):
                shape = tf.concat([tf.cast(outer, tf.int32), dims], 0)
            else:
                shape = list(outer) + dims
            dtype = (
                spec.dtype
                if isinstance(spec.dtype, tf.DType)
                else tf.as_dtype(spec.dtype)
            )
            return tf.zeros(shape, dtype=dtype)
        dtype = getattr(spec.dtype, "as_numpy_dtype", spec.dtype)
        return np.zeros(tuple(outer) + tuple(spec.shape), dtype=dtype)

    return nest.map_structure(_zeros, reward_spec)


def restart(
    observation: types.NestedTensorOrArray,
    batch_size: Any = None,
    reward_spec: types.NestedSpec = None,
) -> TimeStep:
    """A FIRST time step: reward 0, discount 1.

    Args:
      observation: the first observation (a nest of arrays or tensors).
      batch_size: None for an unbatched step, an int (or int tensor) for `[B]`
        outer dims, or a shape vector (list or tensor, e.g. `[B, T]`). It is
        never inferred.
      reward_spec: optional spec nest; rewards become zeros of those shapes.
    """
    _check_step_args("restart", observation, batch_size, reward_spec)
    if not _is_tensor_nest(observation):
        if batch_size is None:
            outer: types.Shape = ()
            step_type = StepType.FIRST
            discount = np.asarray(1.0, dtype=np.float32)
            reward = np.asarray(0.0, dtype=np.float32)
        else:
            outer = tuple(int(b) for b in np.reshape(batch_size, [-1]))
            step_type = np.tile(StepType.FIRST, outer)
            discount = np.ones(outer, dtype=np.float32)
            reward = np.zeros(outer, dtype=np.float32)
        if reward_spec is not None:
            reward = _zeros_like_spec(reward_spec, outer, as_tensor=False)
        return TimeStep(step_type, reward, discount, observation)

    if batch_size is None:
        shape: types.Shape = []
    elif is_tensor(batch_size) and batch_size.shape.rank:
        shape = batch_size
    elif isinstance(batch_size, (list, tuple, np.ndarray)) and np.ndim(batch_size):
        shape = list(batch_size)  # several outer dims, e.g. [B, T]
    else:
        shape = [batch_size]
    step_type = tf.fill(shape, StepType.FIRST, name="step_type")
    if reward_spec is None:
        reward = tf.fill(shape, np.float32(0.0), name="reward")
    else:
        reward = _zeros_like_spec(reward_spec, shape, as_tensor=True)
    discount = tf.fill(shape, np.float32(1.0), name="discount")
    return TimeStep(step_type, reward, discount, observation)


def _step(
    step_constant: np.ndarray,
    observation: types.NestedTensorOrArray,
    reward: types.NestedTensorOrArray,
    discount: types.NestedTensorOrArray,
    outer_dims: types.Shape | None,
    helper: str,
    batch_from_reward_first_dim: bool = False,
) -> TimeStep:
    """One time step for `helper`; its batch is `outer_dims`, else the reward's.

    The reward's whole shape, or its first dim only with
    `batch_from_reward_first_dim` (NumPy rewards).
    """
    _check_step_args(helper, observation)
    if not _is_tensor_nest(observation) and not _is_tensor_nest(reward):
        reward = (
            nest.map_structure(
                lambda r: _as_array(r, _np_dtype_of(r), "reward"), reward
            )
            if nest.is_nested(reward)
            else _as_array(reward, _np_dtype_of(reward), "reward")
        )
        if outer_dims is not None:
            outer = tuple(outer_dims)
        elif batch_from_reward_first_dim:
            outer = (
                tuple(np.shape(nest.flatten(reward)[0]))[:1]
                if nest.flatten(reward)
                else ()
            )
        else:
            outer = _np_outer_shape(reward)
        step_type = np.tile(step_constant, outer) if outer else step_constant
        discount = _as_array(discount, what="discount")
        if discount.ndim == 0 and outer:
            discount = np.full(outer, discount, dtype=np.float32)
        elif discount.ndim and outer and discount.shape[0] != outer[0]:
            raise ValueError(
                f"{helper}: discount has shape {discount.shape}, but the reward gives "
                f"outer dims {tuple(outer)}; they must match."
            )
        return TimeStep(step_type, reward, discount, observation)

    reward = nest.map_structure(
        lambda r: tf.convert_to_tensor(
            r, dtype=getattr(r, "dtype", tf.float32), name="reward"
        ),
        reward,
    )
    shape = outer_dims if outer_dims is not None else _tf_outer_shape(reward)
    step_type = tf.fill(shape, step_constant, name="step_type")
    discount = tf.convert_to_tensor(discount, dtype=tf.float32, name="discount")
    if discount.shape.rank == 0:
        discount = tf.fill(shape, discount, name="discount_fill")
    elif (
        not is_tensor(shape)
        and len(shape)
        and not discount.shape[:1].is_compatible_with(shape[:1])
    ):
        raise ValueError(
            f"{helper}: discount has shape {discount.shape.as_list()}, but the reward "
            f"gives outer dims {list(shape)}; they must match."
        )
    return TimeStep(step_type, reward, discount, observation)


def transition(
    observation: types.NestedTensorOrArray,
    reward: types.NestedTensorOrArray,
    discount: types.NestedTensorOrArray = 1.0,
    outer_dims: types.Shape | None = None,
) -> TimeStep:
    """A MID time step. The batch shape comes from `outer_dims` or the reward."""
    return _step(StepType.MID, observation, reward, discount, outer_dims, "transition")


def termination(
    observation: types.NestedTensorOrArray,
    reward: types.NestedTensorOrArray,
    outer_dims: types.Shape | None = None,
) -> TimeStep:
    """A LAST time step of an episode that ended: discount 0."""
    # As TF-Agents: the batch is the reward's first dim, so a vector reward per
    # entry (a bandit's score per slot) keeps [B] steps.
    return _step(
        StepType.LAST,
        observation,
        reward,
        0.0,
        outer_dims,
        "termination",
        batch_from_reward_first_dim=True,
    )


def truncation(
    observation: types.NestedTensorOrArray,
    reward: types.NestedTensorOrArray,
    discount: types.NestedTensorOrArray = 1.0,
    outer_dims: types.Shape | None = None,
) -> TimeStep:
    """A LAST time step of an episode cut short (e.g. a time limit): discount kept."""
    return _step(StepType.LAST, observation, reward, discount, outer_dims, "truncation")


def _check_spec_leaves(specs: types.NestedSpec, what: str, tensor: bool) -> None:
    """Raises TypeError naming the first leaf that is not a spec of the nest's kind."""
    kind = tf.TypeSpec if tensor else array_spec.ArraySpec
    for path, leaf in nest_utils.flatten_with_joined_paths(specs):
        if not isinstance(leaf, kind):
            where = f"{what}.{path}" if path else what
            expected = (
                "a TensorSpec (like the other leaves)" if tensor else "an ArraySpec"
            )
            if not tensor and _is_type_spec(leaf):
                expected = "an ArraySpec (like the other leaves)"
            raise TypeError(f"{where} is {leaf!r}; expected {expected}.")


def time_step_spec(
    observation_spec: types.NestedSpec = None, reward_spec: types.NestedSpec = None
) -> TimeStep:
    """The `TimeStep` of specs for an observation (and optional reward) spec.

    Tensor specs give tensor specs and array specs give array specs; mixing the
    two kinds between observation and reward is a TypeError.
    """
    if observation_spec is None:
        return TimeStep(step_type=(), reward=(), discount=(), observation=())

    flat_obs = nest.flatten(observation_spec)
    obs_is_tensor = bool(flat_obs) and _is_type_spec(flat_obs[0])
    _check_spec_leaves(observation_spec, "observation_spec", obs_is_tensor)
    if reward_spec is not None:
        flat_reward = nest.flatten(reward_spec)
        reward_is_tensor = bool(flat_reward) and _is_type_spec(flat_reward[0])
        if not (
            reward_is_tensor
            or (flat_reward and isinstance(flat_reward[0], array_spec.ArraySpec))
        ):
            raise TypeError(
                f"reward_spec must be a nest of TensorSpecs or ArraySpecs, got {reward_spec!r}."
            )
        if reward_is_tensor != obs_is_tensor:
            raise TypeError(
                "observation_spec and reward_spec must both be tensor specs or both be "
                f"array specs; got observation {flat_obs[0]!r} and reward {flat_reward[0]!r}."
            )

    if obs_is_tensor:
        from policylib.specs import tensor_spec

        plain, bounded = tensor_spec.TensorSpec, tensor_spec.BoundedTensorSpec
        int_dtype, float_dtype = tf.int32, tf.float32
    else:
        plain, bounded = array_spec.ArraySpec, array_spec.BoundedArraySpec
        int_dtype, float_dtype = np.int32, np.float32
    return TimeStep(
        step_type=plain([], int_dtype, name="step_type"),
        reward=reward_spec or plain([], float_dtype, name="reward"),
        discount=bounded([], float_dtype, minimum=0.0, maximum=1.0, name="discount"),
        observation=observation_spec,
    )
