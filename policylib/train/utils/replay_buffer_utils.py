"""Set up a Reverb replay buffer (a local server or a remote one) and its writer.

Built on `policylib.reverb` (Reverb's Python API) and policylib's
`ReverbReplayBuffer` / `ReverbAddTrajectoryObserver`, with TF-Agents' names.
"""

from __future__ import annotations

from typing import Any

from policylib import reverb
from policylib.specs import tensor_spec
from policylib.typing import types

__all__ = [
    "get_reverb_buffer",
    "get_reverb_buffer_and_observer",
    "get_reverb_buffer_and_replay_actor",
]


def _create_uniform_table(
    table_name: str,
    table_signature: types.NestedTensorSpec,
    table_capacity: int = 1000,
    min_size_limiter_size: int = 1,
) -> reverb.Table:
    """A FIFO-evicting, uniformly sampled table that samples once it holds enough items."""
    return reverb.Table(
        table_name,
        max_size=table_capacity,
        sampler=reverb.selectors.Uniform(),
        remover=reverb.selectors.Fifo(),
        rate_limiter=reverb.rate_limiters.MinSize(min_size_limiter_size),
        signature=table_signature,
    )


def get_reverb_buffer(
    data_spec: types.NestedTensorSpec,
    sequence_length: int | None = None,
    table_name: str = "uniform_table",
    table: reverb.Table | None = None,
    reverb_server_address: str | None = None,
    port: int | None = None,
    replay_capacity: int = 1000,
    min_size_limiter_size: int = 1,
) -> Any:
    """A `ReverbReplayBuffer` over a new local server, or over a remote one.

    Args:
      data_spec: spec of one step of the data stored.
      sequence_length: steps per item (None: the writer decides).
      table_name: the table the buffer reads (and, by default, creates).
      table: the local server's table; None creates a uniform one named
        `table_name` with `replay_capacity` and `min_size_limiter_size`.
      reverb_server_address: `host:port` of a running server; None starts a
        local one (reach it as `buffer.local_server`).
      port: port of the local server (None: any free one).
      replay_capacity: capacity of the default table.
      min_size_limiter_size: items the default table must hold before sampling.
    """
    from policylib.replay_buffers import reverb_replay_buffer

    if reverb_server_address is not None:
        return reverb_replay_buffer.ReverbReplayBuffer(
            data_spec,
            sequence_length=sequence_length,
            table_name=table_name,
            server_address=reverb_server_address,
        )
    if table is None:
        signature = tensor_spec.add_outer_dim(data_spec, sequence_length)
        table = _create_uniform_table(
            table_name,
            signature,
            table_capacity=replay_capacity,
            min_size_limiter_size=min_size_limiter_size,
        )
    server = reverb.Server([table], port=port)
    return reverb_replay_buffer.ReverbReplayBuffer(
        data_spec,
        sequence_length=sequence_length,
        table_name=table_name,
        local_server=server,
    )


def get_reverb_buffer_and_observer(
    data_spec: types.NestedTensorSpec,
    sequence_length: int | None = None,
    table_name: str = "uniform_table",
    table: reverb.Table | None = None,
    reverb_server_address: str | None = None,
    port: int | None = None,
    replay_capacity: int = 1000,
    min_size_limiter_size: int = 1,
    stride_length: int = 1,
) -> tuple[Any, Any]:
    """A replay buffer (see `get_reverb_buffer`) and an observer that writes to it.

    The observer is a `ReverbAddTrajectoryObserver` writing windows of
    `sequence_length` steps, `stride_length` apart, into `table_name`; pass it
    to an `Actor` as one of its `observers`.

    Returns:
      `(replay_buffer, observer)`.
    """
    from policylib.replay_buffers import reverb_utils

    if sequence_length is None:
        raise ValueError(
            "get_reverb_buffer_and_observer: sequence_length is required (the "
            "observer writes items of sequence_length steps); got None."
        )
    replay = get_reverb_buffer(
        data_spec,
        sequence_length=sequence_length,
        table_name=table_name,
        table=table,
        reverb_server_address=reverb_server_address,
        port=port,
        replay_capacity=replay_capacity,
        min_size_limiter_size=min_size_limiter_size,
    )
    observer = reverb_utils.ReverbAddTrajectoryObserver(
        replay.py_client,
        table_name,
        sequence_length=sequence_length,
        stride_length=stride_length,
    )
    return replay, observer


# The name this project's plans use for the same pair.
get_reverb_buffer_and_replay_actor = get_reverb_buffer_and_observer
