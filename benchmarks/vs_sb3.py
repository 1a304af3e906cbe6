"""Training speed side by side with Stable-Baselines3 on identical settings.

    .venv/bin/python benchmarks/vs_sb3.py --sb3-python /path/to/sb3-venv/bin/python \
        --rounds 1 --jit --md sb3.md
    .venv/bin/python benchmarks/vs_sb3.py --worker policylib --algo dqn   # one run

Stable-Baselines3 (PyTorch) runs in its own virtual environment (never a dependency of
policylib): `python -m venv sb3 && sb3/bin/pip install torch==2.13.0 stable-baselines3`.
Each run is a fresh process pinned to one CPU (both libraries also told to use one
thread), and the libraries alternate, so that a slow spell of the shared machine hits
both. policylib runs the loop TF-Agents' tutorials teach: a `DynamicStepDriver` under
`common.function` collecting into a `TFUniformReplayBuffer`, `common.function(agent.train)`
fed by `iter(replay_buffer.as_dataset(...))` (DQN, SAC), or `gather_all` + `clear` (PPO).

Settings, the same in both (RL-Zoo's tuned hyperparameters; where the libraries mean
different things by a name, the policylib value that does the same work is used):

- DQN, CartPole-v1: MLP 256-256, Adam 2.3e-3, batch 64, γ 0.99, Huber loss, buffer
  100,000, 1,000 uniformly random steps first, then every 256 env steps 128 gradient
  steps; ε from 1 to 0.04 over the first 16 % of the env steps; the target network is
  refreshed once per round of 128 gradient steps (SB3's `target_update_interval=10`
  counts env steps, and no gradient step happens between rounds); gradients clipped at
  10 (SB3 by global norm, TF-Agents' DqnAgent per tensor).
- SAC, Pendulum-v1: actor and critics MLP 256-256, Adam 1e-3 (actor, critics and
  entropy coefficient, target entropy -1), batch 256, τ 0.005, γ 0.99, 1,000 random
  steps, then one gradient step per env step.
- PPO, CartPole-v1 with 8 environments stepped in turn in one process (SB3's
  `DummyVecEnv`, policylib's `BatchedPyEnvironment`): separate actor and value MLPs 64-64
  (tanh), 32 steps per environment per iteration, 20 epochs of one batch of 256, clip
  0.2, GAE λ 0.8, γ 0.98, Adam 1e-3, value coefficient 0.5, no entropy bonus, gradient
  global norm 0.5 (RL-Zoo's linear decays of the learning rate and clip are left out:
  TF-Agents' PPO has no clip schedule).

Each run reports wall and CPU seconds (model construction to the end of training),
collection env steps/s (time inside collection only, every call), gradient steps/s (time
inside training, the first call left out) and the first training call's seconds (tracing,
for policylib). Collection by the learned policy (after DQN's and SAC's random steps) is
also reported as gradient steps are: its first call's seconds (policylib traces the
driver there) apart from the later calls' steps/s. `--jit` adds a third contender: the
same policylib loop with `common.function(agent.train, jit_compile=True)` (XLA), an
opt-in a user writes.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

ALGOS = ("dqn", "sac", "ppo")


@dataclass
class Settings:
    """Sizes of one run (`--quick` divides the step counts by 5)."""

    dqn_steps: int = 20_000
    dqn_learning_starts: int = 1_000
    dqn_train_freq: int = 256
    dqn_gradient_steps: int = 128
    sac_steps: int = 3_000
    sac_learning_starts: int = 1_000
    ppo_iterations: int = 60
    seed: int = 0
    jit: bool = False  # policylib: `common.function(agent.train, jit_compile=True)`

    def quick(self) -> Settings:
        return dataclasses.replace(
            self,
            dqn_steps=self.dqn_steps // 5,
            sac_steps=self.sac_learning_starts + 400,
            ppo_iterations=self.ppo_iterations // 5,
        )


@dataclass
class Timer:
    """Seconds spent inside collection and inside training, and what they did."""

    collect_s: float = 0.0
    collect_cpu_s: float = 0.0
    env_steps: int = 0
    train_s: float = 0.0
    train_cpu_s: float = 0.0
    gradient_steps: int = 0
    first_train_s: float | None = None
    # Collection by the learned policy (after the random steps): its first call
    # (tracing, for policylib) apart from the later ones.
    first_policy_collect_s: float | None = None
    later_policy_collect_s: float = 0.0
    later_policy_steps: int = 0
    end: tuple[float, float] | None = None

    def collected(self, seconds: float, cpu_s: float, steps: int, policy: bool) -> None:
        """One collection call: `steps` env steps, by the learned policy or not."""
        self.collect_s += seconds
        self.collect_cpu_s += cpu_s
        self.env_steps += steps
        if not policy:
            return
        if self.first_policy_collect_s is None:
            self.first_policy_collect_s = seconds
        else:
            self.later_policy_collect_s += seconds
            self.later_policy_steps += steps

    def stop(self) -> None:
        """The end of training: wall and CPU clocks, before objects are torn down
        (deleting a tf.data iterator with prefetch has idled for seconds)."""
        self.end = (time.perf_counter(), time.process_time())

    def result(self, wall_s: float, cpu_s: float) -> dict:
        later_steps = self.gradient_steps - 1
        later_s = self.train_s - (self.first_train_s or 0.0)
        return {
            "wall_s": round(wall_s, 2),
            "cpu_s": round(cpu_s, 2),
            "env_steps": self.env_steps,
            "collect_steps_per_s": round(self.env_steps / self.collect_s, 1),
            "gradient_steps": self.gradient_steps,
            "gradient_steps_per_s": round(later_steps / later_s, 1)
            if later_s > 0
            else None,
            "first_train_s": round(self.first_train_s or 0.0, 3),
            "first_policy_collect_s": round(self.first_policy_collect_s or 0.0, 3),
            "later_policy_steps_per_s": round(
                self.later_policy_steps / self.later_policy_collect_s, 1
            )
            if self.later_policy_collect_s > 0
            else None,
            "collect_cpu_share": round(self.collect_cpu_s / self.collect_s, 2),
            "train_cpu_share": round(self.train_cpu_s / self.train_s, 2),
        }


def pin_one_cpu() -> None:
    """One CPU for the whole process (tf.data and TF's pools included)."""
    cpus = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cpus[-1]})
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = "1"


