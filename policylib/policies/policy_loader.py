"""Loading saved policies: `load` and `materialize_saved_model`.

A training job typically writes one full SavedModel (`PolicySaver.save`) and
then variable-only checkpoints (`PolicySaver.save_checkpoint`) as it goes:

    policy = policy_loader.load("run/policy", "run/checkpoints/ckpt_0042000")
    policy_loader.materialize_saved_model(
        "run/policy", "run/checkpoints/ckpt_0042000", "deploy/policy_0042000"
    )
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence

import tensorflow as tf

from policylib.base import atomic_dir, file_modes
from policylib.policies import policy_saver, py_tf_eager_policy

__all__ = ["load", "materialize_saved_model"]


def load(
    saved_model_path: str,
    checkpoint_path: str | None = None,
    allow_unsafe_ops: bool | Sequence[str] = False,
) -> py_tf_eager_policy.SavedModelPyTFEagerPolicy:
    """Loads a saved policy as a NumPy policy, with specs from the save.

    Args:
      saved_model_path: a directory written by `PolicySaver.save`.
      checkpoint_path: optional directory written by `save_checkpoint` (or
        `save`) whose variables replace the saved model's.
      allow_unsafe_ops: load a graph with file-system, Python-callback or
        remote ops anyway (True, or the op names); refused by default.

    Returns:
      A `SavedModelPyTFEagerPolicy`.

    Raises:
      NotAPolicyError: a path holds no loadable policy, or the checkpoint
        does not fit it.
      UnsafeSavedModelError: the graph holds unsafe ops not allowed.
    """
    policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
        saved_model_path, load_specs_from_pbtxt=True, allow_unsafe_ops=allow_unsafe_ops
    )
    if checkpoint_path:
        policy.update_from_checkpoint(checkpoint_path)
    return policy


def materialize_saved_model(
    saved_model_path: str, checkpoint_path: str, output_path: str
) -> None:
    """Writes a full SavedModel: the graph of one save with a checkpoint's variables.

    `output_path` must not exist. It gets `saved_model.pb`, `policy_specs.pbtxt`
    and `assets/` from `saved_model_path` and `variables/` from
    `checkpoint_path`; it is assembled beside `output_path` and renamed into
    place, so it appears complete or not at all.

    Raises:
      ValueError: `output_path` exists.
      FileNotFoundError: a needed file is missing from either input.
    """
    if tf.io.gfile.exists(output_path):
        raise ValueError(f"Output path already exists: {output_path}")
    saved_model_path = atomic_dir.existing_path(saved_model_path)
    checkpoint_path = atomic_dir.existing_path(checkpoint_path)
    variables = os.path.join(checkpoint_path, tf.saved_model.VARIABLES_DIRECTORY)
    for path in (
        os.path.join(saved_model_path, tf.saved_model.SAVED_MODEL_FILENAME_PB),
        os.path.join(saved_model_path, policy_saver.POLICY_SPECS_PBTXT),
        variables,
    ):
        if not tf.io.gfile.exists(path):
            raise FileNotFoundError(
                f"Cannot materialize a saved model: {path} is missing."
            )
    if "://" in output_path:
        _assemble(saved_model_path, variables, output_path)
        return
    output_path = os.path.abspath(output_path)
    parent = os.path.dirname(output_path)
    os.makedirs(parent, exist_ok=True)
    staging = output_path + ".materializing"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        _assemble(saved_model_path, variables, staging)
        file_modes.apply_default_modes(staging)  # Not TF's 0755 directories.
        os.rename(staging, output_path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _assemble(saved_model_path: str, variables: str, output_path: str) -> None:
    tf.io.gfile.makedirs(output_path)
    for name in (
        tf.saved_model.SAVED_MODEL_FILENAME_PB,
        policy_saver.POLICY_SPECS_PBTXT,
    ):
        tf.io.gfile.copy(
            os.path.join(saved_model_path, name), os.path.join(output_path, name)
        )
    _copy_tree(variables, os.path.join(output_path, tf.saved_model.VARIABLES_DIRECTORY))
    assets = os.path.join(saved_model_path, tf.saved_model.ASSETS_DIRECTORY)
    out_assets = os.path.join(output_path, tf.saved_model.ASSETS_DIRECTORY)
    if tf.io.gfile.isdir(assets):
        _copy_tree(assets, out_assets)
    else:
        tf.io.gfile.makedirs(out_assets)


def _copy_tree(src: str, dst: str) -> None:
    tf.io.gfile.makedirs(dst)
    for name in tf.io.gfile.listdir(src):
        name = name.rstrip("/")
        source = os.path.join(src, name)
        if tf.io.gfile.isdir(source):
            _copy_tree(source, os.path.join(dst, name))
        else:
            tf.io.gfile.copy(source, os.path.join(dst, name), overwrite=True)
