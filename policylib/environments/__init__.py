"""Environments policies act in (loaded on first access)."""

from __future__ import annotations

from policylib._lazy import lazy_package

# The wrappers (`TimeLimit`, `ActionRepeat`, ...) are exported by their
# module's `__all__`, imported on first use of one of them.
__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        atari_preprocessing atari_wrappers batched_py_environment dm_control_wrapper gym_wrapper parallel_py_environment
        py_to_dm_wrapper suite_atari suite_bsuite suite_dm_control suite_pybullet
        py_environment random_py_environment random_tf_environment suite_gym
        suite_envpool suite_gymnasium suite_mujoco test_envs tf_environment
        tf_py_environment tf_wrappers trajectory_replay utils vector_env_wrapper wrappers
    """,
    attributes="""
        batched_py_environment: BatchedPyEnvironment
        gym_wrapper: GymWrapper
        parallel_py_environment: ParallelPyEnvironment
        py_environment: PyEnvironment
        random_py_environment: RandomPyEnvironment
        random_tf_environment: RandomTFEnvironment
        tf_environment: TFEnvironment
        tf_py_environment: TFPyEnvironment
        trajectory_replay: TrajectoryReplay
        utils: validate_py_environment
        vector_env_wrapper: VectorEnvWrapper
    """,
    star_modules=("wrappers",),
)
