import numpy as np
import pytest

from policylib.policies import batched_py_policy, py_policy
from policylib.specs import array_spec
from policylib.trajectories import policy_step
from policylib.trajectories import time_step as ts

OBS = array_spec.ArraySpec((2,), np.float32)


class _Echo(py_policy.PyPolicy):
    """Acts with its own id plus the observation's first entry; counts calls in state."""

    def __init__(self, ident):
        self.ident = ident
        super().__init__(
            ts.time_step_spec(OBS),
            array_spec.ArraySpec((), np.float32),
            policy_state_spec=array_spec.ArraySpec((), np.int64),
        )

    def _action(self, time_step, policy_state, seed=None):
        return policy_step.PolicyStep(
            np.float32(self.ident + time_step.observation[0]), policy_state + 1
        )


@pytest.mark.parametrize("multithreading", [False, True])
@pytest.mark.parametrize("count", [1, 3])
def test_routes_entries_to_policies_and_stacks(multithreading, count):
    with batched_py_policy.BatchedPyPolicy(
        [_Echo(10 * i) for i in range(count)], multithreading=multithreading
    ) as policy:
        state = policy.get_initial_state()
        assert state.shape == (count,)
        obs = np.arange(2 * count, dtype=np.float32).reshape(count, 2)
        step = policy.action(ts.restart(obs, batch_size=count), state)
        np.testing.assert_array_equal(
            step.action, [10 * i + obs[i, 0] for i in range(count)]
        )
        np.testing.assert_array_equal(step.state, np.ones(count))


def test_mismatched_specs_and_batch_sizes():
    class _Other(_Echo):
        def __init__(self):
            py_policy.PyPolicy.__init__(
                self, ts.time_step_spec(OBS), array_spec.ArraySpec((), np.int32)
            )

    with pytest.raises(ValueError, match=r"same action_spec.*policies\[1\]"):
        batched_py_policy.BatchedPyPolicy([_Echo(0), _Other()])
    policy = batched_py_policy.BatchedPyPolicy(
        [_Echo(0), _Echo(1)], multithreading=False
    )
    with pytest.raises(ValueError, match="batch of 3 entries, but there are 2"):
        policy.action(
            ts.restart(np.zeros((3, 2), np.float32), 3), np.zeros(3, np.int64)
        )
