"""Not offered: TF-Agents' `reverb_replay_buffer` needs Reverb, which has no build for current TF.

Use `tf_uniform_replay_buffer.TFUniformReplayBuffer` (in-graph, uniform
sampling, checkpointable) or `py_uniform_replay_buffer.PyUniformReplayBuffer`.
"""

raise ImportError(
    "policylib.replay_buffers.reverb_replay_buffer is not available: Reverb (dm-reverb) has no build "
    "for current TensorFlow and Python. Use "
    "policylib.replay_buffers.tf_uniform_replay_buffer.TFUniformReplayBuffer instead."
)
