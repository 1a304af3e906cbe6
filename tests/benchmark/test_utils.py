"""benchmark.utils: step timing, event logs read back, variable checks."""

from __future__ import annotations

import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf

from policylib.benchmark import distribution_strategy_utils, utils


class _Clock:
    """A stand-in for the `time` module whose clock the test sets."""

    def __init__(self) -> None:
        self.now = 0.0

    def time(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> _Clock:
    fake = _Clock()
    monkeypatch.setattr(utils, "time", fake)
    return fake


# --- TimeHistory and run_test -------------------------------------------------


def test_time_history_rates_with_and_without_warmup(clock, capsys):
    history = utils.TimeHistory(batch_size=32, log_steps=2, num_steps_per_batch=2)
    # Step ends at t = 1, 10 (slow warm-up window), 11, 12, 13, 14.
    for end in (1.0, 10.0, 11.0, 12.0, 13.0, 14.0):
        history.on_batch_begin()
        clock.now = end
        history.on_batch_end()

    assert [(t.batch_index, t.timestamp) for t in history.timestamp_log] == [
        (1, 0.0),
        (2, 10.0),
        (4, 12.0),
        (6, 14.0),
    ]
    # Warm-up left out: 4 s over 4 steps.
    assert history.get_average_step_time() == pytest.approx(1.0)
    assert history.get_average_examples_per_second() == pytest.approx(32 * 2 / 1.0)
    # All three windows: 14 s over 6 steps.
    assert history.get_average_step_time(warmup=False) == pytest.approx(14 / 6)
    assert history.get_average_examples_per_second(warmup=False) == pytest.approx(
        64 / (14 / 6)
    )
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0] == (
        "BenchmarkMetric: '{global step':2, 'steps_per_second':0.2, "
        "step_time:5, 'examples_per_second':6.400}"
    )


def test_time_history_reports_minus_one_until_a_window_to_average(clock):
    history = utils.TimeHistory(batch_size=8, log_steps=1)
    assert history.get_average_step_time(warmup=False) == -1
    history.on_batch_begin()
    clock.now = 2.0
    history.on_batch_end()
    # One window: enough without warm-up, not with it.
    assert history.get_average_step_time(warmup=False) == pytest.approx(2.0)
    assert history.get_average_step_time() == -1
    assert history.get_average_examples_per_second() == -1


def test_time_history_without_batch_size_counts_steps(clock):
    history = utils.TimeHistory(batch_size=None, log_steps=1)
    for end in (1.0, 1.5, 2.0):
        history.on_batch_begin()
        clock.now = end
        history.on_batch_end()
    assert history.get_average_examples_per_second() == pytest.approx(2.0)


def test_time_history_rejects_bad_counts_and_order():
    with pytest.raises(ValueError, match="TimeHistory: log_steps must be positive"):
        utils.TimeHistory(batch_size=4, log_steps=0)
    with pytest.raises(TypeError, match="batch_size must be an int"):
        utils.TimeHistory(batch_size=4.5, log_steps=1)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="before on_batch_begin"):
        utils.TimeHistory(batch_size=4, log_steps=1).on_batch_end()


def test_run_test_feeds_iterator_items_and_times_every_step(clock):
    seen: list[int] = []

    def step(item: int) -> None:
        clock.now += 0.5
        seen.append(item)

    history = utils.run_test(
        step, 4, None, batch_size=10, log_steps=2, iterator=iter(range(100, 110))
    )
    assert seen == [100, 101, 102, 103]
    assert history.global_steps == 4
    assert [t.batch_index for t in history.timestamp_log] == [1, 2, 4]
    assert history.get_average_step_time() == pytest.approx(0.5)
    assert history.get_average_examples_per_second() == pytest.approx(20.0)


def test_run_test_runs_each_step_under_the_strategy():
    strategy = distribution_strategy_utils.get_distribution_strategy("default")
    counter = tf.Variable(0)
    replicas: list[bool] = []

    def step() -> None:
        replicas.append(tf.distribute.in_cross_replica_context())
        counter.assign_add(1)

    history = utils.run_test(step, 3, strategy, batch_size=1, log_steps=10)
    assert int(counter.numpy()) == 3
    assert replicas == [False, False, False]  # Called inside the replica.
    assert history.global_steps == 3


def test_run_test_rejects_bad_arguments():
    with pytest.raises(TypeError, match="target_call must be callable"):
        utils.run_test(None, 1, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="num_steps must be at least 0"):
        utils.run_test(lambda: None, -1, None)


def test_batch_timestamp_repr():
    assert repr(utils.BatchTimestamp(3, 1.5)) == (
        "'BatchTimestamp<batch_index: 3, timestamp: 1.5>'"
    )


