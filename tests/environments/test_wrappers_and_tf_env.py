"""Wrappers, TFPyEnvironment and the small test environments."""

import pstats

import numpy as np
import pytest
import tensorflow as tf

from policylib.drivers import test_utils as driver_test_utils
from policylib.environments import (
    py_environment,
    random_tf_environment,
    test_envs,
    tf_py_environment,
    trajectory_replay,
    utils,
    wrappers,
)
from policylib.environments.random_py_environment import RandomPyEnvironment
from policylib.specs import array_spec, tensor_spec
from policylib.trajectories import time_step as ts


def test_action_repeat_sums_rewards_and_stops_at_last():
    env = wrappers.ActionRepeat(test_envs.CountingEnv(steps_per_episode=5), times=3)
    env.reset()
    first = env.step(np.int32(0))
    assert first.observation == 3 and first.reward == 0
    last = env.step(np.int32(0))
    assert last.is_last() and last.observation == 5 and last.reward == 1


def test_action_discretize_maps_to_linspace():
    spec = array_spec.BoundedArraySpec((2,), np.float32, -1.0, 1.0)
    seen = []

    class Recorder(RandomPyEnvironment):
        def _step(self, action):
            seen.append(action)
            return super()._step(action)

    env = wrappers.ActionDiscretizeWrapper(
        Recorder(array_spec.ArraySpec((1,), np.float32), spec),
        num_actions=np.array([3, 5]),
    )
    assert env.action_spec().maximum.tolist() == [2, 4]
    env.reset()
    env.step(np.array([0, 3], np.int32))
    np.testing.assert_allclose(seen[-1], [-1.0, 0.5])
    with pytest.raises(ValueError, match="at least size 2"):
        wrappers.ActionDiscretizeWrapper(
            Recorder(array_spec.ArraySpec((1,), np.float32), spec), 1
        )


def test_history_and_flatten_wrappers():
    env = wrappers.HistoryWrapper(
        test_envs.CountingEnv(), history_length=3, include_actions=True
    )
    assert env.observation_spec()["observation"].shape == (3,)
    env.reset()
    step = env.step(np.int32(1))
    np.testing.assert_array_equal(step.observation["observation"], [0, 0, 1])
    np.testing.assert_array_equal(step.observation["action"], [0, 0, 1])
    flat = wrappers.FlattenObservationsWrapper(test_envs.NestedCountingEnv())
    assert flat.observation_spec().shape == (2,)
    assert flat.reset().observation.shape == (2,)


def test_one_hot_and_offset_wrappers():
    env = wrappers.OneHotActionWrapper(test_envs.CountingEnv())
    assert env.action_spec().shape == (2,)
    env.reset()
    assert env.step(np.array([0, 1], np.int32)).observation == 1
    with pytest.raises(ValueError, match="shape/dtype"):
        env.step(np.array([0, 1, 0], np.int32))
    with pytest.raises(ValueError, match="discrete"):
        wrappers.ActionOffsetWrapper(
            RandomPyEnvironment(
                array_spec.ArraySpec((1,), np.float32),
                array_spec.BoundedArraySpec((), np.float32, 0, 1),
            )
        )


def test_tf_py_environment_in_tf_function():
    env = tf_py_environment.TFPyEnvironment(test_envs.CountingEnv(steps_per_episode=3))
    assert env.batch_size == 1 and env.time_step_spec().observation.dtype == tf.int32

    @tf.function
    def run(n):
        time_step = env.reset()
        total = tf.constant(0.0)
        for _ in tf.range(n):
            time_step = env.step(tf.constant([1], tf.int32))
            total += tf.reduce_sum(time_step.reward)
        return time_step, total

    time_step, total = run(tf.constant(3))
    assert time_step.observation.shape == (1,)
    assert int(time_step.step_type[0]) == ts.StepType.LAST and total.numpy() == 1.0


def test_validate_py_environment_names_the_bad_leaf():
    class Wrong(test_envs.CountingEnv):
        def _step(self, action):
            return super()._step(action)._replace(observation=np.float64(1.0))

    utils.validate_py_environment(test_envs.CountingEnv(), episodes=2)
    with pytest.raises(ValueError, match="observation"):
        utils.validate_py_environment(Wrong(), episodes=1)


