"""Bandit train + act throughput on TF-Agents' v2 example set-ups: env steps per second.

    python benchmarks/bandit_bench.py --lib policylib
    TF_USE_LEGACY_KERAS=1 <tf-agents venv>/bin/python benchmarks/bandit_bench.py --lib tf_agents

One training loop is what `bandits/agents/examples/v2/trainer.py` does each loop,
without its checkpoint and metrics: the `DynamicStepDriver` acts `STEPS_PER_LOOP`
times on the batched environment into the trainer's replay buffer, the loop's
batch goes to `agent.train`, the buffer is cleared. The set-ups are the example
scripts' constants, the same in either library:

- `linucb`: `train_eval_stationary_linear.py --agent=LinUCB`: 15-dimensional
  contexts, 5 arms with sliding linear rewards, batch 8, 2 steps per loop, alpha 0.1.
- `per_arm_eps_greedy`: `train_eval_per_arm_stationary_linear.py --agent=epsGreedy`
  (common tower (40, 30), (30, 40), (40, 20)): 4 global and 5 per-arm features,
  7 arms, batch 16, 2 steps per loop, epsilon 0.01, Adam 0.05.

Each set-up runs the library's own trainer loop (`trainer`: eager, as the example
scripts run) and the same steps traced (`traced`: driver and `agent.train` under
`common.function`). Prints one JSON line: the median env steps per second
(loops × batch × steps per loop / s) over `--trials`.
"""

from __future__ import annotations

import argparse
import functools
import importlib
import json
import platform

import numpy as np
from dqn_training_bench import timed  # the same timing, beside this script

STEPS_PER_LOOP = 2


def _linucb(tf, mod):
    utilities = mod("bandits.environments.environment_utilities")
    stationary = mod("bandits.environments.stationary_stochastic_py_environment")
    lin_ucb_agent = mod("bandits.agents.lin_ucb_agent")
    batch, context_dim, num_actions = 8, 15, 5
    reward_fns = utilities.sliding_linear_reward_fn_generator(
        context_dim, num_actions, 0.01
    )
    env = stationary.StationaryStochasticPyEnvironment(
        functools.partial(
            utilities.context_sampling_fn, batch_size=batch, context_dim=context_dim
        ),
        reward_fns,
        batch_size=batch,
    )
    environment = mod("environments.tf_py_environment").TFPyEnvironment(env)
    agent = lin_ucb_agent.LinearUCBAgent(
        environment.time_step_spec(),
        environment.action_spec(),
        alpha=0.1,
        dtype=tf.float32,
    )
    return environment, agent


def _per_arm_eps_greedy(tf, mod):
    per_arm = mod("bandits.environments.stationary_stochastic_per_arm_py_environment")
    networks = mod("bandits.networks.global_and_arm_feature_network")
    eps_greedy = mod("bandits.agents.neural_epsilon_greedy_agent")
    info_fields = mod("policies.utils").InfoFields
    hidden = np.arange(9, dtype=np.float32)
    env = per_arm.StationaryStochasticPerArmPyEnvironment(
        lambda: np.random.randint(-10, 10, [4]).astype(np.float32),
        lambda: np.random.randint(-2, 3, [5]).astype(np.float32),
        7,
        lambda x: np.random.normal(np.dot(x, hidden), 1),
        batch_size=16,
    )
    environment = mod("environments.tf_py_environment").TFPyEnvironment(env)
    network = networks.create_feed_forward_common_tower_network(
        environment.observation_spec(), (40, 30), (30, 40), (40, 20)
    )
    agent = eps_greedy.NeuralEpsilonGreedyAgent(
        environment.time_step_spec(),
        environment.action_spec(),
        reward_network=network,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=0.05),
        epsilon=0.01,
        accepts_per_arm_features=True,
        emit_policy_info=info_fields.PREDICTED_REWARDS_MEAN,
    )
    return environment, agent


SETUPS = {"linucb": _linucb, "per_arm_eps_greedy": _per_arm_eps_greedy}


def training_loop(tf, mod, environment, agent, traced: bool):
    """One loop of the library's own bandit trainer, or the same steps traced.

    Untraced: `trainer._get_training_loop` (what `trainer.train` runs each loop,
    eagerly) on `trainer._get_replay_buffer`'s buffer. Traced: the driver's `run`
    and `agent.train` under `common.function`, reading the buffer with
    `gather_all`, in either library, so that both are timed on acting and training
    rather than on building `tf.data` pipelines.
    """
    trainer = mod("bandits.agents.examples.v2.trainer")
    dynamic_step_driver = mod("drivers.dynamic_step_driver")
    common = mod("utils.common")
    buffer = trainer._get_replay_buffer(
        agent.policy.trajectory_spec, environment.batch_size, STEPS_PER_LOOP, 1
    )
    driver = dynamic_step_driver.DynamicStepDriver(
        environment,
        agent.collect_policy,
        num_steps=STEPS_PER_LOOP * environment.batch_size,
        observers=[buffer.add_batch],
    )
    if not traced:
        loop = trainer._get_training_loop(driver, buffer, agent, STEPS_PER_LOOP, 1)
        return lambda: loop(train_step=0, metrics=[])
    run = common.function(driver.run)
    train = common.function(agent.train)

    def traced_loop() -> None:
        run()
        train(buffer.gather_all())
        buffer.clear()

    return traced_loop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--lib", choices=["policylib", "tf_agents"], default="policylib"
    )
    parser.add_argument("--trials", type=int, default=5)
    parser.add_argument("--loops", type=int, default=100)
    parser.add_argument("--setups", nargs="*", choices=SETUPS, default=list(SETUPS))
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mod = lambda name: importlib.import_module(f"{args.lib}.{name}")  # noqa: E731
    result = {
        "lib": args.lib,
        "keras": "tf-keras" if "tf_keras" in tf.keras.__name__ else "keras3",
        "tf": tf.__version__,
        "python": platform.python_version(),
        "trials": args.trials,
        "loops": args.loops,
    }
    for name in args.setups:
        for traced in (False, True):
            np.random.seed(0)
            tf.keras.utils.set_random_seed(0)
            environment, agent = SETUPS[name](tf, mod)
            loop = training_loop(tf, mod, environment, agent, traced)
            for _ in range(10):  # traces, builds the networks and optimizer slots
                loop()
            loops_per_s = timed(loop, args.trials, args.loops)
            steps = environment.batch_size * STEPS_PER_LOOP
            key = f"{name}_{'traced' if traced else 'trainer'}_env_steps_per_s"
            result[key] = round(loops_per_s * steps, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
