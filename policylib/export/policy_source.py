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
from typing import TYPE_CHECKING, TypeAlias

from policylib.export import litert_files
from policylib.policies import py_policy, saved_graph_ops
from policylib.policies.saved_policy_dir import check_policy_dir

if TYPE_CHECKING:
    from policylib.policies import tf_policy

__all__ = ["LivePolicy", "PolicyArg", "PolicyKind", "PolicySource"]

LivePolicy: TypeAlias = "py_policy.PyPolicy | tf_policy.TFPolicy"
# What `evaluate`, `record_episode` and `PolicySource.of` take.
PolicyArg: TypeAlias = "LivePolicy | str | os.PathLike[str] | PolicySource"


class PolicyKind(enum.Enum):
    """The kinds of policy argument policylib accepts."""

    SAVED_MODEL = "saved_model"
    LITERT_EXPORT = "litert_export"
    PY_POLICY = "py_policy"
    TF_POLICY = "tf_policy"


def _is_tf_policy(value: object) -> bool:
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
    policy: LivePolicy | None = dataclasses.field(
        default=None, compare=False, repr=False
    )
    allow_unsafe_ops: bool = False
    # The loaded py policy, once `load` ran: a source is loaded once.
    _loaded: list[py_policy.PyPolicy] = dataclasses.field(
        default_factory=list, init=False, compare=False, repr=False
    )

    @classmethod
    def of(cls, policy: PolicyArg, allow_unsafe_ops: bool = False) -> PolicySource:
        """Decides what `policy` is and checks it (files only, no TensorFlow).

        Raises:
          NotAPolicyError: a path that holds no saved policy.
          UnsafeSavedModelError: a SavedModel with unsafe ops not allowed.
          TypeError: `policy` is neither a policy nor a path.
        """
        if isinstance(policy, PolicySource):
            return policy
        if isinstance(policy, (str, os.PathLike)):
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
        if isinstance(self.policy, py_policy.PyPolicy):
            return self.policy
        if self.policy is not None:  # a TF policy
            from policylib.policies import py_tf_eager_policy

            return py_tf_eager_policy.PyTFEagerPolicy(self.policy)
        assert self.path is not None
        if self.kind is PolicyKind.LITERT_EXPORT:
            from policylib.export import litert_policy

            return litert_policy.LiteRTPolicy(self.path)
        from policylib.policies import policy_loader

        # `of` ran the unsafe-op check with the caller's setting; not again.
        return policy_loader.load(self.path, allow_unsafe_ops=True)
