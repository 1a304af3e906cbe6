"""Policy constructors, the saver and the py wrappers name the argument that is wrong."""

import numpy as np
import pytest
import tensorflow as tf

from policylib.errors import NotAPolicyError
from policylib.networks import q_network
from policylib.policies import (
    batched_py_policy,
    policy_saver,
    py_epsilon_greedy_policy,
    py_tf_eager_policy,
    q_policy,
    random_py_policy,
)
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts

OBS = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
ACT = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 1, name="action")
Q = q_policy.QPolicy(
    ts.time_step_spec(OBS), ACT, q_network=q_network.QNetwork(OBS, ACT)
)
A_ACT = array_spec.BoundedArraySpec((), np.int64, 0, 1)
RANDOM = random_py_policy.RandomPyPolicy(
    ts.time_step_spec(array_spec.ArraySpec((4,), np.float32)), A_ACT, seed=0
)

CASES = {
    "RandomPyPolicy outer_dims": (
        lambda: random_py_policy.RandomPyPolicy(None, A_ACT, outer_dims="x"),
        TypeError,
        "outer_dims must be a sequence of non-negative ints, got 'x'",
    ),
    "py EpsilonGreedy epsilon string": (
        lambda: py_epsilon_greedy_policy.EpsilonGreedyPolicy(RANDOM, "0.1"),
        TypeError,
        r"epsilon must be a number in \[0, 1\], got '0.1'",
    ),
    "py EpsilonGreedy epsilon range": (
        lambda: py_epsilon_greedy_policy.EpsilonGreedyPolicy(RANDOM, 1.5),
        ValueError,
        r"epsilon must be in \[0, 1\], got 1.5",
    ),
    "BatchedPyPolicy empty": (
        lambda: batched_py_policy.BatchedPyPolicy([]),
        ValueError,
        "BatchedPyPolicy needs at least one policy",
    ),
    "BatchedPyPolicy not a policy": (
        lambda: batched_py_policy.BatchedPyPolicy([RANDOM, Q]),
        TypeError,
        r"BatchedPyPolicy batches PyPolicies; policies\[1\] is QPolicy",
    ),
    "PyTFEagerPolicy of a py policy": (
        lambda: py_tf_eager_policy.PyTFEagerPolicy(RANDOM),
        TypeError,
        "got RandomPyPolicy, which is already a PyPolicy: use it directly",
    ),
    "SavedModelPyTFEagerPolicy None path": (
        lambda: py_tf_eager_policy.SavedModelPyTFEagerPolicy(None),
        TypeError,
        "A saved policy's path must be a str or os.PathLike, got None",
    ),
    "SavedModelPyTFEagerPolicy missing path": (
        lambda: py_tf_eager_policy.SavedModelPyTFEagerPolicy("/nonexistent/policy"),
        NotAPolicyError,
        "/nonexistent/policy: no such file or directory",
    ),
    "PolicySaver of a py policy": (
        lambda: policy_saver.PolicySaver(RANDOM),
        TypeError,
        "policy is not a TFPolicy",
    ),
    "PolicySaver batch_size": (
        lambda: policy_saver.PolicySaver(Q, batch_size=-1),
        ValueError,
        "Expected batch_size == None or python int > 0, saw: -1",
    ),
    "PolicySaver train_step": (
        lambda: policy_saver.PolicySaver(Q, train_step=3),
        ValueError,
        "train_step must be a TensorFlow variable: 3",
    ),
    "PolicySaver metadata": (
        lambda: policy_saver.PolicySaver(Q, metadata={"a": 3}),
        TypeError,
        "Values of metadata must be tf.Variable: 3",
    ),
    "PolicySaver input_fn_and_spec": (
        lambda: policy_saver.PolicySaver(Q, input_fn_and_spec=3),
        TypeError,
        r"input_fn_and_spec must be a pair \(input_fn, input_spec\)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_argument_is_named(case):
    call, error, message = CASES[case]
    with pytest.raises(error, match=message):
        call()


@pytest.mark.parametrize("method", ["save", "save_checkpoint"])
def test_saving_to_a_bad_path_names_it(method, tmp_path):
    saver = policy_saver.PolicySaver(Q)
    with pytest.raises(TypeError, match="must be a str or os.PathLike, got None"):
        getattr(saver, method)(None)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(FileExistsError, match="exists and is not a directory"):
        getattr(saver, method)(str(a_file))


def test_eager_wrapper_checks_leaves_its_graph_does_not_read():
    policy = py_tf_eager_policy.PyTFEagerPolicy(Q)
    good = ts.restart(np.zeros((2, 4), np.float32), 2)
    with pytest.raises(
        ValueError, match=r"time_step\.step_type has shape \(3,\); expected \(2,\)"
    ):
        policy.action(good._replace(step_type=np.zeros(3, np.int32)))
    with pytest.raises(ValueError, match=r"time_step\.reward has dtype <U1"):
        policy.action(good._replace(reward=np.array(["a", "b"])))
    with pytest.raises(ValueError, match=r"time_step\.discount is None"):
        policy.action(good._replace(discount=None))
    # A state passed to a stateless policy is ignored, as TFPolicy does.
    assert policy.action(good, policy_state=(np.zeros(3),)).action.shape == (2,)