# --------------------------------------------------------------------------- policylib


def policylib_run(algo: str, cfg: Settings) -> dict:
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import policylib  # noqa: F401  (imports before the clock starts)

    tf.keras.utils.set_random_seed(cfg.seed)
    timer = Timer()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    {"dqn": policylib_dqn, "sac": policylib_sac, "ppo": policylib_ppo}[algo](cfg, timer)
    assert timer.end is not None
    wall, cpu = timer.end[0] - wall0, timer.end[1] - cpu0
    return {
        "lib": "policylib+XLA" if cfg.jit else "policylib",
        "version": f"policylib {policylib.__version__}, TF {tf.__version__}",
        **timer.result(wall, cpu),
    }


def _timed_train(timer: Timer, train, iterator, steps: int) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    if timer.first_train_s is None:
        experience, _ = next(iterator)
        train(experience)
        timer.first_train_s = time.perf_counter() - start
        steps -= 1
        timer.gradient_steps += 1
    for _ in range(steps):
        experience, _ = next(iterator)
        train(experience)
    timer.gradient_steps += steps
    timer.train_s += time.perf_counter() - start
    timer.train_cpu_s += time.process_time() - cpu


def _timed_collect(timer: Timer, run, steps: int, policy: bool) -> None:
    start, cpu = time.perf_counter(), time.process_time()
    run()
    seconds = time.perf_counter() - start
    timer.collected(seconds, time.process_time() - cpu, steps, policy)


def policylib_dqn(cfg: Settings, timer: Timer) -> None:
    import tensorflow as tf

    from policylib.agents.dqn import dqn_agent
    from policylib.drivers import dynamic_step_driver
    from policylib.environments import suite_gym, tf_py_environment
    from policylib.metrics import tf_metrics
    from policylib.networks import q_network
    from policylib.policies import random_tf_policy
    from policylib.replay_buffers import tf_uniform_replay_buffer
    from policylib.utils import common

    env = tf_py_environment.TFPyEnvironment(suite_gym.load("CartPole-v1"))
    env_steps = tf_metrics.EnvironmentSteps()
    explore_steps = 0.16 * cfg.dqn_steps

    def epsilon():
        done = tf.cast(env_steps.result(), tf.float32) / explore_steps
        return tf.maximum(0.04, 1.0 - 0.96 * done)

    agent = dqn_agent.DqnAgent(
        env.time_step_spec(),
        env.action_spec(),
        q_network=q_network.QNetwork(
            env.observation_spec(), env.action_spec(), fc_layer_params=(256, 256)
        ),
        optimizer=tf.keras.optimizers.Adam(2.3e-3),
        epsilon_greedy=epsilon,
        target_update_period=cfg.dqn_gradient_steps,
        td_errors_loss_fn=common.element_wise_huber_loss,
        gamma=0.99,
        gradient_clipping=10.0,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=1, max_length=100_000
    )
    observers = [buffer.add_batch, env_steps]
    freq = cfg.dqn_train_freq
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env, agent.collect_policy, observers, num_steps=freq
        ).run
    )
    warmup = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env,
            random_tf_policy.RandomTFPolicy(env.time_step_spec(), env.action_spec()),
            observers,
            num_steps=freq,
        ).run
    )
    train = common.function(agent.train, jit_compile=cfg.jit or None)
    iterator = iter(
        buffer.as_dataset(
            num_parallel_calls=3, sample_batch_size=64, num_steps=2
        ).prefetch(3)
    )
    done = 0
    while done < cfg.dqn_steps:
        learned = done >= cfg.dqn_learning_starts
        _timed_collect(timer, collect if learned else warmup, freq, learned)
        done += freq
        if done > cfg.dqn_learning_starts:
            _timed_train(timer, train, iterator, cfg.dqn_gradient_steps)
    timer.stop()


