"""The NumPy side imports and runs in a process where `import tensorflow` raises."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Raises on any import of TensorFlow (or of what only comes with it).
_BLOCK = textwrap.dedent(
    """
    import sys
    class _NoTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in (
                "tensorflow", "tensorflow_probability", "tf_keras", "keras"
            ):
                raise ImportError("TensorFlow is not available here: " + name)
    sys.meta_path.insert(0, _NoTensorFlow())
    """
)

NUMPY_SIDE = [
    "policylib.specs.array_spec",
    "policylib.export.spec_json",
    "policylib.trajectories.time_step",
    "policylib.trajectories.policy_step",
    "policylib.trajectories.trajectory",
    "policylib.typing.types",
    "policylib.policies.py_policy",
    "policylib.policies.random_py_policy",
    "policylib.policies.scripted_py_policy",
    "policylib.policies.py_epsilon_greedy_policy",
    "policylib.export.litert_policy",
    "policylib.environments.py_environment",
    "policylib.environments.batched_py_environment",
    "policylib.environments.wrappers",
    "policylib.environments.suite_gym",
    "policylib.drivers.py_driver",
    "policylib.metrics.py_metrics",
    "policylib.eval.metric_utils",
    "policylib.export.litert_files",
    "policylib.reverb",
    "policylib.reverb.client",
]


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", _BLOCK + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )


def test_numpy_side_modules_import_without_tensorflow():
    out = _run(
        f"""
        import importlib
        for name in {NUMPY_SIDE!r}:
            importlib.import_module(name)
        print("LOADED", sorted(m for m in sys.modules if m.startswith("tensorflow")))
        """
    )
    assert "LOADED []" in out.stdout, out.stderr[-3000:]


def test_py_policies_environments_and_metrics_run_without_tensorflow():
    pytest.importorskip("gymnasium")
    out = _run(
        """
        import numpy as np
        from policylib.drivers import py_driver
        from policylib.environments import suite_gym, wrappers
        from policylib.eval import metric_utils
        from policylib.metrics import py_metrics
        from policylib.policies import random_py_policy, py_epsilon_greedy_policy
        from policylib.specs import array_spec
        from policylib.trajectories import time_step as ts

        env = wrappers.TimeLimit(suite_gym.load("CartPole-v1"), 50)
        policy = random_py_policy.RandomPyPolicy(env.time_step_spec(), env.action_spec(), seed=1)
        greedy = py_epsilon_greedy_policy.EpsilonGreedyPolicy(policy, epsilon=0.5)
        metrics = [py_metrics.AverageReturnMetric(), py_metrics.NumberOfEpisodes()]
        result = metric_utils.compute(metrics, env, greedy, num_episodes=3, seed=0)
        driver = py_driver.PyDriver(env, policy, [], max_steps=20)
        driver.run(env.reset())
        try:
            policy.action(ts.restart(np.zeros(3, np.float32)))
        except ValueError as e:
            print("ERROR", e)
        print("RESULT", int(result["NumberOfEpisodes"]))
        print("LOADED", sorted(m for m in sys.modules if m.startswith("tensorflow")))
        """
    )
    assert "RESULT 3" in out.stdout, out.stderr[-3000:]
    assert "ERROR action: time_step.observation has shape (3,)" in out.stdout
    assert "LOADED []" in out.stdout


def test_litert_policy_evaluates_cartpole_without_tensorflow(tmp_path):
    pytest.importorskip("gymnasium")
    pytest.importorskip("ai_edge_litert")
    import tensorflow as tf

    from policylib.environments import suite_gym, tf_py_environment
    from policylib.eval import metric_utils
    from policylib.export import litert
    from policylib.metrics import py_metrics
    from policylib.networks import q_network
    from policylib.policies import greedy_policy, py_tf_eager_policy, q_policy

    py_env = suite_gym.load("CartPole-v1")
    env = tf_py_environment.TFPyEnvironment(py_env)
    tf.keras.utils.set_random_seed(0)
    net = q_network.QNetwork(
        env.observation_spec(), env.action_spec(), fc_layer_params=(32,)
    )
    policy = greedy_policy.GreedyPolicy(
        q_policy.QPolicy(env.time_step_spec(), env.action_spec(), q_network=net)
    )
    export_dir = litert.export(policy, tmp_path / "cartpole")
    metrics = [py_metrics.AverageReturnMetric(), py_metrics.EnvironmentSteps()]
    expected = metric_utils.compute(
        metrics,
        py_env,
        py_tf_eager_policy.PyTFEagerPolicy(policy),
        num_episodes=4,
        seed=7,
    )
    out = _run(
        f"""
        import json
        from policylib.drivers import py_driver
        from policylib.environments import suite_gym
        from policylib.eval import metric_utils
        from policylib.metrics import py_metrics
        from policylib.export import litert_policy

        env = suite_gym.load("CartPole-v1")
        policy = litert_policy.LiteRTPolicy({export_dir!r})
        steps = py_metrics.EnvironmentSteps()
        py_driver.PyDriver(env, policy, [steps], max_episodes=1).run(env.reset())
        metrics = [py_metrics.AverageReturnMetric(), py_metrics.EnvironmentSteps()]
        result = metric_utils.compute(metrics, env, policy, num_episodes=4, seed=7)
        print("RESULT", json.dumps({{k: float(v) for k, v in result.items()}}))
        print("DRIVER", int(steps.result()))
        print("LOADED", sorted(m for m in sys.modules if m.startswith("tensorflow")))
        """
    )
    assert "RESULT" in out.stdout, out.stderr[-3000:]
    line = next(x for x in out.stdout.splitlines() if x.startswith("RESULT"))
    got = json.loads(line.split(" ", 1)[1])
    assert got == {k: float(v) for k, v in expected.items()}
    assert "LOADED []" in out.stdout
    assert int(out.stdout.split("DRIVER ")[1].split()[0]) > 0
