"""A Reverb-compatible replay service: `import reverb` -> `from policylib import reverb`.

DeepMind Reverb cannot be imported next to TensorFlow 2.21; this package
offers the part of its Python API that TF-Agents and its users call, with
Reverb's names and semantics:

* `Table` (and `Table.queue` / `Table.stack`), `selectors` (`item_selectors`),
  `rate_limiters` with Reverb's blocking rules and timeouts;
* `Server(tables, port, checkpointer)`: clients of its own process call its
  tables directly; other processes and hosts reach it over gRPC with
  `Client("host:port", connect_timeout=...)`;
* `Client` with `insert`, `sample`, `mutate_priorities`, `update_priorities`,
  `reset`, `server_info`, `checkpoint`, `trajectory_writer` and the legacy
  `writer` (`Writer`);
* `TrajectoryWriter`, `ReplaySample`, `SampleInfo`, `checkpointers` (also as
  `platform.checkpointers_lib`), `errors`;
* TensorFlow's side: the `tf.data` datasets `TrajectoryDataset`,
  `TimestepDataset` and `ReplayDataset` (module `datasets`) and `TFClient`
  (graph ops, module `tf_client`).

Importing this package does not import TensorFlow: the TensorFlow names
are loaded on first access.
"""

from __future__ import annotations

import importlib
from typing import Any

from policylib.reverb import (
    checkpointers,
    errors,
    item_selectors,
    platform,
    rate_limiters,
)
from policylib.reverb import item_selectors as selectors
from policylib.reverb.client import Client
from policylib.reverb.errors import DeadlineExceededError, ReverbError
from policylib.reverb.replay_sample import ReplaySample, SampleInfo
from policylib.reverb.reverb_types import TableInfo
from policylib.reverb.server import Server, Table
from policylib.reverb.trajectory_writer import TrajectoryColumn, TrajectoryWriter
from policylib.reverb.writer import Writer

# Names whose modules import TensorFlow: loaded on first access.
_TF_NAMES = {
    "ReplayDataset": "datasets",
    "TFClient": "tf_client",
    "TimestepDataset": "datasets",
    "TrajectoryDataset": "datasets",
    "datasets": None,
    "tf_client": None,
}


def __getattr__(name: str) -> Any:
    if name not in _TF_NAMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module_name = _TF_NAMES[name]
    module = importlib.import_module(f"{__name__}.{module_name or name}")
    value = module if module_name is None else getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_TF_NAMES))


__all__ = [
    "Client",
    "DeadlineExceededError",
    "ReplayDataset",
    "ReplaySample",
    "ReverbError",
    "SampleInfo",
    "Server",
    "Table",
    "TFClient",
    "TableInfo",
    "TimestepDataset",
    "TrajectoryColumn",
    "TrajectoryDataset",
    "TrajectoryWriter",
    "Writer",
    "checkpointers",
    "errors",
    "item_selectors",
    "platform",
    "rate_limiters",
    "selectors",
]