def test_set_session_config_turns_on_xla_without_pin_to_host():
    jit = tf.config.optimizer.get_jit()
    options = tf.config.optimizer.get_experimental_options()
    try:
        utils.set_session_config(enable_xla=False)
        assert tf.config.optimizer.get_jit() == jit
        utils.set_session_config(enable_xla=True)
        assert tf.config.optimizer.get_jit()
        assert (
            tf.config.optimizer.get_experimental_options()["pin_to_host_optimization"]
            is False
        )
    finally:
        tf.config.optimizer.set_jit(jit)
        tf.config.optimizer.set_experimental_options(
            {"pin_to_host_optimization": options.get("pin_to_host_optimization", True)}
        )


# --- Event logs -------------------------------------------------------------


def _write_summaries(logdir, steps) -> None:
    writer = tf.summary.create_file_writer(str(logdir))
    with writer.as_default():
        for step in steps:
            tf.summary.scalar("AverageReturn", step * 0.5, step=step)
            tf.summary.scalar("Loss", 100.0 - step, step=step)
    writer.close()


def _write_events(path, rows) -> None:
    """An event file whose wall times the test chooses: rows of (step, wall, tag, value)."""
    with tf.io.TFRecordWriter(str(path)) as writer:
        writer.write(
            tf.compat.v1.Event(
                wall_time=1.0, file_version="brain.Event:2"
            ).SerializeToString()
        )
        for step, wall_time, tag, value in rows:
            summary = tf.compat.v1.Summary(
                value=[
                    tf.compat.v1.Summary.Value(
                        tag=tag,
                        tensor=tf.make_tensor_proto(np.float32(value)),
                    )
                ]
            )
            event = tf.compat.v1.Event(wall_time=wall_time, step=step, summary=summary)
            writer.write(event.SerializeToString())


def test_tf_summary_log_is_found_and_read_back_by_step(tmp_path):
    _write_summaries(tmp_path, range(0, 60, 10))
    path = utils.find_event_log(tmp_path)
    assert path.startswith(str(tmp_path))
    assert "events.out.tfevents." in path

    values, minutes = utils.extract_event_log_values(path, "AverageReturn")
    assert values == {0: 0.0, 10: 5.0, 20: 10.0, 30: 15.0, 40: 20.0, 50: 25.0}
    assert all(type(v) is float for v in values.values())
    walls = [
        e.wall_time
        for e in utils.summary_iterator(path)
        if any(v.tag == "AverageReturn" for v in e.summary.value)
    ]
    assert minutes == pytest.approx((max(walls) - walls[0]) / 60)

    losses, _ = utils.extract_event_log_values(path, "Loss", end_step=30)
    assert losses == {0: 100.0, 10: 90.0, 20: 80.0, 30: 70.0}


def test_wall_time_start_step_end_step(tmp_path):
    path = tmp_path / "events.out.tfevents.1"
    rows = [
        (step, 1000.0 + 6 * step, "AverageReturn", step) for step in range(0, 50, 10)
    ]
    rows.insert(3, (25, 2000.0, "Other", 7.0))  # Other tags count for nothing.
    _write_events(path, rows)

    values, minutes = utils.extract_event_log_values(path, "AverageReturn")
    assert sorted(values) == [0, 10, 20, 30, 40]
    assert minutes == pytest.approx(240 / 60)

    values, minutes = utils.extract_event_log_values(
        path, "AverageReturn", end_step=30, start_step=10
    )
    assert values == {10: 10.0, 20: 20.0, 30: 30.0}
    assert minutes == pytest.approx(120 / 60)


def test_wall_time_is_the_latest_not_the_last(tmp_path):
    path = tmp_path / "events.out.tfevents.1"
    _write_events(
        path,
        [
            (0, 100.0, "AverageReturn", 1.0),
            (1, 400.0, "AverageReturn", 2.0),
            (2, 250.0, "AverageReturn", 3.0),  # Written late, stamped early.
        ],
    )
    values, minutes = utils.extract_event_log_values(path, "AverageReturn")
    assert values == {0: 1.0, 1: 2.0, 2: 3.0}
    assert minutes == pytest.approx(5.0)


def test_extract_errors_name_the_tag_and_steps(tmp_path):
    path = tmp_path / "events.out.tfevents.1"
    _write_events(
        path, [(0, 10.0, "AverageReturn", 1.0), (5, 20.0, "AverageReturn", 2.0)]
    )
    with pytest.raises(ValueError, match=r"no 'Return' value at start_step 0.*"):
        utils.extract_event_log_values(path, "Return")
    with pytest.raises(ValueError, match="no 'AverageReturn' value at start_step 3"):
        utils.extract_event_log_values(path, "AverageReturn", start_step=3)
    with pytest.raises(ValueError, match="ends at step 5, before end_step 9"):
        utils.extract_event_log_values(path, "AverageReturn", end_step=9)
    missing = tmp_path / "nothing_here"
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        utils.extract_event_log_values(missing, "AverageReturn")
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        next(utils.summary_iterator(missing))