def test_random_tf_environment_and_replay():
    spec = ts.time_step_spec(tensor_spec.TensorSpec((2,), tf.float32))
    action = tensor_spec.BoundedTensorSpec((), tf.int32, 0, 1)
    env = random_tf_environment.RandomTFEnvironment(spec, action, batch_size=2)
    first = env.reset()
    assert first.observation.shape == (2, 2) and np.all(first.is_first())
    traj, time_step_spec, action_spec = driver_test_utils.make_random_trajectory()
    policy = driver_test_utils.TFPolicyMock(time_step_spec, action_spec)
    actions, info, _ = trajectory_replay.TrajectoryReplay(policy).run(traj)
    # The mock restarts its count at each FIRST step (steps 0 and 3).
    np.testing.assert_array_equal(actions.numpy(), [[1, 2, 1, 1, 2, 1]])
    np.testing.assert_array_equal(info.numpy(), 2 * actions.numpy())


class _Recorder(py_environment.PyEnvironment):
    """Observation [0, 1, 2, 3]; records actions; episodes of 3 steps."""

    def __init__(self, action_spec):
        super().__init__()
        self._action_spec = action_spec
        self.actions = []
        self._t = 0

    def observation_spec(self):
        return array_spec.ArraySpec((4,), np.float32)

    def action_spec(self):
        return self._action_spec

    def _observation(self):
        return np.arange(4, dtype=np.float32) + self._t

    def _reset(self):
        self._t = 0
        return ts.restart(self._observation())

    def _step(self, action):
        self.actions.append(action)
        self._t += 1
        if self._t >= 3:
            return ts.termination(self._observation(), np.float32(1))
        return ts.transition(self._observation(), np.float32(1))


def test_action_clip_wrapper_clips_each_leaf_to_its_bounds():
    spec = {
        "a": array_spec.BoundedArraySpec((2,), np.float32, -1.0, 1.0),
        "b": array_spec.ArraySpec((), np.float32),  # unbounded: passed through
    }
    inner = _Recorder(spec)
    env = wrappers.ActionClipWrapper(inner)
    env.reset()
    env.step({"a": np.array([-3.0, 0.5], np.float32), "b": np.float32(9.0)})
    np.testing.assert_array_equal(inner.actions[0]["a"], [-1.0, 0.5])
    assert inner.actions[0]["b"] == 9.0


def test_observation_filter_wrapper_keeps_the_given_entries():
    env = wrappers.ObservationFilterWrapper(
        _Recorder(array_spec.ArraySpec((), np.int32)), idx=[3, 1]
    )
    assert env.observation_spec().shape == (2,)
    np.testing.assert_array_equal(env.reset().observation, [3.0, 1.0])
    np.testing.assert_array_equal(env.step(np.int32(0)).observation, [4.0, 2.0])
    with pytest.raises(ValueError, match="out of bounds"):
        wrappers.ObservationFilterWrapper(
            _Recorder(array_spec.ArraySpec((), np.int32)), idx=[4]
        )
    with pytest.raises(ValueError, match="single-dimensional"):
        wrappers.ObservationFilterWrapper(
            _Recorder(array_spec.ArraySpec((), np.int32)), idx=[[0]]
        )


def test_performance_profiler_hands_over_a_profile_every_n_steps():
    profiles = []
    env = wrappers.PerformanceProfiler(
        _Recorder(array_spec.ArraySpec((), np.int32)),
        process_profile_fn=profiles.append,
        process_steps=2,
    )
    env.reset()
    for _ in range(5):
        env.step(np.int32(0))
    assert len(profiles) == 2 and profiles[0] is not profiles[1]
    stats = pstats.Stats(profiles[0])
    assert any(name == "_step" for (_, _, name) in stats.stats)


class _GoalInObservation(wrappers.GoalReplayEnvWrapper):
    """The goal is the first observation's last entry, appended to each observation."""

    def get_goal_from_trajectory(self, trajectory):
        return trajectory.observation[-1:]

    def get_trajectory_with_goal(self, trajectory, goal):
        return trajectory._replace(
            observation=np.concatenate([trajectory.observation, goal])
        )


