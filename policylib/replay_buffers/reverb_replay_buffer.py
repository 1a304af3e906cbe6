"""Not offered: TF-Agents' `reverb_replay_buffer` needs Reverb (see `_reverb`)."""

from policylib.replay_buffers._reverb import unavailable

raise unavailable(__name__)
