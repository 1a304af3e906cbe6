"""Checks that a directory holds a saved policy, reading files only (no TensorFlow).

`saved_policy_files` re-exports these for the loaders; `export.policy_source`
uses them here, so a wrong path fails before TensorFlow is imported.
"""

from __future__ import annotations

import os

from policylib.base import arg_checks, atomic_dir
from policylib.errors import NotAPolicyError

__all__ = ["POLICY_SPECS_PBTXT", "SAVED_MODEL_PB", "check_policy_dir"]

# The name of the specs file `PolicySaver` writes (TF-Agents' name).
POLICY_SPECS_PBTXT = "policy_specs.pbtxt"
# `tf.saved_model.SAVED_MODEL_FILENAME_PB`, named here to stay TensorFlow-free.
SAVED_MODEL_PB = "saved_model.pb"


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
    if not os.path.isfile(os.path.join(path, SAVED_MODEL_PB)):
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
