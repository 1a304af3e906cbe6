"""Replay buffers: store experience, sample it for training (loaded on first access).

Reverb (`reverb_replay_buffer`, `reverb_utils`) is not offered: it has no
build for current TensorFlow and Python. Importing those modules raises an
ImportError that names `TFUniformReplayBuffer` as the replacement.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        episodic_replay_buffer episodic_table py_hashed_replay_buffer
        py_uniform_replay_buffer replay_buffer table tf_uniform_replay_buffer
    """,
    attributes="""
        episodic_replay_buffer: EpisodicReplayBuffer
        py_hashed_replay_buffer: PyHashedReplayBuffer
        py_uniform_replay_buffer: PyUniformReplayBuffer
        replay_buffer: ReplayBuffer
        tf_uniform_replay_buffer: TFUniformReplayBuffer
        table: Table
    """,
)
