"""What a "policy" argument is, decided and checked once, without TensorFlow.

`evaluate`, the command line and video recording all take a policy as a
py policy, a TF policy, or the path of a SavedModel or LiteRT export.
`PolicySource.of` decides which it is and checks it once: the path exists
and holds the files of its kind, and a SavedModel's graph has no unsafe ops
(unless allowed). All of that reads files only, so a bad path fails in a
fraction of a second, before TensorFlow is imported; `load()` then gives
the py policy to run.

    source = PolicySource.of("runs/policy")   # NotAPolicyError at once
    policy = source.load()                    # TensorFlow loads here
"""

from __future__ import annotations

import dataclasses
import enum
import os
import sys
from typing import Any

from policylib.base import arg_checks, atomic_dir
from policylib.errors import NotAPolicyError
from policylib.policies import py_policy, saved_graph_ops

__all__ = ["POLICY_SPECS_PBTXT", "PolicyKind", "PolicySource", "check_policy_dir"]

# The name of the specs file `PolicySaver` writes (TF-Agents' name).
POLICY_SPECS_PBTXT = "policy_specs.pbtxt"
# `tf.saved_model.SAVED_MODEL_FILENAME_PB`, named here to stay TensorFlow-free.
_SAVED_MODEL_PB = "saved_model.pb"


class PolicyKind(enum.Enum):
    """The kinds of policy argument policylib accepts."""

    SAVED_MODEL = "saved_model"
    LITERT_EXPORT = "litert_export"
    PY_POLICY = "py_policy"
    TF_POLICY = "tf_policy"


def check_policy_dir(path: str, need_specs: bool = True) -> str:
    """`path` (or the save a swap left aside) if it looks like a saved policy.

    Args:
      path: a directory written by `PolicySaver.save`.
      need_specs: also require `policy_specs.pbtxt` (the specs of the save).

    Returns:
      The directory to read.

    Raises:
      NotAPolicyError: the path is missing, not a directory, holds no
        `saved_model.pb`, or (with `need_specs`) no `policy_specs.pbtxt`.
    """
    path = atomic_dir.existing_path(
        arg_checks.check_path(path, "A saved policy's path")
    )
    if "://" in path:
        return path
    if not os.path.exists(path):
        raise NotAPolicyError(f"{path}: no such file or directory.")
    if not os.path.isdir(path):
        raise NotAPolicyError(
            f"{path}: is a file; a saved policy is a directory written by PolicySaver.save."
        )
    if not os.path.isfile(os.path.join(path, _SAVED_MODEL_PB)):
        raise NotAPolicyError(
            f"{path}: not a SavedModel (no saved_model.pb); a saved policy is a "
            "directory written by PolicySaver.save."
        )
    if need_specs and not os.path.isfile(os.path.join(path, POLICY_SPECS_PBTXT)):
        raise NotAPolicyError(
            f"{path}: a SavedModel, but not a policy: it has no {POLICY_SPECS_PBTXT} "
            "(PolicySaver writes one with the policy's specs)."
        )
    return path


def _is_tf_policy(value: Any) -> bool:
    # A TFPolicy exists only once its module is imported: answered without
    # importing TensorFlow.
    module = sys.modules.get("policylib.policies.tf_policy")
    return module is not None and isinstance(value, module.TFPolicy)


@dataclasses.dataclass(frozen=True)
class PolicySource:
    """A checked policy argument: a saved policy's path or a live policy.

    Attributes:
      kind: what the argument is.
      path: the directory to read, for the two saved kinds (a swap's
        leftover already resolved); None for live policies.
      policy: the live policy, for the two live kinds; None for paths.
      allow_unsafe_ops: what the SavedModel's unsafe-op check allowed.
    """

    kind: PolicyKind
    path: str | None = None
    policy: Any = dataclasses.field(default=None, compare=False, repr=False)
    allow_unsafe_ops: bool = False
    # The loaded py policy, once `load` ran: a source is loaded once.
    _loaded: list[py_policy.PyPolicy] = dataclasses.field(
        default_factory=list, init=False, compare=False, repr=False
    )

    @classmethod
    def of(cls, policy: Any, allow_unsafe_ops: bool = False) -> PolicySource:
        """Decides what `policy` is and checks it (files only, no TensorFlow).

        Raises:
          NotAPolicyError: a path that holds no saved policy.
          UnsafeSavedModelError: a SavedModel with unsafe ops not allowed.
          TypeError: `policy` is neither a policy nor a path.
        """
        if isinstance(policy, PolicySource):
            return policy
        if isinstance(policy, (str, os.PathLike)):
            from policylib.export import litert_files

            path = os.fspath(policy)
            if litert_files.is_export(path):
                return cls(PolicyKind.LITERT_EXPORT, path=path)
            path = check_policy_dir(path)
            saved_graph_ops.check(path, allow_unsafe_ops)
            return cls(PolicyKind.SAVED_MODEL, path, allow_unsafe_ops=allow_unsafe_ops)
        if isinstance(policy, py_policy.PyPolicy):
            return cls(PolicyKind.PY_POLICY, policy=policy)
        if _is_tf_policy(policy):
            return cls(PolicyKind.TF_POLICY, policy=policy)
        raise TypeError(
            "policy must be a PyPolicy, a TFPolicy or the path of a saved policy "
            f"(a PolicySaver SavedModel or a LiteRT export); got {type(policy).__name__}."
        )

    @property
    def is_saved(self) -> bool:
        """Whether this is a path (which another process can load itself)."""
        return self.path is not None

    def describe(self) -> str:
        """The path, or the live policy's class name (for messages)."""
        return self.path if self.path is not None else type(self.policy).__name__

    def load(self) -> py_policy.PyPolicy:
        """The py policy to run: loads a saved policy, wraps a TF policy.

        Loads once: later calls return the same py policy (evaluation and
        the video of its first episode share one load).
        """
        if not self._loaded:
            self._loaded.append(self._load())
        return self._loaded[0]

    def _load(self) -> py_policy.PyPolicy:
        if self.kind is PolicyKind.PY_POLICY:
            return self.policy
        if self.kind is PolicyKind.TF_POLICY:
            from policylib.policies import py_tf_eager_policy

            return py_tf_eager_policy.PyTFEagerPolicy(self.policy)
        assert self.path is not None
        if self.kind is PolicyKind.LITERT_EXPORT:
            from policylib.policies import litert_policy

            return litert_policy.LiteRTPolicy(self.path)
        from policylib.policies import policy_loader

        # `of` ran the unsafe-op check with the caller's setting; not again.
        return policy_loader.load(self.path, allow_unsafe_ops=True)
