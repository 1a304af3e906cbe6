import numpy as np
import pytest

from policylib.policies import py_epsilon_greedy_policy, scripted_py_policy
from policylib.specs import array_spec

SPEC = array_spec.BoundedArraySpec((), np.int32, 0, 9)


def _greedy():
    return scripted_py_policy.ScriptedPyPolicy(None, SPEC, [(10_000, np.int32(1))])


@pytest.mark.parametrize("epsilon", [-0.1, 1.5])
def test_epsilon_outside_unit_interval(epsilon):
    with pytest.raises(ValueError, match=r"epsilon must be in \[0, 1\], got"):
        py_epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), epsilon)


def test_decay_needs_end_value():
    with pytest.raises(ValueError, match="epsilon_decay_end_value must be given"):
        py_epsilon_greedy_policy.EpsilonGreedyPolicy(
            _greedy(), 0.5, epsilon_decay_end_count=10
        )


def test_zero_and_one():
    greedy = py_epsilon_greedy_policy.EpsilonGreedyPolicy(_greedy(), 0.0, random_seed=0)
    state = greedy.get_initial_state()
    for _ in range(20):
        step = greedy.action(None, state)
        state = step.state
        assert step.action == 1


def test_exploration_rate_and_decay():
    policy = py_epsilon_greedy_policy.EpsilonGreedyPolicy(
        _greedy(),
        1.0,
        epsilon_decay_end_count=100,
        epsilon_decay_end_value=0.2,
        random_seed=1,
    )
    assert policy.epsilon == 1.0
    state = policy.get_initial_state()
    for _ in range(50):
        step = policy.action(None, state)
        if isinstance(step.state, list):
            state = step.state
    assert policy.epsilon == pytest.approx(0.6)
    for _ in range(200):
        policy.action(None, state)
    assert policy.epsilon == pytest.approx(0.2)
