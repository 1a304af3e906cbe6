"""Benchmark utilities: time training steps and read results from event logs.

`run_test` times a step function (under a `tf.distribute` strategy or not) and
returns a `TimeHistory`. `find_event_log` and `extract_event_log_values` read
the scalar a training run wrote with `tf.summary`, step by step, and how long
the run took, so a benchmark can report it. `get_initial_values` and
`check_values_changed` check that training moved an agent's variables.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import tensorflow as tf
from absl import logging

from policylib.base import arg_checks

if TYPE_CHECKING:
    from tensorflow.core.util import event_pb2

__all__ = [
    "BatchTimestamp",
    "TimeHistory",
    "check_values_changed",
    "extract_event_log_values",
    "find_event_log",
    "get_initial_values",
    "get_variable_value",
    "run_test",
    "set_session_config",
    "summary_iterator",
]


def run_test(
    target_call: Callable[..., Any],
    num_steps: int,
    strategy: tf.distribute.Strategy | None,
    batch_size: int | None = None,
    log_steps: int = 100,
    num_steps_per_batch: int = 1,
    iterator: Iterator[Any] | None = None,
) -> TimeHistory:
    """Calls `target_call` `num_steps` times and returns the timings.

    Args:
      target_call: one step; called with `next(iterator)` when `iterator` is
        given, else with no argument.
      num_steps: how many steps to run.
      strategy: run each step with `strategy.run`; None calls it directly.
      batch_size: examples in one step, for the examples/s figures (None: 1).
      log_steps: the steps between two timestamps (and printed metric lines).
      num_steps_per_batch: steps each call stands for (e.g. unrolled steps),
        a factor of the examples/s figures.
      iterator: where each step's input comes from.

    Returns:
      The `TimeHistory` that recorded the run.

    Raises:
      TypeError: `target_call` is not callable.
      ValueError: `num_steps` is negative (see `TimeHistory` for the others).
    """
    if not callable(target_call):
        raise TypeError(
            f"run_test: target_call must be callable, got {target_call!r:.100}."
        )
    steps = arg_checks.check_int(num_steps, "num_steps", minimum=0, owner="run_test")
    history = TimeHistory(batch_size, log_steps, num_steps_per_batch)
    for _ in range(steps or 0):
        history.on_batch_begin()  # Fetching the input counts as part of the step.
        args = () if iterator is None else (next(iterator),)
        if strategy is None:
            target_call(*args)
        else:
            strategy.run(target_call, args=args)
        history.on_batch_end()
    return history


class BatchTimestamp:
    """When (`time.time()`) the step numbered `batch_index` began or ended."""

    def __init__(self, batch_index: int, timestamp: float):
        self.batch_index = batch_index
        self.timestamp = timestamp

    def __repr__(self) -> str:
        return (
            f"'BatchTimestamp<batch_index: {self.batch_index}, "
            f"timestamp: {self.timestamp}>'"
        )


class TimeHistory:
    """Step timings: a timestamp at the first step and every `log_steps` steps.

    Call `on_batch_begin` before and `on_batch_end` after each step. Every
    `log_steps` steps a "BenchmarkMetric" line with the rates of the last
    window is printed, which log scrapers of PerfZero runs read.

    Args:
      batch_size: examples in one step (None: 1, so examples/s = steps/s).
      log_steps: the steps in one timing window.
      num_steps_per_batch: steps each call stands for, a factor of examples/s.

    Raises:
      TypeError, ValueError: a count that is not a positive int.
    """

    def __init__(
        self, batch_size: int | None, log_steps: int, num_steps_per_batch: int = 1
    ):
        owner = "TimeHistory"
        self.batch_size = arg_checks.check_int(
            batch_size, "batch_size", allow_none=True, owner=owner
        )
        self.log_steps = arg_checks.check_int(log_steps, "log_steps", owner=owner)
        self.num_steps_per_batch = arg_checks.check_int(
            num_steps_per_batch, "num_steps_per_batch", owner=owner
        )
        self.global_steps = 0
        self.start_time: float | None = None
        # The start of step 1, then the end of every `log_steps`-th step.
        self.timestamp_log: list[BatchTimestamp] = []

    def on_batch_begin(self) -> None:
        """Counts a step; the first one starts the clock."""
        self.global_steps += 1
        if self.global_steps == 1:
            self.start_time = time.time()
            self.timestamp_log.append(BatchTimestamp(1, self.start_time))

    def on_batch_end(self) -> None:
        """Ends a step: at the end of a window, logs a timestamp and prints rates.

        Raises:
          RuntimeError: called before any `on_batch_begin`.
        """
        if self.start_time is None:
            raise RuntimeError(
                "TimeHistory.on_batch_end was called before on_batch_begin."
            )
        assert self.log_steps is not None
        if self.global_steps % self.log_steps:
            return
        now = time.time()
        window = now - self.start_time
        steps_per_second = self.log_steps / window if window > 0 else math.inf
        examples_per_second = steps_per_second * (self.batch_size or 1)
        self.timestamp_log.append(BatchTimestamp(self.global_steps, now))
        print(
            f"BenchmarkMetric: '{{global step':{self.global_steps}, "
            f"'steps_per_second':{steps_per_second:.5g}, "
            f"step_time:{window / self.log_steps:.5g}, "
            f"'examples_per_second':{examples_per_second:.3f}}}"
        )
        self.start_time = now

    def get_average_step_time(self, warmup: bool = True) -> float:
        """Mean seconds per step over the completed windows.

        Args:
          warmup: leave out the first window, which holds tracing and
            start-up costs.

        Returns:
          Seconds per step, or -1 when there is no window to average yet (none
          completed, or only the warm-up window).
        """
        first = 1 if warmup else 0
        windows = len(self.timestamp_log) - 1 - first
        if windows < 1:
            return -1
        assert self.log_steps is not None
        elapsed = self.timestamp_log[-1].timestamp - self.timestamp_log[first].timestamp
        return elapsed / (self.log_steps * windows)

    def get_average_examples_per_second(self, warmup: bool = True) -> float:
        """Mean examples per second: `batch_size * num_steps_per_batch` per step.

        Args:
          warmup: leave out the first window, as `get_average_step_time` does.

        Returns:
          Examples per second; -1 when there is no window to average yet, and
          inf when the windows took no measurable time.
        """
        step_time = self.get_average_step_time(warmup=warmup)
        if step_time < 0:
            return -1
        assert self.num_steps_per_batch is not None
        examples_per_step = (self.batch_size or 1) * self.num_steps_per_batch
        return examples_per_step / step_time if step_time > 0 else math.inf


def set_session_config(enable_xla: bool = False) -> None:
    """Turns on XLA JIT compilation for the process when `enable_xla` is set.

    The grappler pin-to-host optimization is switched off with it: together
    they run out of memory and slow steps down.
    """
    if not enable_xla:
        return
    tf.config.optimizer.set_jit(True)
    tf.config.optimizer.set_experimental_options({"pin_to_host_optimization": False})


_NUMBERED = re.compile(r"^(?P<base>.*?)(?:_(?P<number>\d+))?$")


def _split_number(scope: str) -> tuple[str, int]:
    """Splits off a Keras layer number: "dense_4" -> ("dense", 4), "dense" -> ("dense", 0)."""
    match = _NUMBERED.match(scope)
    assert match is not None  # The pattern matches every string.
    return match["base"], int(match["number"] or 0)


def _renumbered_names(names: Sequence[str]) -> list[str]:
    """`names` with each scope's Keras number restarted from zero.

    Keras numbers layers per process (dense, dense_1, ...), so a network
    built after others gets e.g. "dense_4" where a fresh process writes
    "dense". Per base name, the numbers used in `names` are ranked: the
    lowest becomes the bare name, the next "_1", and so on.
    """
    used: dict[str, set[int]] = {}
    for name in names:
        for scope in name.split("/")[:-1]:
            base, number = _split_number(scope)
            used.setdefault(base, set()).add(number)
    rank = {
        base: {number: i for i, number in enumerate(sorted(numbers))}
        for base, numbers in used.items()
    }

    def renumber(scope: str) -> str:
        base, number = _split_number(scope)
        i = rank[base][number]
        return f"{base}_{i}" if i else base

    return [
        "/".join([*map(renumber, name.split("/")[:-1]), name.split("/")[-1]])
        for name in names
    ]


def get_variable_value(agent: Any, name: str) -> np.ndarray:
    """The value of the policy variable of `agent` whose name contains `name`.

    When no name contains `name`, the names are compared again with Keras's
    layer numbers restarted from zero within the policy (`dense_4` ->
    `dense`), the names a fresh process gives, so names written down once
    keep working in a process that built other networks first.

    Args:
      agent: an agent (anything with `.policy.variables()`).
      name: a variable name or part of one, e.g. "EncodingNetwork/dense/bias".

    Returns:
      The variable's value. When eager and several variables match, the
      first; in graph mode the match must be unique, read in the default
      session.

    Raises:
      AssertionError: no variable matches (the message lists the names there
        are), or, in graph mode, several do.
    """
    variables = list(agent.policy.variables())
    names = [v.name for v in variables]
    matches = [v for v, n in zip(variables, names, strict=True) if name in n]
    if not matches:
        renumbered = _renumbered_names(names)
        matches = [v for v, n in zip(variables, renumbered, strict=True) if name in n]
    if not matches:
        raise AssertionError(
            f"No policy variable name contains {name!r}. "
            f"The policy's variables: {names}."
        )
    if tf.executing_eagerly():
        return matches[0].numpy()
    if len(matches) > 1:
        raise AssertionError(
            f"{len(matches)} policy variables contain {name!r}, expected one: "
            f"{[(v.name, tuple(v.shape)) for v in matches]}."
        )
    return matches[0].eval()


def get_initial_values(agent: Any, check_values: Sequence[str]) -> list[np.ndarray]:
    """The current values of the named policy variables (`get_variable_value`)."""
    return [get_variable_value(agent, name) for name in check_values]


def check_values_changed(
    agent: Any,
    initial_values: Sequence[np.ndarray],
    check_value_changes: Sequence[str],
    name: str | None = None,
) -> None:
    """Checks that training changed each named policy variable.

    Args:
      agent: the agent that trained.
      initial_values: the values before training (`get_initial_values`).
      check_value_changes: the variable names, in the order of the values.
      name: a label for the message, e.g. the benchmark's name.

    Raises:
      ValueError: the two sequences differ in length.
      AssertionError: a variable still holds (nearly) its initial value.
    """
    if len(initial_values) != len(check_value_changes):
        raise ValueError(
            f"check_values_changed: {len(initial_values)} initial_values for "
            f"{len(check_value_changes)} variable names {list(check_value_changes)}."
        )
    for var_name, before in zip(check_value_changes, initial_values, strict=True):
        after = get_variable_value(agent, var_name)
        if np.allclose(before, after):
            raise AssertionError(
                f"[{name}] Variable {var_name!r} did not change: {before} -> {after}"
            )


def summary_iterator(path: str | os.PathLike) -> Iterator[event_pb2.Event]:
    """Yields the `Event` protos of a TensorBoard event file, in file order.

    Reads records directly (no `tf.data`), so it works eagerly or in a graph
    without building ops.

    Raises:
      FileNotFoundError: there is no file at `path` (on the first `next`).
    """
    file = arg_checks.check_path(path, "summary_iterator: path")
    if not tf.io.gfile.exists(file):
        raise FileNotFoundError(f"summary_iterator: no event file at {file}")
    # Deprecated in favour of `tf.data`, which needs eager mode (or a graph to
    # add ops to); its notice would only be noise for the caller.
    with _deprecation_notices_off():
        records = tf.compat.v1.io.tf_record_iterator(file)
    for record in records:
        yield tf.compat.v1.Event.FromString(record)


def _deprecation_notices_off() -> contextlib.AbstractContextManager:
    """TensorFlow's (private) switch that silences deprecation notices, if present."""
    try:
        from tensorflow.python.util import deprecation
    except ImportError:  # Moved in some TensorFlow version: show the notice.
        return contextlib.nullcontext()
    return deprecation.silence()


