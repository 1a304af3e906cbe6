"""Checkpointers: save every table of a server and load them on restart.

`DefaultCheckpointer(path)` writes each checkpoint into a new directory
`<path>/<UTC time>-<n>` through `policylib.base.atomic_dir`: the directory
appears complete or not at all, so a failed or killed checkpoint leaves the
previous ones intact. It holds `tables.json` (each table's settings, rate
limiter counts and item keys, priorities, times sampled, episode ids) and
`columns.npz` (the items' arrays; one stacked array per column where every
item's column has one dtype and shape). Older checkpoints beyond
`keep_latest` are removed once a new one is in place.
"""

from __future__ import annotations

import abc
import json
import os
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Sequence

import numpy as np

from policylib.base import atomic_dir
from policylib.reverb.table import Item, TableState

__all__ = [
    "CheckpointerBase",
    "DefaultCheckpointer",
    "default_checkpointer",
]

_FORMAT = "policylib.reverb.checkpoint/1"
_NAME = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-\d+$")


class CheckpointerBase(abc.ABC):
    """Saves table states and finds the latest saved ones."""

    @abc.abstractmethod
    def save(self, states: Sequence[TableState]) -> str:
        """Writes a checkpoint of `states`; returns its path."""

    @abc.abstractmethod
    def load_latest(self) -> tuple[str, list[TableState]] | None:
        """(path, states) of the latest checkpoint, or None if there is none."""


class DefaultCheckpointer(CheckpointerBase):
    """Checkpoints in directories under `path` (see the module docstring).

    Args:
      path: the root directory of the checkpoints.
      group: accepted for Reverb compatibility; unused.
      fallback_checkpoint_path: a checkpoint directory loaded when `path` holds
        none (e.g. to start a server from another run's data).
      keep_latest: how many checkpoints to keep (a policylib addition).
    """

    def __init__(
        self,
        path: str,
        group: str = "",
        fallback_checkpoint_path: str | None = None,
        keep_latest: int = 1,
    ) -> None:
        del group
        if keep_latest < 1:
            raise ValueError(f"keep_latest ({keep_latest}) must be >= 1.")
        self._path = os.path.abspath(os.fspath(path))
        self._fallback = fallback_checkpoint_path
        self._keep_latest = keep_latest
        self._lock = threading.Lock()
        self._count = 0

    @property
    def path(self) -> str:
        return self._path

    def __repr__(self) -> str:
        return f"DefaultCheckpointer(path={self._path!r})"

    def checkpoints(self) -> list[str]:
        """Complete checkpoints under `path`, oldest first."""
        if not os.path.isdir(self._path):
            return []
        names = sorted(
            name
            for name in os.listdir(self._path)
            if _NAME.match(name)
            and os.path.isfile(os.path.join(self._path, name, "tables.json"))
        )
        return [os.path.join(self._path, name) for name in names]

    def save(self, states: Sequence[TableState]) -> str:
        with self._lock:
            self._count += 1
            now = time.time()
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
            name = f"{stamp}.{int(now % 1 * 1e6):06d}Z-{self._count}"
            target = os.path.join(self._path, name)
            with atomic_dir.atomic_directory(target) as staging:
                _write(staging, states)
            for old in self.checkpoints()[: -self._keep_latest]:
                shutil.rmtree(old, ignore_errors=True)
            return target

    def load_latest(self) -> tuple[str, list[TableState]] | None:
        found = self.checkpoints()
        if found:
            return found[-1], _read(found[-1])
        if self._fallback:
            return self._fallback, _read(self._fallback)
        return None


def default_checkpointer() -> CheckpointerBase:
    """A `DefaultCheckpointer` in a new temporary directory."""
    return DefaultCheckpointer(tempfile.mkdtemp(prefix="reverb-checkpoint-"))


def _write(directory: str, states: Sequence[TableState]) -> None:
    arrays: dict[str, np.ndarray] = {}
    tables = []
    for t, state in enumerate(states):
        items = state.items
        num_columns = {len(item.columns) for item in items}
        stacked = []
        if len(num_columns) == 1:
            for c in range(num_columns.pop()):
                kinds = {
                    (item.columns[c].dtype, item.columns[c].shape) for item in items
                }
                if len(kinds) == 1:
                    arrays[f"t{t}_c{c}"] = np.stack([item.columns[c] for item in items])
                    stacked.append(c)
        for i, item in enumerate(items):
            for c, column in enumerate(item.columns):
                if c not in stacked:
                    arrays[f"t{t}_i{i}_c{c}"] = column
        for name, array in arrays.items():
            if array.dtype == object:
                raise ValueError(
                    f"Table {state.name!r} holds a column of dtype object ({name}); "
                    "checkpoints store numeric, bool and fixed-width string arrays only."
                )
        tables.append(
            {
                "name": state.name,
                "sampler": state.sampler,
                "remover": state.remover,
                "max_size": state.max_size,
                "max_times_sampled": state.max_times_sampled,
                "rate_limiter": state.rate_limiter,
                "inserts": state.inserts,
                "samples": state.samples,
                "deletes": state.deletes,
                "num_deleted_episodes": state.num_deleted_episodes,
                "num_unique_samples": state.num_unique_samples,
                "stacked_columns": stacked,
                "items": [
                    [
                        item.key,
                        item.priority,
                        item.times_sampled,
                        list(item.episode_ids),
                        len(item.columns),
                    ]
                    for item in items
                ],
            }
        )
    with open(os.path.join(directory, "columns.npz"), "wb") as f:
        savez: Callable[..., None] = np.savez  # Its stubs do not take **arrays.
        savez(f, **arrays)
    # tables.json last: its presence marks the directory complete.
    with open(os.path.join(directory, "tables.json"), "w") as f:
        json.dump({"format": _FORMAT, "tables": tables}, f)


def _read(directory: str) -> list[TableState]:
    with open(os.path.join(directory, "tables.json")) as f:
        manifest = json.load(f)
    if manifest.get("format") != _FORMAT:
        raise ValueError(
            f"{directory} is not a policylib.reverb checkpoint (format "
            f"{manifest.get('format')!r}, expected {_FORMAT!r})."
        )
    states = []
    with np.load(os.path.join(directory, "columns.npz"), allow_pickle=False) as arrays:
        for t, table in enumerate(manifest["tables"]):
            stacked = {c: arrays[f"t{t}_c{c}"] for c in table["stacked_columns"]}
            items = []
            for i, (key, priority, times_sampled, episodes, num_columns) in enumerate(
                table["items"]
            ):
                columns = [
                    np.asarray(stacked[c][i])
                    if c in stacked
                    else arrays[f"t{t}_i{i}_c{c}"]
                    for c in range(num_columns)
                ]
                items.append(
                    Item(
                        int(key),
                        float(priority),
                        columns,
                        tuple(episodes),
                        int(times_sampled),
                    )
                )
            states.append(
                TableState(
                    name=table["name"],
                    sampler=table["sampler"],
                    remover=table["remover"],
                    max_size=int(table["max_size"]),
                    max_times_sampled=int(table["max_times_sampled"]),
                    rate_limiter=table["rate_limiter"],
                    inserts=int(table["inserts"]),
                    samples=int(table["samples"]),
                    deletes=int(table["deletes"]),
                    num_deleted_episodes=int(table["num_deleted_episodes"]),
                    num_unique_samples=int(table["num_unique_samples"]),
                    items=items,
                )
            )
    return states
