"""`PolicyPayload`: a policy packed to travel to a worker process or a Ray actor.

A worker cannot share the learner's TensorFlow objects, so a policy travels
as what `PolicySaver` writes: the path of a SavedModel (or LiteRT export)
that the worker loads, or that directory packed into a tar archive when the
worker may be on another machine (Ray). A TF policy is exported first; a
loaded SavedModel policy travels as its directory plus its current variable
values (it may have been updated since it was loaded). A pure-Python policy
(scripted, random, your own `PyPolicy`) travels pickled with cloudpickle.
"""

from __future__ import annotations

import dataclasses
import io
import os
import tarfile
import tempfile
from typing import Any

import cloudpickle
import numpy as np

__all__ = ["PolicyPayload", "pack", "assign_variables"]


@dataclasses.dataclass(frozen=True)
class PolicyPayload:
    """What a worker needs to rebuild a policy.

    Attributes:
      kind: `"path"` (a directory on this machine), `"archive"` (a tar of
        the directory) or `"pickle"` (a cloudpickled `PyPolicy`).
      data: the path, the archive bytes or the pickle bytes.
      variables: values to assign to the loaded policy's `model_variables`,
        in order, or None to keep the saved ones.
      allow_unsafe_ops: passed to the SavedModel loader.
    """

    kind: str
    data: Any
    variables: tuple[np.ndarray, ...] | None = None
    allow_unsafe_ops: bool = False

    def load(self) -> Any:
        """The policy as a `PyPolicy`, in this process.

        An archive is unpacked into a temporary directory that lives as long
        as the process (the loaded SavedModel reads its files lazily).
        """
        from policylib.eval import evaluation

        if self.kind == "pickle":
            return cloudpickle.loads(self.data)
        if self.kind == "archive":
            staging = tempfile.mkdtemp(prefix="policylib-policy-")
            with tarfile.open(fileobj=io.BytesIO(self.data)) as tar:
                tar.extractall(staging, filter="data")
            path = os.path.join(staging, "policy")
        elif self.kind == "path":
            path = self.data
        else:
            raise ValueError(f"Unknown policy payload kind {self.kind!r}.")
        policy = evaluation.resolve_policy(path, allow_unsafe_ops=self.allow_unsafe_ops)
        if self.variables is not None:
            assign_variables(policy, self.variables)
        return policy


def assign_variables(policy: Any, values: Any, train_step: int | None = None) -> None:
    """Assigns `values` to a loaded SavedModel policy's variables, in order.

    `train_step`, if given, is assigned to the saved train step (which an
    epsilon or learning-rate schedule inside the policy may read).

    Raises:
      ValueError: the number, shapes or dtypes do not fit (naming the first
        variable that does not), before any variable changes.
    """
    variables = list(policy.variables())
    values = [np.asarray(v) for v in values]
    if len(values) != len(variables):
        raise ValueError(
            f"The policy has {len(variables)} variables but {len(values)} values "
            "were sent: the weights come from another network."
        )
    for i, (variable, value) in enumerate(zip(variables, values)):
        shape = tuple(variable.shape)
        dtype = np.dtype(variable.dtype.as_numpy_dtype)
        if tuple(value.shape) != shape or value.dtype != dtype:
            raise ValueError(
                f"Variable {i} ({variable.name}) is {dtype.name}{list(shape)} but the "
                f"value sent is {value.dtype.name}{list(value.shape)}."
            )
    for variable, value in zip(variables, values):
        variable.assign(value)
    if train_step is not None:
        policy.train_step.assign(train_step)


def variable_values(policy: Any) -> tuple[np.ndarray, ...]:
    """A TF policy's (or `PyTFEagerPolicy`'s) variables as NumPy arrays, in order."""
    import tensorflow as tf

    tf_policy = _tf_policy_of(policy) or policy
    return tuple(np.asarray(v) for v in tf.nest.flatten(tf_policy.variables()))


def is_tf_policy(policy: Any) -> bool:
    """True for a `TFPolicy` or a `PyTFEagerPolicy` (what `pack` exports)."""
    return _tf_policy_of(policy) is not None


def _tf_policy_of(policy: Any) -> Any:
    """The `TFPolicy` inside `policy` (itself, or a `PyTFEagerPolicy`'s), else None."""
    from policylib.base import lazy_tf

    if not lazy_tf.is_loaded():
        return None
    from policylib.policies import py_tf_eager_policy, tf_policy

    if isinstance(policy, tf_policy.TFPolicy):
        return policy
    if isinstance(policy, py_tf_eager_policy.PyTFEagerPolicy):
        return policy._policy  # noqa: SLF001 - the wrapped policy, ours
    return None


def pack(
    policy: Any,
    *,
    portable: bool,
    staging_dir: str,
    allow_unsafe_ops: bool = False,
    train_step: Any = None,
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
            return PolicyPayload("pickle", cloudpickle.dumps(policy))
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
        return PolicyPayload("path", path, variables, allow_unsafe_ops)
    return PolicyPayload("archive", _archive(path), variables, allow_unsafe_ops)


def _loaded_policy_types() -> tuple[type, ...]:
    """Policies loaded from a directory: `SavedModelPyTFEagerPolicy`, `LiteRTPolicy`."""
    import sys

    from policylib.base import lazy_tf

    types: list[type] = []
    if lazy_tf.is_loaded():
        from policylib.policies import py_tf_eager_policy

        types.append(py_tf_eager_policy.SavedModelPyTFEagerPolicy)
    litert = sys.modules.get("policylib.policies.litert_policy")
    if litert is not None:
        types.append(litert.LiteRTPolicy)
    return tuple(types)


def _archive(path: str) -> bytes:
    """The directory at `path` as tar bytes, under the name `policy`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname="policy")
    return buffer.getvalue()
