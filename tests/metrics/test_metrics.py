"""Python and TF metrics agree, are checkpointable and aggregate over a batch."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.base import nest_utils
from policylib.metrics import batched_py_metric, py_metrics, tf_metrics, tf_py_metric
from policylib.trajectories import trajectory


def _episode(rewards):
    """Unbatched trajectories of one episode, then its boundary."""
    f = lambda x: np.float32(x)  # noqa: E731
    out = [trajectory.first((), (), (), f(rewards[0]), f(1))]
    out += [trajectory.mid((), (), (), f(r), f(1)) for r in rewards[1:-1]]
    out += [trajectory.last((), (), (), f(rewards[-1]), f(0))]
    out += [trajectory.boundary((), (), (), f(0), f(1))]
    return out


def test_py_metrics_over_two_episodes():
    metrics = [
        py_metrics.AverageReturnMetric(),
        py_metrics.AverageEpisodeLengthMetric(),
        py_metrics.EnvironmentSteps(),
        py_metrics.NumberOfEpisodes(),
    ]
    for traj in _episode([1, 2, 3]) + _episode([4, 4]):
        for metric in metrics:
            metric(traj)
    assert [float(m.result()) for m in metrics] == [7.0, 2.5, 5, 2]


def test_py_metric_checkpoint_round_trip(tmp_path):
    metric = py_metrics.AverageReturnMetric(buffer_size=3)
    for traj in _episode([1, 2]) + _episode([5, 5]):
        metric(traj)
    checkpoint = tf.train.Checkpoint(metric=metric)
    path = checkpoint.save(str(tmp_path / "ckpt"))
    metric.reset()
    assert metric.result() == 0
    checkpoint.restore(path).assert_consumed()
    assert metric.result() == pytest.approx(6.5)
    for traj in _episode([2, 2]):
        metric(traj)
    assert metric.result() == pytest.approx((3 + 10 + 4) / 3)


def test_numpy_deque_wraps_and_grows():
    ring = py_metrics.NumpyDeque(maxlen=3, dtype=np.float64)
    ring.extend([1, 2, 3, 4])
    assert ring.mean() == 3 and ring.last == 4 and len(ring) == 3
    grow = py_metrics.NumpyDeque(maxlen=np.inf, dtype=np.float64)
    grow.extend(range(25))
    assert len(grow) == 25 and grow.mean() == 12


def test_tf_metrics_match_py_metrics_on_a_batch():
    episodes = [
        _episode([1, 2, 3]) + _episode([2]),
        _episode([5]) + _episode([1, 1, 1, 1])[:6],
    ]
    steps = min(len(e) for e in episodes)
    batched = [
        nest_utils.stack_nested_arrays([e[t] for e in episodes]) for t in range(steps)
    ]
    py = py_metrics.AverageReturnMetric()
    tf_metric = tf_metrics.AverageReturnMetric(batch_size=2)
    lengths = tf_metrics.AverageEpisodeLengthMetric(batch_size=2)
    for traj in batched:
        py(traj)
        tensors = tf.nest.map_structure(tf.convert_to_tensor, traj)
        tf_metric(tensors)
        lengths(tensors)
    assert tf_metric.result().numpy() == pytest.approx(py.result())
    assert lengths.result().numpy() > 0


def test_batched_and_tf_py_metric():
    batched = batched_py_metric.BatchedPyMetric(py_metrics.AverageReturnMetric)
    wrapped = tf_py_metric.TFPyMetric(py_metrics.AverageReturnMetric())
    pair = [_episode([3, 3]), _episode([1, 0])]
    for t in range(3):
        traj = nest_utils.stack_nested_arrays([pair[0][t], pair[1][t]])
        batched(traj)
        wrapped(tf.nest.map_structure(tf.convert_to_tensor, traj))
    assert batched.result() == pytest.approx(3.5)
    assert wrapped.result().numpy() == pytest.approx(3.5)


def test_tf_deque_statistics():
    deque = tf_metrics.TFDeque(3, tf.float32)
    assert deque.mean().numpy() == 0
    deque.extend(tf.constant([1.0, 2.0, 3.0, 7.0]))
    assert deque.mean().numpy() == pytest.approx(4.0)
    assert deque.max().numpy() == 7.0 and deque.min().numpy() == 2.0