def test_find_event_log_errors_name_the_path(tmp_path):
    missing = tmp_path / "no_such_dir"
    with pytest.raises(FileNotFoundError, match="no_such_dir does not exist"):
        utils.find_event_log(missing)
    with pytest.raises(FileNotFoundError, match="no file matches .*events.out"):
        utils.find_event_log(tmp_path)
    (tmp_path / "events.out.tfevents.1").write_bytes(b"")
    (tmp_path / "events.out.tfevents.2").write_bytes(b"")
    with pytest.raises(AssertionError, match="found 2: .*tfevents.1, .*tfevents.2"):
        utils.find_event_log(tmp_path)
    assert utils.find_event_log(tmp_path, "*.2").endswith("events.out.tfevents.2")


# --- Variable checks --------------------------------------------------------


def _agent(*variables: tf.Variable) -> types.SimpleNamespace:
    policy = types.SimpleNamespace(variables=lambda: list(variables))
    return types.SimpleNamespace(policy=policy)


def test_variable_values_by_name_and_by_fresh_process_name():
    agent = _agent(
        tf.Variable([1.0, 2.0], name="QNetwork/EncodingNetwork/dense_4/bias"),
        tf.Variable([3.0], name="QNetwork/dense_5/bias"),
        tf.Variable([4.0], name="QNetwork/dense_5/kernel"),
    )
    np.testing.assert_array_equal(
        utils.get_variable_value(agent, "dense_5/bias"), [3.0]
    )
    # Keras numbered these layers 4 and 5 in this process; a fresh one, as the
    # names in TF-Agents' benchmarks were written, numbers them from zero.
    np.testing.assert_array_equal(
        utils.get_variable_value(agent, "QNetwork/EncodingNetwork/dense/bias:0"),
        [1.0, 2.0],
    )
    np.testing.assert_array_equal(
        utils.get_variable_value(agent, "QNetwork/dense_1/kernel"), [4.0]
    )
    with pytest.raises(AssertionError, match="No policy variable name contains 'conv'"):
        utils.get_variable_value(agent, "conv")


def test_an_exact_name_wins_over_a_renumbered_one():
    agent = _agent(
        tf.Variable([1.0], name="Net/dense_2/bias"),
        tf.Variable([2.0], name="Net/dense/bias_extra"),
    )
    # "dense/bias" occurs in the second name as written: no renumbering.
    assert utils.get_variable_value(agent, "dense/bias").tolist() == [2.0]


def test_check_values_changed():
    weights = tf.Variable([1.0, 2.0], name="Actor/dense/kernel")
    agent = _agent(weights)
    names = ["Actor/dense/kernel"]
    initial = utils.get_initial_values(agent, names)
    with pytest.raises(AssertionError, match=r"\[dqn\] Variable 'Actor/dense/kernel'"):
        utils.check_values_changed(agent, initial, names, name="dqn")
    weights.assign_add([0.5, 0.0])
    utils.check_values_changed(agent, initial, names)
    with pytest.raises(ValueError, match="1 initial_values for 2 variable names"):
        utils.check_values_changed(agent, initial, names * 2)


def test_importing_policylib_benchmark_loads_no_tensorflow():
    code = (
        "import sys, policylib\n"
        "package = policylib.benchmark\n"
        "assert 'tensorflow' not in sys.modules, 'loaded TF'\n"
        "assert 'TimeHistory' in dir(package)\n"
        "assert package.TimeHistory.__module__ == 'policylib.benchmark.utils'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_tf_agents_variable_name_finds_the_second_dqn_agents_bias():
    from policylib.agents.dqn import dqn_agent
    from policylib.networks import q_network
    from policylib.specs import tensor_spec
    from policylib.trajectories import time_step as ts

    observation = tensor_spec.BoundedTensorSpec([4], tf.float32, -4.0, 4.0)
    action = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1)

    def build() -> dqn_agent.DqnAgent:
        net = q_network.QNetwork(observation, action, fc_layer_params=(3,))
        agent = dqn_agent.DqnAgent(
            ts.time_step_spec(observation),
            action,
            q_network=net,
            optimizer=tf.keras.optimizers.Adam(),
        )
        agent.initialize()
        return agent

    build()  # Takes this process's first layer numbers.
    agent = build()
    name = "QNetwork/EncodingNetwork/dense/bias:0"  # As in TF-Agents' benchmarks.
    bias = utils.get_variable_value(agent, name)
    assert bias.shape == (3,)  # The output layer's bias has 2 entries.
    (encoder_bias,) = [
        v
        for v in agent.policy.variables()
        if "EncodingNetwork" in v.name and "bias" in v.name
    ]
    np.testing.assert_array_equal(bias, encoder_bias.numpy())
