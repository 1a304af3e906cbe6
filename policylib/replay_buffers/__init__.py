"""Replay buffers: store experience, sample it for training (loaded on first access).

Reverb is offered through `policylib.reverb`, a Reverb-compatible service:
`reverb_replay_buffer.ReverbReplayBuffer` samples its tables as a replay
buffer and `reverb_utils` has the observers that write to them.
`rlds_to_reverb` (imported on its own) needs the `rlds` package, which
cannot load next to TensorFlow 2.21 (see that module).
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        episodic_replay_buffer episodic_table py_hashed_replay_buffer
        py_uniform_replay_buffer replay_buffer reverb_replay_buffer reverb_utils
        table tf_uniform_replay_buffer
    """,
    attributes="""
        episodic_replay_buffer: EpisodicReplayBuffer
        py_hashed_replay_buffer: PyHashedReplayBuffer
        py_uniform_replay_buffer: PyUniformReplayBuffer
        replay_buffer: ReplayBuffer
        reverb_replay_buffer: ReverbReplayBuffer
        reverb_utils: ReverbAddEpisodeObserver ReverbAddTrajectoryObserver
        tf_uniform_replay_buffer: TFUniformReplayBuffer
        table: Table
    """,
)
