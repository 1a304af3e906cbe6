"""DQN on CartPole-v1 with Ray collection actors feeding one learner.

    python examples/distributed_dqn_cartpole.py --actors 2            # a local Ray, on 127.0.0.1
    python examples/distributed_dqn_cartpole.py --actors 8 --ray-address HEAD:6379
    python examples/distributed_dqn_cartpole.py --actors 0            # one process, for comparison

The learner owns the agent and a `TFUniformReplayBuffer` with a row per actor.
Each round, every actor (`policylib.distributed.RayCollector`) steps its own
CartPole `--steps-per-actor` times with the learner's collect policy; their
steps go into their rows at once (`whole_episodes=False`: the learner need not
wait for an episode to end), the agent takes one gradient step per
environment step collected, and the new weights (with the train step the
epsilon schedule reads) go back to the actors. `--actors 0` runs the same
agent the usual way, one environment step then one gradient step, so the
two learning curves (greedy return against environment steps) compare.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import tensorflow as tf

from policylib.agents.dqn import dqn_agent
from policylib.base import nest_utils
from policylib.drivers import py_driver
from policylib.environments import suite_gym
from policylib.eval import evaluate
from policylib.networks import q_network
from policylib.policies import py_tf_eager_policy
from policylib.replay_buffers import tf_uniform_replay_buffer
from policylib.specs import tensor_spec
from policylib.utils import common

ENV_NAME = "CartPole-v1"
EVAL_SEED = 10_000  # greedy evaluations run episodes EVAL_SEED + k
WARMUP_STEPS = 500  # environment steps before the first gradient step


def make_agent(seed: int, epsilon_decay_steps: int = 1_000) -> Any:
    """A DQN agent (64-64 Q-network, target copied every 200 steps, Huber loss), seeded."""
    tf.keras.utils.set_random_seed(seed)
    env = suite_gym.load(ENV_NAME)
    time_step_spec = tensor_spec.from_spec(env.time_step_spec())
    action_spec = tensor_spec.from_spec(env.action_spec())
    env.close()
    train_step = tf.Variable(0, dtype=tf.int64)
    epsilon = tf.keras.optimizers.schedules.PolynomialDecay(
        1.0, epsilon_decay_steps, end_learning_rate=0.05
    )
    agent = dqn_agent.DqnAgent(
        time_step_spec,
        action_spec,
        q_network=q_network.QNetwork(
            time_step_spec.observation, action_spec, fc_layer_params=(64, 64)
        ),
        optimizer=tf.keras.optimizers.Adam(1e-3),
        epsilon_greedy=lambda: epsilon(train_step),
        target_update_period=200,
        td_errors_loss_fn=common.element_wise_huber_loss,
        gamma=0.99,
        train_step_counter=train_step,
    )
    agent.initialize()
    return agent


def train(
    num_actors: int = 2,
    max_env_steps: int = 5_000,
    target_return: float | None = None,
    seed: int = 0,
    eval_every: int = 500,
    eval_episodes: int = 10,
    steps_per_actor: int = 10,
    ray_address: str | None = None,
    log: bool = True,
) -> dict[str, Any]:
    """Trains until `max_env_steps` (or the greedy return reaches `target_return`).

    Returns a summary: the learning curve `[(env_steps, greedy return)]`,
    `env_steps_to_target` (None if not reached), and timings.
    """
    agent = make_agent(seed)
    rows = max(num_actors, 1)
    buffer = tf_uniform_replay_buffer.TFUniformReplayBuffer(
        agent.collect_data_spec, batch_size=rows, max_length=50_000 // rows
    )

    @common.function
    def sample_and_train() -> Any:
        # Sampling in the learner's own step, not from a prefetching dataset:
        # a background prefetch reads the buffer at a moment set by thread
        # timing, so a seeded run's curve would depend on the machine's load.
        experience, _ = buffer.get_next(sample_batch_size=64, num_steps=2)
        return agent.train(experience)

    curve: list[tuple[int, float]] = []
    start = time.perf_counter()
    trained = 0

    def learn(env_steps: int) -> None:
        """One gradient step per environment step collected after the warm-up."""
        nonlocal trained
        while trained < env_steps - WARMUP_STEPS:
            sample_and_train()
            trained += 1

    def evaluated(env_steps: int) -> bool:
        """Adds a point to the curve; True once the target is reached."""
        result = evaluate(
            agent.policy, ENV_NAME, eval_episodes, seed=EVAL_SEED, progress=False
        )
        curve.append((env_steps, result.mean_return))
        if log:
            print(
                f"env steps {env_steps}: greedy return {result.mean_return:.1f} "
                f"({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
        return target_return is not None and result.mean_return >= target_return

    env_steps, next_eval, startup = 0, eval_every, 0.0
    if num_actors == 0:
        env = suite_gym.load(ENV_NAME)
        env.seed(seed)
        driver = py_driver.PyDriver(
            env,
            py_tf_eager_policy.PyTFEagerPolicy(agent.collect_policy),
            observers=[lambda t: buffer.add_batch(nest_utils.batch_nested_array(t))],
            max_steps=1,
        )
        time_step, state = env.reset(), ()
        while env_steps < max_env_steps:
            time_step, state = driver.run(time_step, state)
            env_steps += 1
            learn(env_steps)
            if env_steps >= next_eval:
                next_eval += eval_every
                if evaluated(env_steps):
                    break
        env.close()
    else:
        from policylib.distributed import RayCollector

        collector = RayCollector(
            ENV_NAME,
            agent.collect_policy,
            num_actors=num_actors,
            ray_address=ray_address,
            seed=seed,
            train_step=agent.train_step_counter,
            whole_episodes=False,
        )
        startup = time.perf_counter() - start
        with collector:
            while collector.env_steps < max_env_steps:
                collector.add_to(buffer, collector.collect(steps_per_actor))
                env_steps = collector.env_steps
                learn(env_steps)
                collector.update(agent.collect_policy)
                if env_steps >= next_eval:
                    next_eval += eval_every
                    if evaluated(env_steps):
                        break
    reached = [s for s, r in curve if target_return is not None and r >= target_return]
    return {
        "num_actors": num_actors,
        "env_steps": env_steps,
        "env_steps_to_target": reached[0] if reached else None,
        "target_return": target_return,
        "best_return": max((r for _, r in curve), default=None),
        "curve": curve,
        "startup_s": round(startup, 2),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--actors", type=int, default=2, help="0: one process")
    parser.add_argument("--env-steps", type=int, default=5_000)
    parser.add_argument("--target-return", type=float, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps-per-actor", type=int, default=10)
    parser.add_argument("--ray-address", default=None, help="HOST:PORT of a Ray head")
    parser.add_argument("--json", help="write the summary here")
    args = parser.parse_args()
    summary = train(
        num_actors=args.actors,
        max_env_steps=args.env_steps,
        target_return=args.target_return,
        seed=args.seed,
        steps_per_actor=args.steps_per_actor,
        ray_address=args.ray_address,
    )
    print(
        f"Best greedy return {summary['best_return']:.1f}; target reached at "
        f"{summary['env_steps_to_target']} environment steps."
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=1)


if __name__ == "__main__":
    main()
