"""Not offered: TF-Agents' `rlds_to_reverb` needs the `rlds` package, which cannot load here.

`pip install rlds` succeeds on this stack, but `import rlds` imports DeepMind
Reverb (`import reverb` in `rlds.transformations.pattern`, for its pattern
datasets), and dm-reverb has no build for TensorFlow 2.21 / Python 3.11+.
"""

raise ImportError(
    f"{__name__} is not available: it needs `rlds` (pip install rlds), and "
    "`import rlds` imports DeepMind Reverb (dm-reverb), which has no build for "
    "current TensorFlow; write RLDS steps to Reverb with "
    "policylib.replay_buffers.reverb_utils.ReverbAddTrajectoryObserver instead."
)
