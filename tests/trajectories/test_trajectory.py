import numpy as np
import pytest
import tensorflow as tf

from policylib.trajectories import policy_step, trajectory
from policylib.trajectories import time_step as ts

F, M, L = ts.StepType.FIRST, ts.StepType.MID, ts.StepType.LAST


def test_field_order():
    assert trajectory.Trajectory._fields == (
        "step_type",
        "observation",
        "action",
        "policy_info",
        "next_step_type",
        "reward",
        "discount",
    )


@pytest.mark.parametrize(
    "builder, expected",
    [
        (trajectory.first, (F, M)),
        (trajectory.mid, (M, M)),
        (trajectory.last, (M, L)),
        (trajectory.single_step, (F, L)),
        (trajectory.boundary, (L, F)),
    ],
)
def test_step_type_builders_numpy_and_tensor(builder, expected):
    traj = builder(np.zeros((2, 1)), np.zeros(2), (), np.ones(2), np.ones(2))
    np.testing.assert_array_equal(traj.step_type, [expected[0]] * 2)
    np.testing.assert_array_equal(traj.next_step_type, [expected[1]] * 2)
    tensor_traj = builder((), (), (), tf.ones([3]), tf.ones([3]))
    assert tf.is_tensor(tensor_traj.step_type)
    np.testing.assert_array_equal(tensor_traj.next_step_type.numpy(), [expected[1]] * 3)


def test_predicates():
    traj = trajectory.Trajectory(
        np.array([F, M, M, L]),
        (),
        (),
        (),
        np.array([M, M, L, F]),
        np.zeros(4),
        np.ones(4),
    )
    np.testing.assert_array_equal(traj.is_first(), [True, False, False, False])
    np.testing.assert_array_equal(traj.is_mid(), [False, True, False, False])
    np.testing.assert_array_equal(traj.is_last(), [False, False, True, False])
    np.testing.assert_array_equal(traj.is_boundary(), [False, False, False, True])


@pytest.mark.parametrize("as_tensor", [False, True])
def test_from_episode(as_tensor):
    obs, reward = np.arange(8.0).reshape(4, 2), np.arange(4.0)
    if as_tensor:
        obs, reward = tf.constant(obs), tf.constant(reward)
    traj = trajectory.from_episode(obs, (), (), reward)
    np.testing.assert_array_equal(traj.step_type, [F, M, M, M])
    np.testing.assert_array_equal(traj.next_step_type, [M, M, M, L])
    np.testing.assert_array_equal(traj.discount, [1.0] * 4)


def test_to_transition_and_from_transition_round_trip():
    traj = trajectory.Trajectory(
        step_type=np.array([[F, M, L]]),
        observation=np.array([[1.0, 2.0, 3.0]]),
        action=np.array([[4, 5, 6]]),
        policy_info=(),
        next_step_type=np.array([[M, L, F]]),
        reward=np.array([[0.5, 1.5, 0.0]]),
        discount=np.array([[1.0, 0.0, 1.0]]),
    )
    time_steps, action_steps, next_time_steps = trajectory.to_transition(traj)
    np.testing.assert_array_equal(time_steps.observation, [[1.0, 2.0]])
    np.testing.assert_array_equal(time_steps.reward, [[0.0, 0.0]])
    np.testing.assert_array_equal(next_time_steps.observation, [[2.0, 3.0]])
    np.testing.assert_array_equal(next_time_steps.reward, [[0.5, 1.5]])
    np.testing.assert_array_equal(action_steps.action, [[4, 5]])
    rebuilt = trajectory.from_transition(time_steps, action_steps, next_time_steps)
    np.testing.assert_array_equal(rebuilt.discount, [[1.0, 0.0]])


def test_to_n_step_transition():
    gamma = 0.5
    traj = trajectory.Trajectory(
        step_type=np.array([[F, M, M]]),
        observation=np.array([[1.0, 2.0, 3.0]]),
        action=np.array([[1, 2, 3]]),
        policy_info=(),
        next_step_type=np.array([[M, M, L]]),
        reward=np.array([[1.0, 2.0, 9.0]]),
        discount=np.array([[0.9, 0.8, 0.0]]),
    )
    time_steps, _, next_time_steps = trajectory.to_n_step_transition(traj, gamma)
    assert np.isnan(time_steps.reward.numpy()).all()
    np.testing.assert_allclose(
        next_time_steps.reward.numpy(), [1.0 + 2.0 * gamma * 0.9]
    )
    np.testing.assert_allclose(next_time_steps.discount.numpy(), [gamma * 0.9 * 0.8])
    np.testing.assert_array_equal(next_time_steps.observation, [3.0])


def test_to_transition_spec():
    spec = trajectory.Trajectory(1, 2, 3, 4, 5, 6, 7)
    ts_spec, ps_spec, next_spec = trajectory.to_transition_spec(spec)
    assert ts_spec == ts.TimeStep(1, 6, 7, 2) == next_spec
    assert ps_spec == policy_step.PolicyStep(3, (), 4)
