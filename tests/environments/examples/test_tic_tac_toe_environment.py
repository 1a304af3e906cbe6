"""Tic-tac-toe against the scripted opponent: rewards, episode ends, saved states."""

from __future__ import annotations

import numpy as np
import pytest

from policylib.environments import utils as env_utils
from policylib.environments.examples import tic_tac_toe_environment
from policylib.trajectories import time_step as ts

TicTacToeEnvironment = tic_tac_toe_environment.TicTacToeEnvironment


def _env_at(board: list[list[int]], **kwargs) -> TicTacToeEnvironment:
    """An environment continuing from `board` (as a MID step)."""
    env = TicTacToeEnvironment(**kwargs)
    env.reset()
    env.set_state(
        ts.TimeStep(
            ts.StepType.MID,
            TicTacToeEnvironment.REWARD_DRAW_OR_NOT_FINAL,
            np.float32(1.0),
            np.array(board),
        )
    )
    return env


def test_specs_and_first_time_step() -> None:
    env = TicTacToeEnvironment(discount=0.9)
    first = env.reset()
    assert first.step_type == ts.StepType.FIRST
    np.testing.assert_array_equal(first.observation, np.zeros((3, 3), np.int32))
    assert first.observation.dtype == np.int32
    assert first.reward == 0.0 and first.reward.dtype == np.float32
    assert first.discount == np.float32(0.9)
    assert env.action_spec().shape == (2,) and env.action_spec().dtype == np.int32
    assert env.observation_spec().shape == (3, 3)
    env_utils.validate_py_environment(env, episodes=5)


def test_the_deterministic_opponent_answers_in_the_first_empty_cell() -> None:
    env = TicTacToeEnvironment()
    env.reset()
    step = env.step(np.array([1, 1], np.int32))
    assert step.step_type == ts.StepType.MID and step.reward == 0.0
    np.testing.assert_array_equal(step.observation, [[2, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_completing_a_line_wins() -> None:
    env = _env_at([[2, 2, 0], [0, 1, 1], [0, 0, 0]])
    step = env.step(np.array([1, 0]))
    np.testing.assert_array_equal(step.observation, [[2, 2, 0], [1, 1, 1], [0, 0, 0]])
    assert step.step_type == ts.StepType.LAST
    assert step.reward == TicTacToeEnvironment.REWARD_WIN == 1.0


def test_the_opponent_completing_a_line_loses() -> None:
    env = _env_at([[2, 2, 0], [0, 1, 1], [0, 0, 0]])
    step = env.step(np.array([2, 0]))  # the opponent then takes (0, 2)
    np.testing.assert_array_equal(step.observation, [[2, 2, 2], [0, 1, 1], [1, 0, 0]])
    assert step.step_type == ts.StepType.LAST
    assert step.reward == TicTacToeEnvironment.REWARD_LOSS == -1.0


def test_filling_the_board_without_a_line_is_a_draw() -> None:
    env = _env_at([[1, 2, 1], [1, 2, 2], [2, 1, 0]])
    step = env.step(np.array([2, 2]))
    assert step.step_type == ts.StepType.LAST
    assert step.reward == TicTacToeEnvironment.REWARD_DRAW_OR_NOT_FINAL == 0.0


def test_an_illegal_move_ends_the_episode_with_a_small_penalty() -> None:
    env = _env_at([[2, 2, 0], [0, 1, 1], [0, 0, 0]])
    step = env.step(np.array([0, 0]))
    np.testing.assert_array_equal(step.observation, [[2, 2, 0], [0, 1, 1], [0, 0, 0]])
    assert step.step_type == ts.StepType.LAST
    assert step.reward == np.float32(-0.001)
    # The next step starts a new game and ignores its action.
    restart = env.step(np.array([2, 0]))
    assert restart.step_type == ts.StepType.FIRST and restart.reward == 0.0
    np.testing.assert_array_equal(restart.observation, np.zeros((3, 3)))


def test_check_states_and_legal_actions() -> None:
    env = TicTacToeEnvironment()
    assert env._check_states(np.array([[0, 0, 0], [0, 0, 0], [0, 0, 1]])) == (
        False,
        0.0,
    )
    assert env._check_states(np.array([[1, 2, 0], [2, 1, 0], [0, 0, 1]])) == (True, 1.0)
    assert env._check_states(np.array([[1, 1, 2], [0, 2, 1], [2, 0, 0]])) == (
        True,
        -1.0,
    )
    assert env._check_states(np.array([[2, 1, 2], [1, 2, 1], [1, 2, 1]])) == (True, 0.0)
    board = np.array([[0, 1, 0], [2, 0, 1], [1, 2, 0]])
    assert env._legal_actions(board) == [(0, 0), (0, 2), (1, 1), (2, 2)]
    with pytest.raises(RuntimeError, match="no empty cell"):
        env._opponent_play(np.ones((3, 3), np.int32))


def test_a_seeded_opponent_plays_every_empty_cell_reproducibly() -> None:
    board = np.array([[0, 1, 2], [0, 0, 0], [1, 2, 0]])
    picks = [
        TicTacToeEnvironment(rng=np.random.RandomState(3))._opponent_play(board)
        for _ in range(2)
    ]
    assert picks[0] == picks[1]
    env = TicTacToeEnvironment(rng=np.random.RandomState(0))
    assert {env._opponent_play(board) for _ in range(100)} == {
        (0, 0),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 2),
    }


def test_get_and_set_state_replay_a_position() -> None:
    env = TicTacToeEnvironment()
    env.reset()
    env.step(np.array([1, 1]))
    saved = env.get_state()
    first = env.step(np.array([2, 2]))
    env.set_state(saved)
    np.testing.assert_array_equal(
        env.current_time_step().observation, saved.observation
    )
    again = env.step(np.array([2, 2]))
    np.testing.assert_array_equal(again.observation, first.observation)
    assert again.reward == first.reward and again.step_type == first.step_type
    # Returned observations are snapshots: later moves do not change them.
    np.testing.assert_array_equal(saved.observation, [[2, 0, 0], [0, 1, 0], [0, 0, 0]])


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.array([3, 0]), r"expected row and col in \[0, 2\], got \[3, 0\]"),
        (np.array([1]), r"expected an action of two integers"),
        (np.array([0.5, 1.0]), r"expected an action of two integers"),
    ],
)
def test_bad_actions_are_refused(action: np.ndarray, message: str) -> None:
    env = TicTacToeEnvironment()
    env.reset()
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_set_state_refuses_a_board_that_is_not_one() -> None:
    env = TicTacToeEnvironment()
    with pytest.raises(ValueError, match=r"shape \(3, 3\), got \(2, 3\)"):
        env.set_state(ts.restart(np.zeros((2, 3), np.int32)))
    with pytest.raises(ValueError, match="cells of 0"):
        env.set_state(ts.restart(np.full((3, 3), 5, np.int32)))
