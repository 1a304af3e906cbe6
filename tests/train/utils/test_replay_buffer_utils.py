"""replay_buffer_utils: a Reverb replay buffer on a local server, and its observer."""

from __future__ import annotations

import pytest
import tensorflow as tf

from policylib import reverb
from policylib.specs import tensor_spec
from policylib.train.utils import replay_buffer_utils

reverb_replay_buffer = pytest.importorskip(
    "policylib.replay_buffers.reverb_replay_buffer",
    reason="ReverbReplayBuffer is not in this tree yet",
    exc_type=ImportError,
)
reverb_utils = pytest.importorskip(
    "policylib.replay_buffers.reverb_utils", exc_type=ImportError
)

_SPEC = [
    tensor_spec.TensorSpec([3], tf.float32, "action"),
    [tensor_spec.TensorSpec([5], tf.float32, "lidar")],
]


def test_local_server_buffer_and_observer():
    buffer, observer = replay_buffer_utils.get_reverb_buffer_and_observer(
        _SPEC, sequence_length=1, port=None
    )
    try:
        assert isinstance(buffer, reverb_replay_buffer.ReverbReplayBuffer)
        assert isinstance(observer, reverb_utils.ReverbAddTrajectoryObserver)
        info = buffer.py_client.server_info()["uniform_table"]
        assert info.max_size == 1000
    finally:
        buffer.local_server.stop()


def test_given_table_is_used():
    table = reverb.Table(
        "prioritized",
        max_size=33,
        sampler=reverb.selectors.Prioritized(1.0),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(1),
    )
    buffer = replay_buffer_utils.get_reverb_buffer(
        _SPEC, sequence_length=1, table_name="prioritized", table=table
    )
    try:
        assert buffer.py_client.server_info()["prioritized"].max_size == 33
    finally:
        buffer.local_server.stop()


def test_observer_needs_a_sequence_length():
    with pytest.raises(ValueError, match="sequence_length is required"):
        replay_buffer_utils.get_reverb_buffer_and_observer(_SPEC, sequence_length=None)
