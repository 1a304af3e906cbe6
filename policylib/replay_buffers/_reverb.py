"""The error the Reverb modules raise: Reverb has no build for current TensorFlow."""

from __future__ import annotations


def unavailable(module: str) -> ImportError:
    """An ImportError saying `module` needs Reverb and naming the replacement."""
    return ImportError(
        f"{module} is not available: Reverb (dm-reverb) has no build for current "
        "TensorFlow and Python. Use "
        "policylib.replay_buffers.tf_uniform_replay_buffer.TFUniformReplayBuffer instead."
    )
