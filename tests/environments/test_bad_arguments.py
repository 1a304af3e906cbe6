"""Environments, their wrappers and `step` name the argument or action that is wrong."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.environments import (
    batched_py_environment,
    random_py_environment,
    tf_py_environment,
    wrappers,
)
from policylib.specs import array_spec

OBS = array_spec.ArraySpec((4,), np.float32)
ACT = array_spec.BoundedArraySpec((), np.int64, 0, 1, name="action")


def _env():
    return random_py_environment.RandomPyEnvironment(
        OBS, ACT, min_duration=5, max_duration=5, seed=0
    )


TF_ENV = tf_py_environment.TFPyEnvironment(_env())
BATCHED = batched_py_environment.BatchedPyEnvironment(
    [_env(), _env()], multithreading=False
)

CASES = {
    "TimeLimit negative duration": (
        lambda: wrappers.TimeLimit(_env(), -1),
        ValueError,
        "TimeLimit: duration must be positive, got -1",
    ),
    "TimeLimit string duration": (
        lambda: wrappers.TimeLimit(_env(), "10"),
        TypeError,
        "TimeLimit: duration must be an int, got '10'",
    ),
    "ActionRepeat float times": (
        lambda: wrappers.ActionRepeat(_env(), 1.5),
        TypeError,
        "ActionRepeat: times must be an int, got 1.5",
    ),
    "ActionRepeat times 1": (
        lambda: wrappers.ActionRepeat(_env(), 1),
        ValueError,
        r"Times parameter \(1\) should be greater than 1",
    ),
    "HistoryWrapper length 0": (
        lambda: wrappers.HistoryWrapper(_env(), history_length=0),
        ValueError,
        "HistoryWrapper: history_length must be positive, got 0",
    ),
    "ObservationFilterWrapper index": (
        lambda: wrappers.ObservationFilterWrapper(_env(), [7]),
        ValueError,
        r"One of the indexes is out of bounds: \[7\] for an observation of shape \(4,\)",
    ),
    "TFPyEnvironment not a py env": (
        lambda: tf_py_environment.TFPyEnvironment(object()),
        TypeError,
        "Environment should implement py_environment.PyEnvironment; got object",
    ),
    "TFPyEnvironment None action": (
        lambda: TF_ENV.step(None),
        ValueError,
        r"TFPyEnvironment.step: action is None; expected a tensor for BoundedTensorSpec",
    ),
    "TFPyEnvironment action nesting": (
        lambda: TF_ENV.step({"a": tf.constant([0], tf.int64)}),
        (TypeError, ValueError),
        "action and action_spec structures do not match",
    ),
    "TFPyEnvironment action shape": (
        lambda: TF_ENV.step(tf.constant([[0]], tf.int64)),
        ValueError,
        r"TFPyEnvironment.step: an action has shape \(1, 1\); expected \[batch_size=1\] \+ \(\)",
    ),
    "TFPyEnvironment action batch": (
        lambda: TF_ENV.step(tf.constant([0, 1], tf.int64)),
        ValueError,
        r"TFPyEnvironment.step: an action has a batch dim of 2 \(shape \(2,\)\); "
        "expected batch_size=1",
    ),
    "BatchedPyEnvironment empty": (
        lambda: batched_py_environment.BatchedPyEnvironment([]),
        ValueError,
        "envs must be a non-empty list or tuple",
    ),
    "BatchedPyEnvironment not an env": (
        lambda: batched_py_environment.BatchedPyEnvironment([_env(), object()]),
        TypeError,
        r"BatchedPyEnvironment: envs\[1\] must be a PyEnvironment, got object",
    ),
    "BatchedPyEnvironment unbatched action": (
        lambda: BATCHED.step(np.int64(0)),
        ValueError,
        r"BatchedPyEnvironment.step: action (np.int64\(0\)|0) has no batch dim; expected a leading dim of batch_size=2",
    ),
    "BatchedPyEnvironment action batch": (
        lambda: BATCHED.step(np.array([0, 1, 1])),
        ValueError,
        "Primary dimension of action items does not match batch size: 3 vs. 2",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_is_named(case):
    TF_ENV.reset()
    BATCHED.reset()
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


def test_good_actions_still_step():
    TF_ENV.reset()
    assert TF_ENV.step(tf.constant([1], tf.int64)).reward.shape == (1,)
    BATCHED.reset()
    assert BATCHED.step(np.array([0, 1])).reward.shape == (2,)
