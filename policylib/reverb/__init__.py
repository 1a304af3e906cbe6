"""A Reverb-compatible replay service: `import reverb` -> `from policylib import reverb`.

DeepMind Reverb cannot be imported next to TensorFlow 2.21; this package
offers the part of its Python API that TF-Agents and its users call, with
Reverb's names and semantics:

* `Table` (and `Table.queue` / `Table.stack`), `selectors` (`item_selectors`),
  `rate_limiters` with Reverb's blocking rules and timeouts;
* `Server(tables, port, checkpointer)`, `Client("host:port")` with `insert`,
  `sample`, `mutate_priorities`, `update_priorities`, `reset`, `server_info`,
  `checkpoint` and `trajectory_writer`;
* `TrajectoryWriter`, `ReplaySample`, `SampleInfo`, `checkpointers`, `errors`.

Today a server serves the clients of its own process; the gRPC transport
that serves other processes and the `tf.data` datasets come next.
Nothing here imports TensorFlow.
"""

from __future__ import annotations

from policylib.reverb import checkpointers, errors, item_selectors, rate_limiters
from policylib.reverb import item_selectors as selectors
from policylib.reverb.client import Client
from policylib.reverb.errors import DeadlineExceededError, ReverbError
from policylib.reverb.replay_sample import ReplaySample, SampleInfo
from policylib.reverb.reverb_types import TableInfo
from policylib.reverb.server import Server, Table
from policylib.reverb.trajectory_writer import TrajectoryColumn, TrajectoryWriter

__all__ = [
    "Client",
    "DeadlineExceededError",
    "ReplaySample",
    "ReverbError",
    "SampleInfo",
    "Server",
    "Table",
    "TableInfo",
    "TrajectoryColumn",
    "TrajectoryWriter",
    "checkpointers",
    "errors",
    "item_selectors",
    "rate_limiters",
    "selectors",
]
