"""Replay buffers: store experience, sample it for training (loaded on first access).

Reverb (`reverb_replay_buffer`, `reverb_utils`) is not offered: it has no
build for current TensorFlow and Python. Importing those modules raises an
ImportError that names `TFUniformReplayBuffer` as the replacement.
"""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "episodic_replay_buffer",
    "episodic_table",
    "py_hashed_replay_buffer",
    "py_uniform_replay_buffer",
    "replay_buffer",
    "table",
    "tf_uniform_replay_buffer",
)

_ATTRIBUTES = {
    "EpisodicReplayBuffer": "episodic_replay_buffer",
    "PyHashedReplayBuffer": "py_hashed_replay_buffer",
    "PyUniformReplayBuffer": "py_uniform_replay_buffer",
    "ReplayBuffer": "replay_buffer",
    "TFUniformReplayBuffer": "tf_uniform_replay_buffer",
    "Table": "table",
}

__all__ = [*_MODULES, *_ATTRIBUTES]

__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES, _ATTRIBUTES)
