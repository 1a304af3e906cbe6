"""A writer's columns: references to appended values, sliced into item columns.

`TrajectoryWriter.history[path]` is a column's `_ColumnHistory`; indexing it gives
a `TrajectoryColumn`, whose `CellRef`s `create_item` stacks into an item column.
"""

from __future__ import annotations

import collections
from collections.abc import Iterator, Sequence
from typing import Union

import numpy as np

__all__ = ["CellRef", "TrajectoryColumn"]


class CellRef:
    """A reference to one appended value; it expires when its column forgets it."""

    __slots__ = ("_alive", "data", "episode_id")

    def __init__(self, data: np.ndarray, episode_id: int) -> None:
        self.data = data
        self.episode_id = episode_id
        self._alive = True

    def expired(self) -> bool:
        return not self._alive

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def numpy(self) -> np.ndarray:
        return self.data


_Index = Union[int, slice, Sequence[int]]


class TrajectoryColumn:
    """Some references of one column: a column of an item to be created.

    Args:
      data_references: the referenced values, in order.
      squeeze: the item's column is the single value itself, without a time
        dimension (what an integer index into a history gives).
      path: the column's path in the appended data (for messages).
    """

    def __init__(
        self,
        data_references: Sequence[CellRef | None],
        *,
        squeeze: bool = False,
        path: str = "",
    ) -> None:
        if squeeze and len(data_references) != 1:
            raise ValueError(
                f"Columns must contain exactly one data reference when squeeze "
                f"is set, got {len(data_references)}."
            )
        self._refs = list(data_references)
        self._squeeze = squeeze
        self._path = path

    @property
    def is_squeezed(self) -> bool:
        return self._squeeze

    @property
    def path(self) -> str:
        return self._path

    def __len__(self) -> int:
        return len(self._refs)

    def __iter__(self) -> Iterator[CellRef | None]:
        return iter(self._refs)

    def __getitem__(self, index: _Index) -> TrajectoryColumn:
        return _select(self._refs, index, self._path)

    def _checked_refs(self) -> list[CellRef]:
        refs = self._refs
        if not refs:
            raise ValueError(f"Column {self._path or '<unnamed>'} references no data.")
        for ref in refs:
            if ref is None:
                raise ValueError(
                    f"Column {self._path} references a step that has no value for it."
                )
            if not ref._alive:
                raise ValueError(
                    f"Column {self._path} references data that has expired: it is "
                    "older than the writer's num_keep_alive_refs steps, or "
                    "end_episode cleared it."
                )
        if len(refs) > 1:
            first = refs[0].data  # type: ignore[union-attr]
            dtype, shape = first.dtype, first.shape
            for ref in refs:
                data = ref.data  # type: ignore[union-attr]
                if data.dtype != dtype or data.shape != shape:
                    raise ValueError(
                        f"Column {self._path} mixes values of dtype/shape "
                        f"{dtype}{list(shape)} and {data.dtype}{list(data.shape)}."
                    )
        return refs  # type: ignore[return-value]

    @property
    def shape(self) -> tuple[int | None, ...]:
        refs = self._checked_refs()
        inner = refs[0].shape
        return inner if self._squeeze else (len(refs), *inner)

    @property
    def dtype(self) -> np.dtype:
        return self._checked_refs()[0].dtype

    def numpy(self) -> np.ndarray:
        """The column's values: the one value if squeezed, else stacked on axis 0."""
        refs = self._checked_refs()
        if self._squeeze:
            return refs[0].data
        first = refs[0].data
        if first.dtype.kind == "O":  # np.array could look inside the objects.
            return np.stack([ref.data for ref in refs])
        # Values of one dtype and shape: np.array stacks them, faster than np.stack.
        return np.array([ref.data for ref in refs], dtype=first.dtype)


def _select(
    refs: Sequence[CellRef | None], index: _Index, path: str
) -> TrajectoryColumn:
    if isinstance(index, slice):
        positions = range(*index.indices(len(refs)))
        if 4 * len(positions) < len(refs):  # A few cells: index them (cheap at ends).
            return TrajectoryColumn([refs[i] for i in positions], path=path)
        return TrajectoryColumn(list(refs)[index], path=path)
    if isinstance(index, (int, np.integer)):
        return TrajectoryColumn([refs[index]], squeeze=True, path=path)
    return TrajectoryColumn([refs[i] for i in index], path=path)


class _ColumnHistory:
    """The last references of one column, indexable like a list."""

    def __init__(self, path: str, keep: int) -> None:
        self._path = path
        self._refs: collections.deque[CellRef | None] = collections.deque()
        self._keep = keep
        self.dtype: np.dtype | None = None
        self.shape: tuple[int, ...] | None = None

    @property
    def path(self) -> str:
        return self._path

    def append(self, ref: CellRef | None) -> None:
        while len(self._refs) >= self._keep:
            old = self._refs.popleft()
            if old is not None:
                old._alive = False
        self._refs.append(ref)

    def set_last(self, ref: CellRef) -> None:
        self._refs[-1] = ref

    @property
    def can_set_last(self) -> bool:
        return bool(self._refs) and self._refs[-1] is None

    def set_keep(self, keep: int) -> None:
        self._keep = keep
        while len(self._refs) > keep:
            old = self._refs.popleft()
            if old is not None:
                old._alive = False

    def reset(self) -> None:
        for ref in self._refs:
            if ref is not None:
                ref._alive = False
        self._refs.clear()

    def __len__(self) -> int:
        return len(self._refs)

    def __iter__(self) -> Iterator[CellRef | None]:
        return iter(self._refs)

    def __getitem__(self, index: _Index) -> TrajectoryColumn:
        return _select(self._refs, index, self._path)

    def __repr__(self) -> str:
        return f"ColumnHistory(path={self._path!r}, refs={len(self._refs)})"
