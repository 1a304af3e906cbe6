"""The py wrappers trace once per input signature, not once per call.

A retrace costs milliseconds; in steady state (same shapes, new values) the
wrappers must reuse their traced function. Each test counts how often the
traced Python body runs over 100 calls: only the first call may trace, and
it traces exactly as often as the wrapper's design says.
"""

import numpy as np
import pytest
import tensorflow as tf

from policylib import data
from policylib.networks import q_network
from policylib.policies import policy_loader, py_tf_eager_policy, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")


def _count_traces(policy):
    """Wraps the wrapper's traced body so each trace increments a counter."""
    counter = {"traces": 0}
    original = policy._batched_action

    def counting(*args, **kwargs):
        counter["traces"] += 1
        return original(*args, **kwargs)

    policy._batched_action = counting
    return counter


def _policies():
    q = q_policy.QPolicy(
        ts.time_step_spec(OBS), ACT, q_network=q_network.QNetwork(OBS, ACT)
    )
    return {
        "PyTFEagerPolicy": lambda: py_tf_eager_policy.PyTFEagerPolicy(q),
        "SavedModelPyTFEagerPolicy": lambda: policy_loader.load(
            data.cartpole_dqn_path()
        ),
    }


POLICIES = _policies()

# Traces on the first call. A live TFPolicy is traced twice: once with every
# time-step leaf, to find the leaves it reads, then with only those. A loaded
# SavedModel's leaves are read from its graph, so it traces once; unbatched, it
# already traced when its constructor ran one warm-up step, so not at all.
FIRST_CALL_TRACES = {
    ("PyTFEagerPolicy", None): 2,
    ("PyTFEagerPolicy", 3): 2,
    ("SavedModelPyTFEagerPolicy", None): 0,
    ("SavedModelPyTFEagerPolicy", 3): 1,
}


@pytest.mark.parametrize("name", sorted(POLICIES))
@pytest.mark.parametrize("batch", [None, 3])
def test_hundred_calls_trace_once(name, batch):
    policy = POLICIES[name]()
    counter = _count_traces(policy)
    rng = np.random.default_rng(0)
    shape = (4,) if batch is None else (batch, 4)
    for i in range(100):
        observation = rng.normal(size=shape).astype(np.float32)
        time_step = (
            ts.restart(observation, batch)
            if i == 0
            else ts.transition(
                observation,
                np.float32(rng.normal())
                if batch is None
                else rng.normal(size=batch).astype(np.float32),
            )
        )
        policy.action(time_step)
        if i == 0:
            assert counter["traces"] == FIRST_CALL_TRACES[name, batch]
            counter["traces"] = 0
    assert counter["traces"] == 0
