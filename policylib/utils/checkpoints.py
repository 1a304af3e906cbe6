"""Checkpoints of training state, and spec nests written to and read from files."""

from __future__ import annotations

import os
from typing import Any

import tensorflow as tf
from tensorflow.core.protobuf import struct_pb2

from policylib.base import file_modes
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = [
    "Checkpointer",
    "load_spec",
    "save_spec",
]


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

    def initialize_or_restore(self, session: tf.compat.v1.Session | None = None) -> Any:
        """Restores the latest checkpoint (or initializes, in graph mode); returns the status."""
        if not tf.executing_eagerly():
            self._load_status.initialize_or_restore(session)
        return self._load_status

    def save(
        self, global_step: types.Int, options: tf.train.CheckpointOptions | None = None
    ) -> str:
        """Writes a checkpoint numbered by `global_step` (an int or variable); returns its path."""
        if tf.executing_eagerly() and hasattr(global_step, "numpy"):
            global_step = int(global_step.numpy())
        # TensorFlow would make the directory 0755 whatever the umask says.
        file_modes.makedirs(self._manager.directory)
        return self._manager.save(checkpoint_number=global_step, options=options)


def save_spec(spec: types.NestedTensorSpec, file_path: str) -> None:
    """Writes a spec nest as a binary `StructuredValue` proto."""
    proto = tensor_spec.to_proto(spec)
    directory = os.path.dirname(file_path)
    if directory:
        file_modes.makedirs(directory)
    with tf.io.gfile.GFile(file_path, "wb") as f:
        f.write(proto.SerializeToString())


def load_spec(file_path: str) -> Any:
    """Reads a spec nest written by `save_spec`."""
    proto = struct_pb2.StructuredValue()
    with tf.io.gfile.GFile(file_path, "rb") as f:
        proto.ParseFromString(f.read())
    return tensor_spec.from_proto(proto)
