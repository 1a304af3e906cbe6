"""`TicTacToeEnvironment`: tic-tac-toe against a scripted opponent, with settable state.

The agent is player 1 and moves first; after each of its moves the opponent
(player 2) fills an empty cell, the first one in row-major order or a random
one. The state can be read and restored (`get_state` / `set_state`), which
tree searches such as MCTS need to explore moves from a saved position.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from policylib.environments import py_environment
from policylib.specs import array_spec
from policylib.trajectories import time_step as ts
from policylib.typing import types

__all__ = ["TicTacToeEnvironment"]

EMPTY, PLAYER, OPPONENT = 0, 1, 2

# Every row, column and diagonal as a (rows, cols) index pair into the board.
_LINES = (
    *(((r, r, r), (0, 1, 2)) for r in range(3)),
    *(((0, 1, 2), (c, c, c)) for c in range(3)),
    ((0, 1, 2), (0, 1, 2)),
    ((2, 1, 0), (0, 1, 2)),
)


def _frozen_reward(value: float) -> np.ndarray:
    """A read-only float32 scalar, so a shared class constant cannot be changed."""
    reward = np.asarray(value, dtype=np.float32)
    reward.setflags(write=False)
    return reward


class TicTacToeEnvironment(py_environment.PyEnvironment):
    """Tic-tac-toe on a 3x3 board of 0 (empty), 1 (agent) and 2 (opponent).

    Observations are the `int32` board; an action is the `(row, col)` the agent
    marks. The agent's win gives `REWARD_WIN`, the opponent's `REWARD_LOSS`,
    a draw or any unfinished position `REWARD_DRAW_OR_NOT_FINAL`. Marking an
    occupied cell ends the episode with the small `REWARD_ILLEGAL_MOVE`, small
    so that it barely moves value estimates. Stepping after the episode ended
    starts a new one.

    Args:
      rng: picks the opponent's cell among the empty ones; without it the
        opponent takes the first empty cell in row-major order.
      discount: the discount of every time step.
    """

    REWARD_WIN = _frozen_reward(1.0)
    REWARD_LOSS = _frozen_reward(-1.0)
    REWARD_DRAW_OR_NOT_FINAL = _frozen_reward(0.0)
    REWARD_ILLEGAL_MOVE = _frozen_reward(-0.001)

    def __init__(
        self, rng: np.random.RandomState | None = None, discount: types.Float = 1.0
    ):
        super().__init__(handle_auto_reset=True)
        self._rng = rng
        self._discount = np.asarray(discount, dtype=np.float32)
        self._states: np.ndarray | None = None

    def action_spec(self) -> array_spec.BoundedArraySpec:
        return array_spec.BoundedArraySpec((2,), np.int32, minimum=0, maximum=2)

    def observation_spec(self) -> array_spec.BoundedArraySpec:
        return array_spec.BoundedArraySpec((3, 3), np.int32, minimum=0, maximum=2)

    def get_state(self) -> ts.TimeStep | None:
        """A copy of the current time step (None before the first reset), for `set_state`."""
        return copy.deepcopy(self._current_time_step)

    def set_state(self, time_step: ts.TimeStep) -> None:
        """Continues the game from `time_step` (its observation is the board).

        Raises:
          ValueError: the observation is not a 3x3 board of 0, 1 and 2.
        """
        board = _as_board(time_step.observation, "set_state: time_step.observation")
        self._states = board
        self._current_time_step = time_step._replace(observation=board.copy())

    def _reset(self) -> ts.TimeStep:
        self._states = np.zeros((3, 3), np.int32)
        return self._time_step(ts.StepType.FIRST, np.asarray(0.0, dtype=np.float32))

    def _step(self, action: types.NestedArray) -> ts.TimeStep:
        cell = _as_cell(action)
        board = self._states
        assert board is not None  # set by `_reset`, which `step` runs first
        if board[cell] != EMPTY:
            return self._time_step(ts.StepType.LAST, self.REWARD_ILLEGAL_MOVE)
        board[cell] = PLAYER
        is_final, reward = self._check_states(board)
        if not is_final:
            board[self._opponent_play(board)] = OPPONENT
            is_final, reward = self._check_states(board)
        step_type = ts.StepType.LAST if is_final else ts.StepType.MID
        return self._time_step(step_type, reward)

    def _time_step(self, step_type: np.ndarray, reward: np.ndarray) -> ts.TimeStep:
        """A time step showing a copy of the board (later moves do not alter it)."""
        assert self._states is not None
        return ts.TimeStep(step_type, reward, self._discount, self._states.copy())

    def _legal_actions(self, states: types.Array) -> list[tuple[int, int]]:
        """The empty cells of `states` as `(row, col)`, in row-major order."""
        rows, cols = np.nonzero(np.asarray(states) == EMPTY)
        return [(int(r), int(c)) for r, c in zip(rows, cols)]

    def _opponent_play(self, states: types.Array) -> tuple[int, int]:
        """The cell the opponent marks on `states`.

        Raises:
          RuntimeError: the board has no empty cell.
        """
        actions = self._legal_actions(states)
        if not actions:
            raise RuntimeError(
                f"The opponent has no empty cell to play on: board {np.asarray(states).tolist()}."
            )
        index = self._rng.randint(len(actions)) if self._rng is not None else 0
        return actions[index]

    def _check_states(self, states: types.Array) -> tuple[bool, np.ndarray]:
        """`(whether the game is over, the agent's reward)` for the board `states`.

        A full line of 1s is a win, one of 2s a loss (the agent's line is
        checked first); a full board without either is a draw.
        """
        board = np.asarray(states)
        lines = [board[rows, cols].tolist() for rows, cols in _LINES]
        if [PLAYER] * 3 in lines:
            return True, self.REWARD_WIN
        if [OPPONENT] * 3 in lines:
            return True, self.REWARD_LOSS
        is_full = not np.any(board == EMPTY)
        return is_full, self.REWARD_DRAW_OR_NOT_FINAL


def _as_board(value: Any, what: str) -> np.ndarray:
    """`value` as a fresh int32 3x3 board; ValueError naming `what` if it is not one."""
    board = np.asarray(value)
    if board.shape != (3, 3):
        raise ValueError(
            f"{what}: expected a board of shape (3, 3), got {board.shape}."
        )
    if not np.isin(board, (EMPTY, PLAYER, OPPONENT)).all():
        raise ValueError(
            f"{what}: expected cells of 0 (empty), 1 or 2, got {board.tolist()}."
        )
    return board.astype(np.int32)


def _as_cell(action: types.NestedArray) -> tuple[int, int]:
    """`action` as a `(row, col)` index; ValueError unless it is two ints in [0, 2]."""
    cell = np.asarray(action)
    if cell.shape != (2,) or cell.dtype.kind not in "iu":
        raise ValueError(
            "TicTacToeEnvironment: expected an action of two integers (row, col), "
            f"got {cell.tolist()!r} (shape {cell.shape}, dtype {cell.dtype})."
        )
    if not np.all((cell >= 0) & (cell <= 2)):
        raise ValueError(
            f"TicTacToeEnvironment: expected row and col in [0, 2], got {cell.tolist()}."
        )
    return int(cell[0]), int(cell[1])
