"""TF-Agents' bandit replay buffer: the uniform TF buffer under the bandit name."""

from __future__ import annotations

from policylib.replay_buffers import tf_uniform_replay_buffer

__all__ = ["BanditReplayBuffer"]

# Bandit trajectories are one step long; the uniform buffer needs nothing more.
BanditReplayBuffer = tf_uniform_replay_buffer.TFUniformReplayBuffer
