"""Example environments: tic-tac-toe and a velocity-masked CartPole (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_package

# `masked_cartpole` needs Gymnasium and registers its ids when imported.
__getattr__, __dir__ = lazy_package(
    globals(),
    modules="masked_cartpole tic_tac_toe_environment",
    attributes="tic_tac_toe_environment: TicTacToeEnvironment",
)
