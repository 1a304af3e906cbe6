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
- `ranking`: `train_eval_ranking.py` (defaults: cosine-distance policy, cascading
  feedback, ghost-action clicks): 1001 items, 5 slots, 50 global and 40 item
  features, batch 128, 2 steps per loop, common tower (40, 10), (40, 10),
  (20, 10), Adam 0.05; the buffer holds the slotted items in slate order (the
  script's `training_data_spec_transformation_fn`). The script's item sampler
  (a NumPy call per item: 128 x 1001 per step) takes ~95 % of this loop in
  either library, so `ranking_agent` times the agent alone on the same set-up:
  one collect-policy `action` on a batch of 128 observations and one `train` on
  128 slates (fixed tensors), eager and under `common.function`.

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


def _ranking(tf, mod):
    ranking_environment = mod("bandits.environments.ranking_environment")
    ranking_agent = mod("bandits.agents.ranking_agent")
    networks = mod("bandits.networks.global_and_arm_feature_network")
    global_dim, item_dim = 50, 40

    def item():
        features = np.random.randint(-2, 3, [item_dim]).astype(np.float32)
        return features / np.linalg.norm(features)

    env = ranking_environment.RankingPyEnvironment(
        lambda: np.random.randint(-1, 1, [global_dim]).astype(np.float32),
        item,
        num_items=1001,
        num_slots=5,
        scores_weight_matrix=np.eye(item_dim, global_dim, dtype=np.float32),
        feedback_model=ranking_agent.FeedbackModel.CASCADING.value,
        click_model=ranking_environment.ClickModel.GHOST_ACTIONS,
        distance_threshold=10.0,
        batch_size=128,
    )
    environment = mod("environments.tf_py_environment").TFPyEnvironment(env)
    network = networks.create_feed_forward_common_tower_network(
        environment.observation_spec(), (40, 10), (40, 10), (20, 10)
    )
    agent = ranking_agent.RankingAgent(
        time_step_spec=environment.time_step_spec(),
        action_spec=environment.action_spec(),
        scoring_network=network,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=0.05),
        policy_type=ranking_agent.RankingPolicyType.COSINE_DISTANCE,
        feedback_model=ranking_agent.FeedbackModel.CASCADING,
        summarize_grads_and_vars=True,
    )
    return environment, agent


def _slotted(tf, mod):
    """The ranking script's transformation: the slate's items, in order, no action."""
    spec_utils = mod("specs.bandit_spec_utils")
    tensor_spec = mod("specs.tensor_spec")
    trajectory = mod("trajectories.trajectory")
    per_arm_key = spec_utils.PER_ARM_FEATURE_KEY

    def transform(original):
        items = original.observation[per_arm_key]
        if isinstance(items, tensor_spec.TensorSpec):
            num_slots = original.action.shape[0]
            slotted = tensor_spec.TensorSpec([num_slots, items.shape[-1]], items.dtype)
        else:
            slotted = tf.gather(items, original.action, batch_dims=1)
        observation = dict(original.observation, **{per_arm_key: slotted})
        return trajectory.Trajectory(
            step_type=original.step_type,
            observation=observation,
            action=(),
            policy_info=(),
            next_step_type=original.next_step_type,
            reward=original.reward,
            discount=original.discount,
        )

    return transform


SETUPS = {
    "linucb": _linucb,
    "per_arm_eps_greedy": _per_arm_eps_greedy,
    "ranking": _ranking,
    "ranking_agent": _ranking,
}
# Set-ups whose trainer stores transformed trajectories (the script's
# `training_data_spec_transformation_fn`).
TRANSFORMS = {"ranking": _slotted, "ranking_agent": _slotted}


def training_loop(tf, mod, environment, agent, traced: bool, transform=None):
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
    spec = agent.policy.trajectory_spec
    buffer = trainer._get_replay_buffer(
        spec if transform is None else transform(spec),
        environment.batch_size,
        STEPS_PER_LOOP,
        1,
    )
    add = buffer.add_batch
    if transform is not None:
        add = lambda batch: buffer.add_batch(transform(batch))  # noqa: E731
    driver = dynamic_step_driver.DynamicStepDriver(
        environment,
        agent.collect_policy,
        num_steps=STEPS_PER_LOOP * environment.batch_size,
        observers=[add],
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


def agent_loop(tf, mod, environment, agent, traced: bool, transform):
    """Acting on one fixed batch and training on its slates: the agent alone."""
    common = mod("utils.common")
    trajectory = mod("trajectories.trajectory")
    time_step = environment.reset()
    action_step = agent.collect_policy.action(time_step)
    next_step = environment.step(action_step.action)
    slates = transform(trajectory.from_transition(time_step, action_step, next_step))
    experience = tf.nest.map_structure(lambda t: tf.expand_dims(t, 1), slates)
    act, train = agent.collect_policy.action, agent.train
    if traced:
        act, train = common.function(act), common.function(train)

    def loop() -> None:
        act(time_step)
        train(experience)

    return loop


def _accept_numpy1_reshape() -> None:
    """Lets TF-Agents' ranking environment run on NumPy >= 2.4 (timing only).

    It calls `np.reshape(a, newshape=...)`, a keyword NumPy 2.4 removed; the
    shim forwards it as `shape`, which computes the same thing.
    """
    import inspect

    if "newshape" in inspect.signature(np.reshape).parameters:
        return
    reshape = np.reshape

    def compatible(a, shape=None, order="C", *, newshape=None, **kwargs):
        return reshape(a, newshape if shape is None else shape, order=order, **kwargs)

    np.reshape = compatible


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

    if args.lib == "tf_agents":
        _accept_numpy1_reshape()
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    mod = lambda name: importlib.import_module(f"{args.lib}.{name}")  # noqa: E731
    result = {
        "lib": args.lib,
        "keras": "tf-keras" if tf.keras.__name__.startswith("tf_keras") else "keras3",
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
            transform = TRANSFORMS[name](tf, mod) if name in TRANSFORMS else None
            if name == "ranking_agent":
                loop = agent_loop(tf, mod, environment, agent, traced, transform)
            else:
                loop = training_loop(tf, mod, environment, agent, traced, transform)
            for _ in range(10):  # traces, builds the networks and optimizer slots
                loop()
            loops_per_s = timed(loop, args.trials, args.loops)
            steps = environment.batch_size * (
                1 if name == "ranking_agent" else STEPS_PER_LOOP
            )
            key = f"{name}_{'traced' if traced else 'trainer'}_env_steps_per_s"
            result[key] = round(loops_per_s * steps, 1)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