def test_goal_replay_wrapper_keeps_the_goal_of_the_episode():
    env = _GoalInObservation(_Recorder(array_spec.ArraySpec((), np.int32)))
    np.testing.assert_array_equal(env.reset().observation, [0, 1, 2, 3, 3])
    np.testing.assert_array_equal(env.step(np.int32(0)).observation, [1, 2, 3, 4, 3])
    with pytest.raises(TypeError):
        wrappers.GoalReplayEnvWrapper(_Recorder(array_spec.ArraySpec((), np.int32)))


OBS_SPEC = array_spec.ArraySpec((1,), np.float32)


class _EchoActionEnv(RandomPyEnvironment):
    """Records the action each step gets."""

    def _step(self, action):
        self.last_action = action
        return super()._step(action)


def test_flatten_action_wrapper_splits_the_vector_back_into_the_nest():
    spec = {
        "a": array_spec.BoundedArraySpec((), np.float32, -1.0, 1.0),
        "b": array_spec.BoundedArraySpec((2,), np.float32, [0.0, 1.0], [2.0, 3.0]),
    }
    env = _EchoActionEnv(array_spec.ArraySpec((1,), np.float32), spec, seed=0)
    flat = wrappers.FlattenActionWrapper(env)
    got = flat.action_spec()
    assert got.shape == (3,)
    np.testing.assert_array_equal(got.minimum, [-1.0, 0.0, 1.0])
    np.testing.assert_array_equal(got.maximum, [1.0, 2.0, 3.0])
    flat.reset()
    flat.step(np.array([0.5, 1.5, 2.5], np.float32))
    assert env.last_action["a"].shape == () and env.last_action["a"] == 0.5
    np.testing.assert_array_equal(env.last_action["b"], [1.5, 2.5])
    with pytest.raises(ValueError, match=r"expected \(3,\)"):
        flat.step(np.zeros(4, np.float32))
    mixed = {**spec, "c": array_spec.BoundedArraySpec((), np.int32, 0, 3)}
    with pytest.raises(ValueError, match="dtypes must match"):
        wrappers.FlattenActionWrapper(RandomPyEnvironment(OBS_SPEC, mixed))
    assert (
        wrappers.FlattenActionWrapper(
            RandomPyEnvironment(OBS_SPEC, mixed), flat_dtype=np.float32
        )
        .action_spec()
        .dtype
        == np.float32
    )


def test_extra_disabled_actions_wrapper_masks_the_added_actions():
    action = array_spec.BoundedArraySpec((), np.int32, 2, 4)
    env = RandomPyEnvironment(OBS_SPEC, action, batch_size=2, seed=0)
    wrapped = wrappers.ExtraDisabledActionsWrapper(env, 2)
    assert wrapped.action_spec().maximum == 6
    observation, mask = wrapped.reset().observation
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0]] * 2)
    assert wrapped.observation_spec()[1].shape == (5,)
    _, mask = wrapped.step(np.array([2, 4], np.int32)).observation
    np.testing.assert_array_equal(mask, [[1, 1, 1, 0, 0]] * 2)


class _ListObservationEnv(py_environment.PyEnvironment):
    """Returns its scalar observation wrapped in a list, as TF-Agents' test mock does."""

    def __init__(self) -> None:
        super().__init__()
        self._state = 0

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return array_spec.BoundedArraySpec([], np.int32, minimum=0, maximum=3)

    def observation_spec(self) -> array_spec.ArraySpec:
        return array_spec.ArraySpec([], np.int64, name="observation")

    def _reset(self) -> ts.TimeStep:
        return ts.restart([self._state])

    def _step(self, action) -> ts.TimeStep:
        self._state += 1
        return ts.transition([self._state], reward=0.0)


def test_tf_py_environment_flattens_a_list_observation_to_its_spec() -> None:
    env = tf_py_environment.TFPyEnvironment(_ListObservationEnv())
    assert env.current_time_step().observation.shape == (1,)
    assert env.step(tf.constant([1])).observation.shape == (1,)
    step = tf.function(lambda: env.step(tf.constant([1])))
    np.testing.assert_array_equal(step().observation, [2])
