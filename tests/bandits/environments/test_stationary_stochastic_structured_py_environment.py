"""StationaryStochasticStructuredPyEnvironment: nested global and arm features."""

import numpy as np
import pytest

from policylib.bandits.environments import (
    stationary_stochastic_structured_py_environment as ssspe,
)
from policylib.specs import array_spec


def _arm_counter():
    state = {"n": 0}

    def draw():
        state["n"] += 1
        return {"id": np.int64(state["n"]), "tag": np.array([f"arm{state['n']}"])}

    return draw


def test_nested_specs_and_rewards():
    env = ssspe.StationaryStochasticStructuredPyEnvironment(
        lambda: {"scale": np.array([2.0, 3.0])},
        _arm_counter(),
        num_actions=2,
        reward_fn=lambda g, a: g["scale"][0] * a["id"],
        batch_size=3,
    )
    spec = env.observation_spec()
    assert spec["global"]["scale"] == array_spec.ArraySpec((2,), np.float64)
    assert spec["per_arm"]["id"] == array_spec.ArraySpec((2,), np.int64)
    assert spec["per_arm"]["tag"].shape == (2, 1)
    observation = env.reset().observation
    # Construction drew arm 1; this batch has ids 2..7, two per entry.
    np.testing.assert_array_equal(
        observation["per_arm"]["id"], [[2, 3], [4, 5], [6, 7]]
    )
    assert observation["per_arm"]["tag"][2, 1, 0] == "arm7"
    assert observation["global"]["scale"].shape == (3, 2)
    reward = env.step([1, 0, 1]).reward
    assert reward.dtype == np.float32
    np.testing.assert_array_equal(reward, [6.0, 8.0, 14.0])


def test_bad_input():
    with pytest.raises(ValueError, match="num_actions must be >= 1; got 0"):
        ssspe.StationaryStochasticStructuredPyEnvironment(
            lambda: np.zeros(1), lambda: np.zeros(1), 0, lambda g, a: 0.0
        )
    env = ssspe.StationaryStochasticStructuredPyEnvironment(
        lambda: np.zeros(1), lambda: np.zeros(1), 2, lambda g, a: 0.0, batch_size=2
    )
    env.reset()
    with pytest.raises(ValueError, match="expected 2 actions"):
        env.step([1])
