"""BanditPyEnvironment: one-step episodes built from `_observe` and `_apply_action`."""

import numpy as np
import pytest

from policylib.bandits.environments import bandit_py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts


class _CountingBandit(bandit_py_environment.BanditPyEnvironment):
    """Context = a counter; reward = context * action (as float64, to test casting)."""

    def __init__(self, batch_size=None, reward_spec=None):
        self._batch = batch_size
        self._count = 0
        super().__init__(
            array_spec.ArraySpec((), np.int64),
            array_spec.BoundedArraySpec((), np.int32, 0, 3),
            reward_spec,
            name="counting",
        )

    @property
    def batched(self):
        return self._batch is not None

    @property
    def batch_size(self):
        return self._batch

    def _observe(self):
        self._count += 1
        if self._batch is None:
            return np.int64(self._count)
        return np.full((self._batch,), self._count, np.int64)

    def _apply_action(self, action):
        self.last_action = action
        return self._count * action.astype(np.float64)


def test_unbatched_reset_and_step():
    env = _CountingBandit()
    first = env.reset()
    assert first.step_type == ts.StepType.FIRST
    assert first.observation == 1 and first.reward == 0.0
    last = env.step(2)
    assert last.step_type == ts.StepType.LAST and last.discount == 0.0
    # The reward is for the context shown before the step, then a new context.
    assert last.reward == 2.0 and last.reward.dtype == np.float32
    assert last.observation == 2
    assert isinstance(env.last_action, np.ndarray)
    assert env.name == "counting"


def test_batched_steps_and_default_reward_spec():
    env = _CountingBandit(batch_size=3)
    assert env.reward_spec() == array_spec.ArraySpec((), np.float32)
    first = env.reset()
    np.testing.assert_array_equal(first.step_type, [0, 0, 0])
    np.testing.assert_array_equal(first.reward, np.zeros(3, np.float32))
    last = env.step([0, 1, 3])
    np.testing.assert_array_equal(last.reward, [0.0, 1.0, 3.0])
    np.testing.assert_array_equal(last.step_type, [2, 2, 2])
    assert array_spec.check_arrays_nest(
        last, array_spec.add_outer_dims_nest(env.time_step_spec(), (3,))
    )
    # Every step is a whole episode: stepping again does not reset.
    again = env.step([1, 1, 1])
    np.testing.assert_array_equal(again.reward, [2.0, 2.0, 2.0])


def test_explicit_reward_spec_sets_first_reward_shape():
    spec = array_spec.ArraySpec((2,), np.float32)
    env = _CountingBandit(batch_size=2, reward_spec=spec)
    assert env.reward_spec() is spec
    assert env.reset().reward.shape == (2, 2)
    np.testing.assert_array_equal(env._empty_observation(), np.zeros((), np.int64))


def test_batched_actions_checks_count_and_range():
    env = _CountingBandit(batch_size=2)
    np.testing.assert_array_equal(env._batched_actions([1, 2], 4), [1, 2])
    with pytest.raises(
        ValueError, match="expected 2 actions, got an action array of shape \\(3,\\)"
    ):
        env._batched_actions([1, 2, 3])
    with pytest.raises(
        ValueError, match=r"Actions must be ints in \[0, 3\]; got \[1 4\]"
    ):
        env._batched_actions([1, 4], 4)
    with pytest.raises(ValueError, match="Actions must be ints"):
        env._batched_actions([0.5, 1.0], 4)


class _DictActionBandit(bandit_py_environment.BanditPyEnvironment):
    def __init__(self):
        spec = array_spec.BoundedArraySpec((), np.int32, 0, 3)
        super().__init__(array_spec.ArraySpec((), np.float32), {"a": spec, "b": spec})

    def _observe(self):
        return np.float32(0.0)

    def _apply_action(self, action):
        return np.float32(action["a"] + 10 * action["b"])


def test_nested_actions_become_arrays_and_must_match_the_spec():
    env = _DictActionBandit()
    env.reset()
    assert env.step({"a": 1, "b": 2}).reward == 21.0
    with pytest.raises(
        ValueError, match="does not match the structure of the action spec"
    ):
        env.step({"a": 1})


class _ListRewardBandit(_CountingBandit):
    def _apply_action(self, action):
        return [float(a) for a in action]


def test_list_rewards_become_one_float32_array():
    env = _ListRewardBandit(batch_size=2)
    env.reset()
    reward = env.step([1, 3]).reward
    assert isinstance(reward, np.ndarray) and reward.dtype == np.float32
    np.testing.assert_array_equal(reward, [1.0, 3.0])