def policylib_sac(cfg: Settings, timer: Timer) -> None:
    import tensorflow as tf

    from policylib.agents.ddpg import critic_network
    from policylib.agents.sac import sac_agent, tanh_normal_projection_network
    from policylib.drivers import dynamic_step_driver
    from policylib.environments import suite_gym, tf_py_environment
    from policylib.networks import actor_distribution_network
    from policylib.policies import random_tf_policy
    from policylib.replay_buffers import tf_uniform_replay_buffer
    from policylib.utils import common

    env = tf_py_environment.TFPyEnvironment(suite_gym.load("Pendulum-v1"))
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    agent = sac_agent.SacAgent(
        env.time_step_spec(),
        act_spec,
        actor_network=actor_distribution_network.ActorDistributionNetwork(
            obs_spec,
            act_spec,
            fc_layer_params=(256, 256),
            continuous_projection_net=(
                tanh_normal_projection_network.TanhNormalProjectionNetwork
            ),
        ),
        critic_network=critic_network.CriticNetwork(
            (obs_spec, act_spec), joint_fc_layer_params=(256, 256)
        ),
        actor_optimizer=tf.keras.optimizers.Adam(1e-3),
        critic_optimizer=tf.keras.optimizers.Adam(1e-3),
        alpha_optimizer=tf.keras.optimizers.Adam(1e-3),
        target_update_tau=0.005,
        target_update_period=1,
        td_errors_loss_fn=tf.math.squared_difference,
        gamma=0.99,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=1, max_length=100_000
    )
    warmup = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env,
            random_tf_policy.RandomTFPolicy(env.time_step_spec(), act_spec),
            [buffer.add_batch],
            num_steps=cfg.sac_learning_starts,
        ).run
    )
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env, agent.collect_policy, [buffer.add_batch], num_steps=1
        ).run
    )
    train = common.function(agent.train, jit_compile=cfg.jit or None)
    iterator = iter(
        buffer.as_dataset(
            num_parallel_calls=3, sample_batch_size=256, num_steps=2
        ).prefetch(3)
    )
    _timed_collect(timer, warmup, cfg.sac_learning_starts, False)
    for _ in range(cfg.sac_steps - cfg.sac_learning_starts):
        _timed_collect(timer, collect, 1, True)
        _timed_train(timer, train, iterator, 1)
    timer.stop()


