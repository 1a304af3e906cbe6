"""benchmark.perfzero_benchmark: metrics, output directories, flag resets."""

from __future__ import annotations

import os
import tempfile

import pytest
import tensorflow as tf
from absl import flags, logging

from policylib.benchmark import perfzero_benchmark

FLAG = "policylib_perfzero_test_flag"
if FLAG not in flags.FLAGS:
    flags.DEFINE_integer(FLAG, 7, "Set by test_perfzero_benchmark only.")


@pytest.fixture
def bench_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No output dir from the environment; TF's thread-pool switch put back after."""
    monkeypatch.delenv(perfzero_benchmark.OUTPUT_DIR_ENV, raising=False)
    monkeypatch.delenv("TF_OVERRIDE_GLOBAL_THREADPOOL", raising=False)
    return monkeypatch


def test_build_metric_keeps_only_given_bounds(bench_env):
    bench = perfzero_benchmark.PerfZeroBenchmark()
    assert bench.build_metric("exp_per_second", 25.93) == {
        "name": "exp_per_second",
        "value": 25.93,
    }
    assert bench.build_metric("loss", 1.5, min_value=0.004) == {
        "name": "loss",
        "value": 1.5,
        "min_value": 0.004,
    }
    assert bench.build_metric("loss", 1.5, max_value=9) == {
        "name": "loss",
        "value": 1.5,
        "max_value": 9,
    }
    # A bound of zero is a bound.
    assert bench.build_metric("return", 3, min_value=0, max_value=10) == {
        "name": "return",
        "value": 3,
        "min_value": 0,
        "max_value": 10,
    }


def test_build_metric_errors_name_the_metric(bench_env):
    bench = perfzero_benchmark.PerfZeroBenchmark()
    with pytest.raises(TypeError, match=r"build_metric\('r'\): value must be a real"):
        bench.build_metric("r", "fast")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="max_value must be a real number, got True"):
        bench.build_metric("r", 1.0, max_value=True)
    with pytest.raises(ValueError, match="min_value 5 is above max_value 2"):
        bench.build_metric("r", 3.0, min_value=5, max_value=2)
    with pytest.raises(TypeError, match="name must be a str"):
        bench.build_metric(3, 1.0)  # type: ignore[arg-type]


def test_built_metrics_are_what_report_benchmark_takes(bench_env, capsys):
    bench = perfzero_benchmark.PerfZeroBenchmark()
    assert isinstance(bench, tf.test.Benchmark)
    bench.report_benchmark(
        iters=1,
        wall_time=0.25,
        metrics=[bench.build_metric("steps_per_second", 4.0, min_value=1.0)],
    )


def test_output_dir_from_env_then_argument_then_temp(bench_env, tmp_path):
    default = perfzero_benchmark.PerfZeroBenchmark()
    assert default.output_dir == tempfile.gettempdir()
    given = perfzero_benchmark.PerfZeroBenchmark(output_dir=tmp_path)
    assert given.output_dir == str(tmp_path)
    assert given._get_test_output_dir("dqn_cpu") == os.path.join(tmp_path, "dqn_cpu")
    bench_env.setenv(perfzero_benchmark.OUTPUT_DIR_ENV, "/from/env")
    assert perfzero_benchmark.PerfZeroBenchmark(tmp_path).output_dir == "/from/env"


def test_setup_restores_flags_between_benchmarks(bench_env):
    bench_env.setattr(perfzero_benchmark.PerfZeroBenchmark, "local_flags", None)
    verbosity = logging.get_verbosity()
    try:
        bench = perfzero_benchmark.PerfZeroBenchmark()
        bench.setUp()
        assert flags.FLAGS.is_parsed()
        assert logging.get_verbosity() == logging.INFO
        assert perfzero_benchmark.PerfZeroBenchmark.local_flags is not None
        flags.FLAGS[FLAG].value = 99  # A benchmark sets a flag ...
        perfzero_benchmark.PerfZeroBenchmark().setUp()  # ... the next starts clean.
        assert flags.FLAGS[FLAG].value == 7
    finally:
        flags.FLAGS[FLAG].value = 7
        logging.set_verbosity(verbosity)
