"""DQN training throughput: `agent.train` steps/s and collection steps/s.

    python benchmarks/dqn_training_bench.py --lib policylib
    TF_USE_LEGACY_KERAS=1 <tf-agents venv>/bin/python benchmarks/dqn_training_bench.py --lib tf_agents

The same configuration in either library (DqnAgent, QNetwork (100, 50), Adam,
batch 64 of 2-step trajectories from a TFUniformReplayBuffer; collection: a
DynamicStepDriver of the collect policy on CartPole in a TFPyEnvironment, one
step per call, both under `common.function`). Prints one JSON line with the
median rate over `--trials` timed trials. The CartPole environment is a small
NumPy reimplementation with the same dynamics, so that both libraries (TF-Agents
needs gym 0.26, policylib uses Gymnasium) step the same environment code.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import time

import numpy as np


def cartpole_env(lib: str):
    """CartPole-v1's dynamics as a PyEnvironment of `lib` (no Gym needed)."""
    py_environment = importlib.import_module(f"{lib}.environments.py_environment")
    array_spec = importlib.import_module(f"{lib}.specs.array_spec")
    ts = importlib.import_module(f"{lib}.trajectories.time_step")

    class CartPole(py_environment.PyEnvironment):
        def __init__(self, seed: int = 0):
            super().__init__()
            self._rng = np.random.default_rng(seed)
            self._state = np.zeros(4)
            self._steps = 0

        def observation_spec(self):
            return array_spec.ArraySpec((4,), np.float32, "observation")

        def action_spec(self):
            return array_spec.BoundedArraySpec((), np.int64, 0, 1, "action")

        def _reset(self):
            self._state = self._rng.uniform(-0.05, 0.05, 4)
            self._steps = 0
            return ts.restart(self._state.astype(np.float32))

        def _step(self, action):
            if self._current_time_step.is_last():
                return self.reset()
            x, x_dot, theta, theta_dot = self._state
            force = 10.0 if int(action) == 1 else -10.0
            cos, sin = np.cos(theta), np.sin(theta)
            temp = (force + 0.05 * theta_dot**2 * sin) / 1.1
            theta_acc = (9.8 * sin - cos * temp) / (
                0.5 * (4.0 / 3.0 - 0.1 * cos**2 / 1.1)
            )
            x_acc = temp - 0.05 * theta_acc * cos / 1.1
            self._state = np.array(
                [
                    x + 0.02 * x_dot,
                    x_dot + 0.02 * x_acc,
                    theta + 0.02 * theta_dot,
                    theta_dot + 0.02 * theta_acc,
                ]
            )
            self._steps += 1
            observation = self._state.astype(np.float32)
            if abs(self._state[0]) > 2.4 or abs(self._state[2]) > 0.2095:
                return ts.termination(observation, np.float32(1.0))
            if self._steps >= 500:
                return ts.truncation(observation, np.float32(1.0))
            return ts.transition(observation, np.float32(1.0))

    return CartPole()


def timed(fn, trials: int, calls: int) -> float:
    """Median calls per second over `trials` runs of `calls` calls."""
    rates = []
    for _ in range(trials):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        rates.append(calls / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lib", choices=["policylib", "tf_agents"], default="policylib"
    )
    parser.add_argument("--trials", type=int, default=7)
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mod = lambda name: importlib.import_module(f"{args.lib}.{name}")  # noqa: E731
    dqn_agent = mod("agents.dqn.dqn_agent")
    q_network = mod("networks.q_network")
    tf_py_environment = mod("environments.tf_py_environment")
    tf_uniform_replay_buffer = mod("replay_buffers.tf_uniform_replay_buffer")
    dynamic_step_driver = mod("drivers.dynamic_step_driver")
    common = mod("utils.common")

    tf.keras.utils.set_random_seed(0)
    env = tf_py_environment.TFPyEnvironment(cartpole_env(args.lib))
    net = q_network.QNetwork(
        env.observation_spec(), env.action_spec(), fc_layer_params=(100, 50)
    )
    agent = dqn_agent.DqnAgent(
        env.time_step_spec(),
        env.action_spec(),
        q_network=net,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        td_errors_loss_fn=common.element_wise_squared_loss,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=env.batch_size, max_length=100_000
    )
    driver = dynamic_step_driver.DynamicStepDriver(
        env, agent.collect_policy, observers=[buffer.add_batch], num_steps=1
    )
    collect = common.function(driver.run)
    state = {"time_step": None, "policy_state": None}

    def collect_step() -> None:
        state["time_step"], state["policy_state"] = collect(
            state["time_step"], state["policy_state"]
        )

    for _ in range(1_000):
        collect_step()
    iterator = iter(buffer.as_dataset(sample_batch_size=64, num_steps=2).prefetch(3))
    train = common.function(agent.train)

    def train_step() -> None:
        experience, _ = next(iterator)
        train(experience)

    for _ in range(50):  # warm up: traces, optimizer slots
        train_step()
        collect_step()
    result = {
        "lib": args.lib,
        "keras": "tf-keras"
        if os.environ.get("TF_USE_LEGACY_KERAS") == "1"
        else "Keras 3",
        "tf": tf.__version__,
        "python": platform.python_version(),
        "train_steps_per_s": round(timed(train_step, args.trials, args.calls), 1),
        "collect_steps_per_s": round(timed(collect_step, args.trials, args.calls), 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