def policylib_ppo(cfg: Settings, timer: Timer) -> None:
    import tensorflow as tf

    from policylib.agents.ppo import ppo_clip_agent
    from policylib.drivers import dynamic_step_driver
    from policylib.environments import (
        batched_py_environment,
        suite_gym,
        tf_py_environment,
    )
    from policylib.networks import actor_distribution_network, value_network
    from policylib.replay_buffers import tf_uniform_replay_buffer
    from policylib.utils import common

    num_envs, n_steps = 8, 32
    env = tf_py_environment.TFPyEnvironment(
        batched_py_environment.BatchedPyEnvironment(
            [suite_gym.load("CartPole-v1") for _ in range(num_envs)],
            multithreading=False,  # in turn, as DummyVecEnv (threads: +200 us a step)
        )
    )
    obs_spec, act_spec = env.observation_spec(), env.action_spec()
    agent = ppo_clip_agent.PPOClipAgent(
        env.time_step_spec(),
        act_spec,
        optimizer=tf.keras.optimizers.Adam(1e-3),
        actor_net=actor_distribution_network.ActorDistributionNetwork(
            obs_spec, act_spec, fc_layer_params=(64, 64), activation_fn=tf.nn.tanh
        ),
        value_net=value_network.ValueNetwork(
            obs_spec, fc_layer_params=(64, 64), activation_fn=tf.nn.tanh
        ),
        importance_ratio_clipping=0.2,
        lambda_value=0.8,
        discount_factor=0.98,
        entropy_regularization=0.0,
        value_pred_loss_coef=0.5,
        num_epochs=20,
        use_gae=True,
        normalize_observations=False,
        normalize_rewards=False,
        gradient_clipping=0.5,
        train_step_counter=tf.Variable(0, dtype=tf.int64),
    )
    agent.initialize()
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=num_envs, max_length=n_steps
    )
    collect = common.function(
        dynamic_step_driver.DynamicStepDriver(
            env, agent.collect_policy, [buffer.add_batch], num_steps=num_envs * n_steps
        ).run
    )
    train = common.function(agent.train, jit_compile=cfg.jit or None)
    for _ in range(cfg.ppo_iterations):
        _timed_collect(timer, collect, num_envs * n_steps, True)
        start, cpu = time.perf_counter(), time.process_time()
        train(buffer.gather_all())
        buffer.clear()
        spent = time.perf_counter() - start
        timer.train_cpu_s += time.process_time() - cpu
        if timer.first_train_s is None:
            timer.first_train_s = spent
        timer.train_s += spent
        timer.gradient_steps += 20
    timer.stop()


# --------------------------------------------------------------------------- SB3


def sb3_run(algo: str, cfg: Settings) -> dict:
    import gymnasium as gym
    import stable_baselines3 as sb3
    import torch

    torch.set_num_threads(1)
    timer = Timer()
    wall0, cpu0 = time.perf_counter(), time.process_time()
    if algo == "dqn":
        model = sb3.DQN(
            "MlpPolicy",
            gym.make("CartPole-v1"),
            learning_rate=2.3e-3,
            batch_size=64,
            buffer_size=100_000,
            learning_starts=cfg.dqn_learning_starts,
            gamma=0.99,
            target_update_interval=10,
            train_freq=cfg.dqn_train_freq,
            gradient_steps=cfg.dqn_gradient_steps,
            exploration_fraction=0.16,
            exploration_final_eps=0.04,
            policy_kwargs={"net_arch": [256, 256]},
            seed=cfg.seed,
            device="cpu",
        )
        total = cfg.dqn_steps
    elif algo == "sac":
        model = sb3.SAC(
            "MlpPolicy",
            gym.make("Pendulum-v1"),
            learning_rate=1e-3,
            batch_size=256,
            buffer_size=100_000,
            learning_starts=cfg.sac_learning_starts,
            tau=0.005,
            gamma=0.99,
            train_freq=1,
            gradient_steps=1,
            policy_kwargs={"net_arch": [256, 256]},
            seed=cfg.seed,
            device="cpu",
        )
        total = cfg.sac_steps
    else:
        from stable_baselines3.common.env_util import make_vec_env

        model = sb3.PPO(
            "MlpPolicy",
            make_vec_env("CartPole-v1", n_envs=8, seed=cfg.seed),
            n_steps=32,
            batch_size=256,
            n_epochs=20,
            gae_lambda=0.8,
            gamma=0.98,
            ent_coef=0.0,
            vf_coef=0.5,
            learning_rate=1e-3,
            clip_range=0.2,
            max_grad_norm=0.5,
            seed=cfg.seed,
            device="cpu",
        )
        total = cfg.ppo_iterations * 8 * 32
    collect_rollouts, train = model.collect_rollouts, model.train

    # Off-policy SB3 acts at random while num_timesteps < learning_starts.
    learning_starts = getattr(model, "learning_starts", 0)

    def timed_collect(*args, **kwargs):
        start, before = time.perf_counter(), model.num_timesteps
        cpu = time.process_time()
        out = collect_rollouts(*args, **kwargs)
        seconds = time.perf_counter() - start
        steps = model.num_timesteps - before
        policy = before >= learning_starts
        timer.collected(seconds, time.process_time() - cpu, steps, policy)
        return out

    def timed_train(*args, **kwargs):
        start, cpu = time.perf_counter(), time.process_time()
        if algo == "ppo":
            train()
            steps = model.n_epochs
        else:
            steps = kwargs.get("gradient_steps", args[0] if args else 1)
            batch = kwargs.get("batch_size", model.batch_size)
            if timer.first_train_s is None:
                train(gradient_steps=1, batch_size=batch)
                timer.first_train_s = time.perf_counter() - start
                if steps > 1:
                    train(gradient_steps=steps - 1, batch_size=batch)
            else:
                train(gradient_steps=steps, batch_size=batch)
        spent = time.perf_counter() - start
        timer.train_cpu_s += time.process_time() - cpu
        if timer.first_train_s is None:
            timer.first_train_s = spent
        timer.train_s += spent
        timer.gradient_steps += steps

    model.collect_rollouts, model.train = timed_collect, timed_train
    model.learn(total_timesteps=total)
    timer.stop()
    assert timer.end is not None
    wall, cpu = timer.end[0] - wall0, timer.end[1] - cpu0
    return {
        "lib": "sb3",
        "version": f"SB3 {sb3.__version__}, torch {torch.__version__}",
        **timer.result(wall, cpu),
    }


