"""Python-side metrics: returns, episode lengths, step and episode counts.

They accept batched or unbatched NumPy trajectories, keep per-environment
running sums, and are checkpointable (`tf.train.Checkpoint(metric=m)`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable

import gin
import numpy as np
import numpy.typing as npt

from policylib.base import arg_checks, nest_utils
from policylib.metrics import py_metric
from policylib.trajectories import trajectory as trajectory_lib
from policylib.utils import numpy_storage

__all__ = [
    "AverageEpisodeLengthMetric",
    "AverageReturnMetric",
    "CounterMetric",
    "EnvironmentSteps",
    "NumberOfEpisodes",
    "NumpyDeque",
    "StreamingMetric",
]


class NumpyDeque(numpy_storage.NumpyState):
    """A ring buffer of the last `maxlen` values (unbounded when `maxlen` is inf).

    Args:
      maxlen: capacity, or `np.inf` for a buffer that grows.
      dtype: dtype of the values.
    """

    def __init__(self, maxlen: int | float, dtype: npt.DTypeLike):
        self._start_index = np.int64(0)
        self._len = np.int64(0)
        self._maxlen = np.array(maxlen)
        capacity = 10 if np.isinf(self._maxlen) else int(self._maxlen)
        self._buffer = np.zeros((capacity,), dtype=dtype)

    def clear(self) -> None:
        self._start_index = np.int64(0)
        self._len = np.int64(0)

    def add(self, value: npt.ArrayLike) -> None:
        index = int((self._start_index + self._len) % self._maxlen)
        if index >= self._buffer.shape[0]:  # unbounded: grow
            grown = np.zeros((2 * self._buffer.shape[0],), self._buffer.dtype)
            grown[: self._buffer.shape[0]] = self._buffer
            self._buffer = grown
        self._buffer[index] = value
        if self._len < self._maxlen:
            self._len = np.int64(self._len + 1)
        else:
            self._start_index = np.int64((self._start_index + 1) % self._maxlen)

    def extend(self, values: Iterable[npt.ArrayLike]) -> None:
        for value in values:
            self.add(value)

    @property
    def last(self) -> np.generic:
        """The newest value.

        Raises:
          RuntimeError: the deque is empty.
        """
        if self._len <= 0:
            raise RuntimeError("Attempting to access empty NumpyDeque.")
        return self._buffer[int((self._start_index + self._len - 1) % self._maxlen)]

    def __len__(self) -> int:
        return int(self._len)

    def mean(self, dtype: npt.DTypeLike | None = None) -> np.floating:
        """The mean of the stored values."""
        return np.mean(self._buffer[: int(self._len)], dtype=dtype)


class StreamingMetric(py_metric.PyStepMetric):
    """A metric over the last `buffer_size` finished episodes (their mean).

    The batch size is taken from the first trajectory unless given.
    """

    def __init__(
        self,
        name: str = "StreamingMetric",
        buffer_size: int = 10,
        batch_size: int | None = None,
    ):
        super().__init__(name)
        arg_checks.check_int(buffer_size, "buffer_size", owner=name)
        self._buffer = NumpyDeque(maxlen=buffer_size, dtype=np.float64)
        self._batch_size = batch_size
        self.reset()

    def reset(self) -> None:
        self._buffer.clear()
        if self._batch_size:
            self._reset(self._batch_size)

    @abc.abstractmethod
    def _reset(self, batch_size: int) -> None:
        """Clears per-environment running values for `batch_size` environments."""

    @abc.abstractmethod
    def _batched_call(self, trajectory: trajectory_lib.Trajectory) -> None:
        """Updates with a batched trajectory."""

    def add_to_buffer(self, values: Iterable[npt.ArrayLike]) -> None:
        self._buffer.extend(values)

    @property
    def data(self) -> NumpyDeque:
        return self._buffer

    def result(self) -> np.floating | np.ndarray:
        """The mean of the buffer, or a float32 0-d array of 0 when empty."""
        if len(self._buffer):
            return self._buffer.mean(dtype=np.float32)
        return np.array(0.0, dtype=np.float32)

    def call(self, trajectory: trajectory_lib.Trajectory) -> None:
        ndim = np.ndim(trajectory.step_type)
        if not self._batch_size:
            if ndim not in (0, 1):
                raise ValueError(
                    f"{self.name} takes trajectories with no or one batch dim; the "
                    f"step type has shape {np.shape(trajectory.step_type)}."
                )
            self._batch_size = 1 if ndim == 0 else np.shape(trajectory.step_type)[0]
            self.reset()
        if ndim == 0:
            trajectory = nest_utils.batch_nested_array(trajectory)
        self._batched_call(trajectory)


@gin.configurable
class AverageReturnMetric(StreamingMetric):
    """The mean undiscounted return of the last `buffer_size` episodes."""

    def __init__(
        self,
        name: str = "AverageReturn",
        buffer_size: int = 10,
        batch_size: int | None = None,
    ):
        self._np_state = numpy_storage.NumpyState()
        self._np_state.episode_return = np.float64(0)
        super().__init__(name, buffer_size=buffer_size, batch_size=batch_size)

    def _reset(self, batch_size: int) -> None:
        self._np_state.episode_return = np.zeros((batch_size,), np.float64)

    def _batched_call(self, trajectory: trajectory_lib.Trajectory) -> None:
        returns = self._np_state.episode_return
        returns[trajectory.is_first()] = 0
        returns += trajectory.reward
        self.add_to_buffer(returns[trajectory.is_last()])


@gin.configurable
class AverageEpisodeLengthMetric(StreamingMetric):
    """The mean length (non-boundary steps) of the last `buffer_size` episodes."""

    def __init__(
        self,
        name: str = "AverageEpisodeLength",
        buffer_size: int = 10,
        batch_size: int | None = None,
    ):
        self._np_state = numpy_storage.NumpyState()
        self._np_state.episode_steps = np.float64(0)
        super().__init__(name, buffer_size=buffer_size, batch_size=batch_size)

    def _reset(self, batch_size: int) -> None:
        self._np_state.episode_steps = np.zeros((batch_size,), np.float64)

    def _batched_call(self, trajectory: trajectory_lib.Trajectory) -> None:
        steps = self._np_state.episode_steps
        steps[~trajectory.is_boundary()] += 1
        last = trajectory.is_last()
        self.add_to_buffer(steps[last])
        steps[last] = 0


class _Count(py_metric.PyStepMetric):
    """Sums `_count(trajectory)` over all calls into `_np_state.<_field>`."""

    _field = "count"

    def __init__(self, name: str):
        super().__init__(name)
        self._np_state = numpy_storage.NumpyState()
        self.reset()

    @abc.abstractmethod
    def _count(self, trajectory: trajectory_lib.Trajectory) -> np.ndarray:
        """Per-environment counts of one (batched) trajectory."""

    def call(self, trajectory: trajectory_lib.Trajectory) -> None:
        if np.ndim(trajectory.step_type) == 0:
            trajectory = nest_utils.batch_nested_array(trajectory)
        total = getattr(self._np_state, self._field) + np.sum(self._count(trajectory))
        setattr(self._np_state, self._field, np.int64(total))

    def result(self) -> np.int64:
        return getattr(self._np_state, self._field)


@gin.configurable
class EnvironmentSteps(_Count):
    """The number of environment steps (boundaries excluded)."""

    _field = "environment_steps"

    def __init__(self, name: str = "EnvironmentSteps"):
        super().__init__(name)

    def reset(self, environment_steps: int = 0) -> None:
        self._np_state.environment_steps = np.int64(environment_steps)

    def _count(self, trajectory: trajectory_lib.Trajectory) -> np.ndarray:
        return ~trajectory.is_boundary()


@gin.configurable
class NumberOfEpisodes(_Count):
    """The number of finished episodes (LAST steps)."""

    _field = "number_episodes"

    def __init__(self, name: str = "NumberOfEpisodes"):
        super().__init__(name)

    def reset(self) -> None:
        self._np_state.number_episodes = np.int64(0)

    def _count(self, trajectory: trajectory_lib.Trajectory) -> np.ndarray:
        return trajectory.is_last()


@gin.configurable
class CounterMetric(py_metric.PyMetric):
    """Counts its calls."""

    def __init__(self, name: str = "Counter"):
        super().__init__(name)
        self._np_state = numpy_storage.NumpyState()
        self.reset()

    def reset(self) -> None:
        self._np_state.count = np.int64(0)

    def call(self) -> None:
        self._np_state.count = np.int64(self._np_state.count + 1)

    def result(self) -> np.int64:
        return self._np_state.count
