"""`PolicyPayload`: a policy packed to travel to a worker process or a Ray actor.

A worker cannot share the learner's TensorFlow objects, so a policy travels
as what `PolicySaver` writes: the path of a SavedModel (or LiteRT export)
that the worker loads (`PathPayload`), or that directory packed into a tar
archive when the worker may be on another machine (`ArchivePayload`, Ray).
A TF policy is exported first; a loaded SavedModel policy travels as its
directory plus its current variable values (it may have been updated since
it was loaded). A pure-Python policy (scripted, random, your own
`PyPolicy`) travels pickled with cloudpickle (`PicklePayload`). The worker
checks and loads a saved one with `export.policy_source.PolicySource`.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
import tempfile
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import cloudpickle
import numpy as np

from policylib.export import policy_source

if TYPE_CHECKING:
    import tensorflow as tf

    from policylib.policies import py_policy, tf_policy

__all__ = [
    "ArchivePayload",
    "PathPayload",
    "PicklePayload",
    "PolicyPayload",
    "assign_variables",
    "pack",
    "pack_source",
]


@dataclasses.dataclass(frozen=True)
class PolicyPayload:
    """What a worker needs to rebuild a policy: one subclass per way to travel."""

    def load(self) -> py_policy.PyPolicy:
        """The policy as a `PyPolicy`, in this process."""
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class PicklePayload(PolicyPayload):
    """A pure-Python `PyPolicy`, cloudpickled."""

    data: bytes

    def load(self) -> py_policy.PyPolicy:
        return cloudpickle.loads(self.data)


@dataclasses.dataclass(frozen=True)
class _SavedPayload(PolicyPayload):
    """A saved policy (SavedModel or LiteRT export), checked and loaded by the worker.

    Attributes:
      variables: values to assign to the loaded policy's `model_variables`,
        in order, or None to keep the saved ones.
      allow_unsafe_ops: passed to the worker's unsafe-op check.
    """

    variables: tuple[np.ndarray, ...] | None = dataclasses.field(
        default=None, kw_only=True
    )
    allow_unsafe_ops: bool = dataclasses.field(default=False, kw_only=True)

    def _load_dir(self, path: str) -> py_policy.PyPolicy:
        source = policy_source.PolicySource.of(path, self.allow_unsafe_ops)
        policy = source.load()
        if self.variables is not None:
            assign_variables(policy, self.variables)
        return policy


@dataclasses.dataclass(frozen=True)
class PathPayload(_SavedPayload):
    """A saved policy's directory on this machine (worker processes)."""

    path: str

    def load(self) -> py_policy.PyPolicy:
        return self._load_dir(self.path)


@dataclasses.dataclass(frozen=True)
class ArchivePayload(_SavedPayload):
    """A saved policy's directory as tar bytes (Ray actors, maybe on other machines)."""

    archive: bytes

    def load(self) -> py_policy.PyPolicy:
        """Unpacks into a temporary directory that lives as long as the process.

        (The loaded SavedModel reads its files lazily.)
        """
        staging = tempfile.mkdtemp(prefix="policylib-policy-")
        with tarfile.open(fileobj=io.BytesIO(self.archive)) as tar:
            tar.extractall(staging, filter="data")
        return self._load_dir(os.path.join(staging, "policy"))


def assign_variables(
    policy: py_policy.PyPolicy,
    values: Iterable[np.ndarray],
    train_step: int | None = None,
) -> None:
    """Assigns `values` to a loaded SavedModel policy's variables, in order.

    `train_step`, if given, is assigned to the saved train step (which an
    epsilon or learning-rate schedule inside the policy may read).

    Raises:
      ValueError: the number, shapes or dtypes do not fit (naming the first
        variable that does not), before any variable changes.
    """
    loaded: Any = policy  # a SavedModelPyTFEagerPolicy: `variables()` are tf.Variables
    variables = list(loaded.variables())
    arrays = [np.asarray(v) for v in values]
    if len(arrays) != len(variables):
        raise ValueError(
            f"The policy has {len(variables)} variables but {len(arrays)} values "
            "were sent: the weights come from another network."
        )
    for i, (variable, value) in enumerate(zip(variables, arrays)):
        shape = tuple(variable.shape)
        dtype = np.dtype(variable.dtype.as_numpy_dtype)
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise ValueError(
                f"Variable {i} ({variable.name}) is {dtype.name}{list(shape)} but the "
                f"value sent is {value.dtype.name}{list(value.shape)}."
            )
    for variable, value in zip(variables, arrays):
        variable.assign(value)
    if train_step is not None:
        loaded.train_step.assign(train_step)


def variable_values(policy: policy_source.LivePolicy) -> tuple[np.ndarray, ...]:
    """A TF policy's (or `PyTFEagerPolicy`'s) variables as NumPy arrays, in order."""
    import tensorflow as tf

    # A TF policy's, else the policy's own (a loaded SavedModel policy's).
    holder: Any = _tf_policy_of(policy) or policy
    return tuple(np.asarray(v) for v in tf.nest.flatten(holder.variables()))


