"""`PyHashedReplayBuffer`: a `PyUniformReplayBuffer` that stores each frame once.

With stacked frames (an observation of shape `[84, 84, 4]` holding the last 4
images), consecutive trajectories share most frames. This buffer splits each
observation along its last axis, keeps each distinct frame once (reference
counted) and stores the frames' keys instead. Items must be `Trajectory`s.
"""

from __future__ import annotations

import hashlib
import io
import threading
from typing import Any, cast

import numpy as np
import tensorflow as tf
from absl import logging

from policylib.replay_buffers import py_uniform_replay_buffer
from policylib.specs import array_spec
from policylib.trajectories import trajectory

__all__ = ["FrameBuffer", "PyHashedReplayBuffer"]


def _key(frame: np.ndarray) -> int:
    """A stable 64-bit key of a frame's bytes (the same in every process)."""
    digest = hashlib.blake2b(frame.tobytes(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


class FrameBuffer(tf.train.experimental.PythonState):
    """Distinct frames with reference counts; checkpointable (without pickle).

    Not safe for concurrent `add_frame` calls.
    """

    def __init__(self) -> None:
        self._frames: dict[int, tuple[np.ndarray, int]] = {}

    def __len__(self) -> int:
        return len(self._frames)

    def add_frame(self, frame: np.ndarray) -> int:
        """Stores `frame` (or counts one more use of it); returns its key."""
        key = _key(frame)
        stored, count = self._frames.get(key, (frame, 0))
        self._frames[key] = (stored, count + 1)
        return key

    def compress(self, observation: np.ndarray, split_axis: int = -1) -> np.ndarray:
        """The keys of `observation`'s frames along `split_axis`."""
        frames = np.split(observation, observation.shape[split_axis], split_axis)
        return np.array([self.add_frame(f) for f in frames], dtype=np.int64)

    def decompress(self, keys: np.ndarray, split_axis: int = -1) -> np.ndarray:
        """The observation whose frames have `keys`."""
        return np.concatenate([self._frames[k][0] for k in keys], axis=split_axis)

    def on_delete(self, keys: np.ndarray, split_axis: int = -1) -> None:
        """Counts one use less of each frame; forgets frames no longer used."""
        for key in keys:
            frame, count = self._frames[key]
            if count > 1:
                self._frames[key] = (frame, count - 1)
            else:
                del self._frames[key]

    def clear(self) -> None:
        self._frames = {}

    def serialize(self) -> bytes:
        keys = list(self._frames)
        buffer = io.BytesIO()
        arrays: dict[str, Any] = {
            f"frame{i}": self._frames[k][0] for i, k in enumerate(keys)
        }
        arrays["keys"] = np.array(keys, dtype=np.int64)
        arrays["counts"] = np.array([self._frames[k][1] for k in keys], dtype=np.int64)
        np.savez(buffer, **arrays)
        return buffer.getvalue()

    def deserialize(self, string_value: bytes) -> None:
        with np.load(io.BytesIO(string_value), allow_pickle=False) as saved:
            self._frames = {
                int(k): (saved[f"frame{i}"], int(c))
                for i, (k, c) in enumerate(zip(saved["keys"], saved["counts"]))
            }


class PyHashedReplayBuffer(py_uniform_replay_buffer.PyUniformReplayBuffer):
    """A Python replay buffer of trajectories whose frames are stored once each.

    Args:
      data_spec: a `Trajectory` of `ArraySpec`s.
      capacity: the most trajectories it holds.
      log_interval: log the number of distinct frames every this many adds.

    Raises:
      ValueError: `data_spec` is not a `Trajectory`.
    """

    _data_spec: trajectory.Trajectory

    def __init__(
        self,
        data_spec: trajectory.Trajectory,
        capacity: int,
        log_interval: int | None = None,
    ):
        if not isinstance(data_spec, trajectory.Trajectory):
            raise ValueError(f"data_spec must be the spec of a trajectory: {data_spec}")
        super().__init__(data_spec, capacity)
        self._frame_buffer = FrameBuffer()
        self._lock_frame_buffer = threading.Lock()
        self._log_interval = log_interval

    def _encoded_data_spec(self) -> trajectory.Trajectory:
        observation_spec = cast(array_spec.ArraySpec, self._data_spec.observation)
        frames = observation_spec.shape[-1]
        return self._data_spec._replace(
            observation=array_spec.ArraySpec(shape=(frames,), dtype=np.int64)
        )

    def _encode(self, traj: Any) -> Any:
        with self._lock_frame_buffer:
            keys = self._frame_buffer.compress(traj.observation)
        count = self._np_state.item_count
        if self._log_interval and count % self._log_interval == 0:
            logging.info(
                "Effective replay buffer frame count: %d", len(self._frame_buffer)
            )
        return traj._replace(observation=keys)

    def _decode(self, encoded: Any) -> Any:
        return encoded._replace(
            observation=self._frame_buffer.decompress(encoded.observation)
        )

    def _on_delete(self, encoded: Any) -> None:
        with self._lock_frame_buffer:
            self._frame_buffer.on_delete(encoded.observation)

    def _clear(self) -> None:
        super()._clear()
        self._frame_buffer.clear()