# --------------------------------------------------------------------------- driver


def worker(lib: str, algo: str, cfg: Settings) -> None:
    pin_one_cpu()
    run = policylib_run if lib == "policylib" else sb3_run
    result = {"algo": algo, **run(algo, cfg)}
    print("RESULT " + json.dumps(result), flush=True)


def spawn(python: str, lib: str, algo: str, quick: bool, jit: bool = False) -> dict:
    cmd = [python, os.path.abspath(__file__), "--worker", lib, "--algo", algo]
    cmd += ["--quick"] if quick else []
    cmd += ["--jit"] if jit else []
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{lib} {algo} failed:\n{out.stderr[-3000:]}")


RATIOS = (
    ("wall_s", "wall (s)"),
    ("cpu_s", "CPU (s)"),
    ("collect_steps_per_s", "collection steps/s"),
    ("gradient_steps_per_s", "gradient steps/s"),
    ("first_train_s", "first train call (s)"),
    ("first_policy_collect_s", "first policy collect call (s)"),
    ("later_policy_steps_per_s", "policy collection steps/s, later calls"),
)


def markdown(results: list[dict], rounds: int) -> str:
    xla = any(r["lib"] == "policylib+XLA" for r in results)
    lines = [
        f"{rounds} alternating round(s), medians; one pinned CPU per run; "
        f"{platform.machine()}, Python {platform.python_version()}; "
        + "; ".join(sorted({r["version"] for r in results})),
        "",
        "| algo | measure | policylib | SB3 | policylib / SB3 |"
        + (" with XLA train | XLA / SB3 |" if xla else ""),
        "|---|---|---:|---:|---:|" + ("---:|---:|" if xla else ""),
    ]

    def median(lib: str, algo: str, key: str) -> float | None:
        values = [
            r[key]
            for r in results
            if r["algo"] == algo and r["lib"] == lib and r.get(key) is not None
        ]
        return statistics.median(values) if values else None

    for algo in ALGOS:
        for key, label in RATIOS:
            a, b = median("policylib", algo, key), median("sb3", algo, key)
            if a is None or b is None:
                continue
            x = median("policylib+XLA", algo, key)
            cells = [f"{a:,.2f}", f"{b:,.2f}", f"{a / b:.2f}x" if b else "-"]
            if xla:
                cells += (
                    ["-", "-"]
                    if x is None
                    else [f"{x:,.2f}", f"{x / b:.2f}x" if b else "-"]
                )
            lines.append(f"| {algo} | {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", choices=["policylib", "sb3"])
    parser.add_argument("--algo", choices=ALGOS, action="append")
    parser.add_argument("--sb3-python", help="python of a venv with SB3 and torch")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="steps / 5 (smoke run)")
    parser.add_argument(
        "--jit",
        action="store_true",
        help="also run policylib with common.function(agent.train, jit_compile=True)",
    )
    parser.add_argument("--md", help="write the table here too")
    parser.add_argument("--json", help="write every run's figures here")
    args = parser.parse_args()
    algos = args.algo or list(ALGOS)
    cfg = Settings(jit=args.jit and bool(args.worker))
    cfg = cfg.quick() if args.quick else cfg
    if args.worker:
        for algo in algos:
            worker(args.worker, algo, cfg)
        return
    if not args.sb3_python:
        parser.error("--sb3-python is needed to compare (or --worker for one run)")
    results = []
    for round_ in range(args.rounds):
        for algo in algos:
            runs = [("policylib", False), ("sb3", False)]
            runs += [("policylib", True)] if args.jit else []
            for lib, jit in runs if round_ % 2 == 0 else runs[::-1]:
                python = sys.executable if lib == "policylib" else args.sb3_python
                result = spawn(python, lib, algo, args.quick, jit)
                results.append(result)
                print(json.dumps(result), flush=True)
    table = markdown(results, args.rounds)
    print(table)
    if args.md:
        with open(args.md, "w") as f:
            f.write(table)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