def find_event_log(
    eventlog_dir: str | os.PathLike,
    log_file_pattern: str = "events.out.tfevents.*",
) -> str:
    """The one event log in `eventlog_dir` whose name matches `log_file_pattern`.

    Args:
      eventlog_dir: the directory a `tf.summary` writer wrote to.
      log_file_pattern: a glob for the file name.

    Returns:
      The path of the event log.

    Raises:
      FileNotFoundError: `eventlog_dir` does not exist, or holds no matching
        file; the message names the path.
      AssertionError: more than one file matches (the message lists them).
    """
    directory = arg_checks.check_path(eventlog_dir, "find_event_log: eventlog_dir")
    pattern = os.path.join(directory, log_file_pattern)
    if not tf.io.gfile.isdir(directory):
        raise FileNotFoundError(
            f"find_event_log: event log directory {directory} does not exist."
        )
    try:
        found = sorted(tf.io.gfile.glob(pattern))
    except tf.errors.NotFoundError:  # Some file systems raise for no match.
        found = []
    if not found:
        raise FileNotFoundError(f"find_event_log: no file matches {pattern}")
    if len(found) > 1:
        raise AssertionError(
            f"find_event_log: expected one event file matching {pattern}, "
            f"found {len(found)}: {', '.join(found)}"
        )
    return found[0]


