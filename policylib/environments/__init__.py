"""Environments policies act in (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "batched_py_environment",
    "gym_wrapper",
    "parallel_py_environment",
    "py_environment",
    "random_py_environment",
    "random_tf_environment",
    "suite_gym",
    "suite_gymnasium",
    "test_envs",
    "tf_environment",
    "tf_py_environment",
    "tf_wrappers",
    "trajectory_replay",
    "utils",
    "wrappers",
)

_ATTRIBUTES = {
    "BatchedPyEnvironment": "batched_py_environment",
    "GymWrapper": "gym_wrapper",
    "ParallelPyEnvironment": "parallel_py_environment",
    "PyEnvironment": "py_environment",
    "RandomPyEnvironment": "random_py_environment",
    "RandomTFEnvironment": "random_tf_environment",
    "TFEnvironment": "tf_environment",
    "TFPyEnvironment": "tf_py_environment",
    "TrajectoryReplay": "trajectory_replay",
    "validate_py_environment": "utils",
}

# The wrappers (`TimeLimit`, `ActionRepeat`, ...) are exported by their
# module's `__all__`, imported on first use of one of them.
__all__ = [*_MODULES, *_ATTRIBUTES]

__getattr__, __dir__ = lazy_exports(
    __name__, globals(), _MODULES, _ATTRIBUTES, star_modules=("wrappers",)
)
