"""`PerfZeroBenchmark`: a base class for benchmarks that PerfZero runs.

It gives each benchmark an output directory and puts absl flags back to
their defaults before each one, so a benchmark that sets flags does not leak
them into the next one run in the same process.
"""

from __future__ import annotations

import numbers
import os
import tempfile
from typing import Any, ClassVar, TypeAlias

import tensorflow as tf
from absl import flags, logging
from absl.testing import flagsaver

__all__ = ["Number", "PerfZeroBenchmark"]

Number: TypeAlias = "int | float"

# Set by the benchmark harness (MLCompass); wins over the constructor argument.
OUTPUT_DIR_ENV = "BENCHMARK_OUTPUT_DIR"


class PerfZeroBenchmark(tf.test.Benchmark):
    """Base class for PerfZero benchmarks: output directory, flag reset, metrics.

    Args:
      output_dir: where the benchmarks write (saved models, event logs). The
        `BENCHMARK_OUTPUT_DIR` environment variable takes precedence; with
        neither, the system's temp directory.
    """

    # Flag values saved at the first `setUp`, restored at every later one.
    local_flags: ClassVar[dict[str, Any] | None] = None

    def __init__(self, output_dir: str | os.PathLike | None = None):
        super().__init__()
        from_env = os.getenv(OUTPUT_DIR_ENV)
        if from_env:
            self.output_dir = from_env
        elif output_dir:
            self.output_dir = os.fspath(output_dir)
        else:
            self.output_dir = tempfile.gettempdir()

    def _get_test_output_dir(self, folder_name: str) -> str:
        """The directory one benchmark writes to: `folder_name` in `output_dir`."""
        return os.path.join(self.output_dir, folder_name)

    def setUp(self) -> None:
        """Logs at INFO and puts absl flags back to their first-seen values.

        The first call parses the flags (with no command-line arguments, so
        they hold their defaults) and saves them; later calls restore them.
        PerfZero itself runs each benchmark in a new process, but other
        runners do not.
        """
        logging.set_verbosity(logging.INFO)
        cls = PerfZeroBenchmark
        if cls.local_flags is None:
            if not flags.FLAGS.is_parsed():
                flags.FLAGS(["perfzero_benchmark"])  # argv[0] only.
            cls.local_flags = flagsaver.save_flag_values()
        else:
            flagsaver.restore_flag_values(cls.local_flags)

    def build_metric(
        self,
        name: str,
        value: Number,
        min_value: Number | None = None,
        max_value: Number | None = None,
    ) -> dict[str, Any]:
        """A metric for `report_benchmark(metrics=[...])`.

        Args:
          name: the metric's name.
          value: its measured value.
          min_value: the lowest acceptable value; left out when None.
          max_value: the highest acceptable value; left out when None.

        Returns:
          `{"name": name, "value": value}`, plus "min_value" and "max_value"
          when given.

        Raises:
          TypeError: `name` is not a str, or a value is not a real number.
          ValueError: `min_value` is above `max_value`.
        """
        if not isinstance(name, str):
            raise TypeError(f"build_metric: name must be a str, got {name!r:.100}.")
        given = {"value": value, "min_value": min_value, "max_value": max_value}
        for key, number in given.items():
            if number is None and key != "value":
                continue
            if isinstance(number, bool) or not isinstance(number, numbers.Real):
                raise TypeError(
                    f"build_metric({name!r}): {key} must be a real number, "
                    f"got {number!r:.100}."
                )
        if min_value is not None and max_value is not None and min_value > max_value:
            raise ValueError(
                f"build_metric({name!r}): min_value {min_value} is above "
                f"max_value {max_value}."
            )
        metric: dict[str, Any] = {"name": name, "value": value}
        if min_value is not None:
            metric["min_value"] = min_value
        if max_value is not None:
            metric["max_value"] = max_value
        return metric