def is_tf_policy(policy: object) -> bool:
    """True for a `TFPolicy` or a `PyTFEagerPolicy` (what `pack` exports)."""
    return _tf_policy_of(policy) is not None


def _tf_policy_of(policy: object) -> tf_policy.TFPolicy | None:
    """The `TFPolicy` inside `policy` (itself, or a `PyTFEagerPolicy`'s), else None."""
    from policylib.base import lazy_tf

    if not lazy_tf.is_loaded():
        return None
    from policylib.policies import py_tf_eager_policy, tf_policy

    if isinstance(policy, tf_policy.TFPolicy):
        return policy
    if isinstance(policy, py_tf_eager_policy.PyTFEagerPolicy):
        return policy.wrapped_policy
    return None


def pack_source(
    source: policy_source.PolicySource, *, portable: bool, staging_dir: str
) -> PolicyPayload:
    """Packs a checked policy argument for a worker (see `pack`)."""
    return pack(
        source.path if source.path is not None else source.policy,
        portable=portable,
        staging_dir=staging_dir,
        allow_unsafe_ops=source.allow_unsafe_ops,
    )


def pack(
    policy: policy_source.LivePolicy | str | os.PathLike[str] | None,
    *,
    portable: bool,
    staging_dir: str,
    allow_unsafe_ops: bool = False,
    train_step: tf.Variable | None = None,
    seed: int | None = None,
) -> PolicyPayload:
    """Packs `policy` for a worker.

    Args:
      policy: a SavedModel or LiteRT export path, a `TFPolicy`, a
        `PyTFEagerPolicy`, a loaded `SavedModelPyTFEagerPolicy`, or another
        `PyPolicy` (pickled).
      portable: the worker may be on another machine: send the directory's
        bytes, not its path.
      staging_dir: where a TF policy is exported (must outlive the workers'
        loading when `portable` is False).
      allow_unsafe_ops: passed to the worker's SavedModel loader.
      train_step: the int `tf.Variable` a TF policy is exported with (as
        `PolicySaver(train_step=...)`: an epsilon schedule that reads it
        then reads the saved copy, which `assign_variables` updates).
      seed: for a TF policy, the `PolicySaver(seed=...)` of its export: the
        seed its random ops (an epsilon coin, a sampled action) are built
        with. Exports with different seeds explore differently; one export
        gives every process that loads it the same random stream.

    Raises:
      TypeError: `policy` is none of those, or cannot be pickled.
    """
    from policylib.policies import py_policy

    variables = None
    path: str | None = None
    if isinstance(policy, (str, os.PathLike)):
        path = os.fspath(policy)
        if not os.path.isdir(path):
            from policylib.errors import NotAPolicyError

            raise NotAPolicyError(
                f"{path}: no such directory (expected a saved policy)."
            )
    elif (tf_pol := _tf_policy_of(policy)) is not None:
        from policylib.policies import policy_saver

        path = os.path.join(staging_dir, "policy")
        policy_saver.PolicySaver(
            tf_pol, batch_size=None, train_step=train_step, seed=seed
        ).save(path)
    elif isinstance(policy, _loaded_policy_types()):
        loaded: Any = policy
        # A SavedModel policy travels with its current variables (it may have
        # been updated since it was loaded); a LiteRT one as its export.
        path = getattr(loaded, "model_path", None) or loaded.export_dir
        if hasattr(loaded, "model_path"):
            variables = tuple(np.asarray(v) for v in loaded.variables())
    elif isinstance(policy, py_policy.PyPolicy):
        try:
            return PicklePayload(cloudpickle.dumps(policy))
        except Exception as e:
            raise TypeError(
                f"The {type(policy).__name__} cannot be sent to worker processes: "
                f"pickling it failed ({e}). Save it with PolicySaver and pass the path."
            ) from e
    else:
        raise TypeError(
            "policy must be a PyPolicy, a TFPolicy or the path of a saved policy; "
            f"got {type(policy).__name__}."
        )
    assert path is not None
    if not portable:
        return PathPayload(path, variables=variables, allow_unsafe_ops=allow_unsafe_ops)
    return ArchivePayload(
        _archive(path), variables=variables, allow_unsafe_ops=allow_unsafe_ops
    )


def _loaded_policy_types() -> tuple[type, ...]:
    """Policies loaded from a directory: `SavedModelPyTFEagerPolicy`, `LiteRTPolicy`."""
    import sys

    from policylib.base import lazy_tf

    types: list[type] = []
    if lazy_tf.is_loaded():
        from policylib.policies import py_tf_eager_policy

        types.append(py_tf_eager_policy.SavedModelPyTFEagerPolicy)
    litert = sys.modules.get("policylib.export.litert_policy")
    if litert is not None:
        types.append(litert.LiteRTPolicy)
    return tuple(types)


def _archive(path: str) -> bytes:
    """The directory at `path` as tar bytes, under the name `policy`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname="policy")
    return buffer.getvalue()