def _scalar(value: Any) -> float:
    """The (first) number a summary value holds, as a Python number."""
    if value.WhichOneof("value") == "simple_value":  # Written by TF1 summaries.
        return float(value.simple_value)
    return tf.make_ndarray(value.tensor).item(0)


def _timestamp(wall_time: float) -> str:
    return datetime.datetime.fromtimestamp(wall_time).strftime("%Y-%m-%d %H:%M:%S.%f")


def extract_event_log_values(
    event_file: str | os.PathLike,
    event_tag: str,
    end_step: int | None = None,
    start_step: int | None = 0,
) -> tuple[dict[int, float], float]:
    """The values of one summary tag by step, and the minutes they spanned.

    Args:
      event_file: an event log (`find_event_log`).
      event_tag: the summary's tag, e.g. "AverageReturn".
      end_step: the last step to read: reading stops at the first event
        past it, so every tag's values at `end_step` are read. None (or 0)
        reads the whole log.
      start_step: leave out values before this step; the clock starts at the
        value written at exactly this step (None: 0).

    Returns:
      `(values, minutes)`: step -> value (a Python number) for every
      `event_tag` value from `start_step` on, and the minutes from the value
      at `start_step` to the latest wall time of any `event_tag` value read.

    Raises:
      FileNotFoundError: there is no file at `event_file`.
      ValueError: no `event_tag` value was written at `start_step`, or the log
        ends before `end_step`.
    """
    path = arg_checks.check_path(event_file, "extract_event_log_values: event_file")
    first = 0 if start_step is None else start_step
    logging.info("Reading event log %s", path)
    values: dict[int, float] = {}
    start_time: float | None = None
    latest_time = 0.0
    step = 0
    tags: set[str] = set()
    for event in summary_iterator(path):
        step = event.step
        if end_step and step > end_step:
            break
        for value in event.summary.value:
            tags.add(value.tag)
            if value.tag != event_tag:
                continue
            if step >= first:
                values[step] = _scalar(value)
                if step == first:
                    start_time = event.wall_time
                    logging.info("start (step %d): %s", step, _timestamp(start_time))
            # Events need not be in time order: keep the latest.
            latest_time = max(latest_time, event.wall_time)
    if start_time is None:
        raise ValueError(
            f"extract_event_log_values: {path} has no {event_tag!r} value at "
            f"start_step {first} (read {len(values)} values at later steps; "
            f"tags seen: {sorted(tags)})."
        )
    if end_step and step < end_step:
        raise ValueError(
            f"extract_event_log_values: {path} ends at step {step}, before "
            f"end_step {end_step}."
        )
    minutes = (latest_time - start_time) / 60
    logging.info("end (step %d): %s", step, _timestamp(latest_time))
    logging.info("elapsed: %.2f min", minutes)
    return values, minutes
