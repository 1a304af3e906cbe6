"""A collect job: steps CartPole with the learner's newest policy into the replay server.

    python examples/dqn_actor_learner/collect.py --root-dir /tmp/dqn_al \
        --replay-address localhost:8008 --max-env-steps 20000

It loads the collect policy the learner wrote, fills the table with random
steps first (`--initial-collect-steps`), then alternates a short collect run
with pulling the newest weights from the server's variable table. When the
server goes away (a restart), it logs it, waits for the server to answer
again and reopens its writer: the steps of the interrupted run are lost, the
job is not.
"""

from __future__ import annotations

import argparse
import logging
import time

import dqn_jobs

from policylib import reverb
from policylib.environments import suite_gym
from policylib.experimental.distributed import reverb_variable_container
from policylib.metrics import py_metrics
from policylib.policies import random_py_policy
from policylib.replay_buffers import reverb_replay_buffer, reverb_utils
from policylib.train import actor
from policylib.train.utils import train_utils

# What a replay server that went away (or came back empty-handed) raises.
SERVER_ERRORS = (
    reverb.errors.UnavailableError,
    reverb.errors.DeadlineExceededError,
    reverb.errors.CancelledError,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root-dir", required=True)
    parser.add_argument("--replay-address", required=True)
    parser.add_argument("--initial-collect-steps", type=int, default=1000)
    parser.add_argument("--steps-per-run", type=int, default=50)
    parser.add_argument("--max-env-steps", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    collect_policy = train_utils.wait_for_policy(
        dqn_jobs.collect_policy_dir(args.root_dir), load_specs_from_pbtxt=True
    )
    client = dqn_jobs.wait_for_server(args.replay_address)
    train_step = train_utils.create_train_step()
    variables = {
        reverb_variable_container.POLICY_KEY: collect_policy.variables(),
        reverb_variable_container.TRAIN_STEP_KEY: train_step,
    }
    container = reverb_variable_container.ReverbVariableContainer(
        args.replay_address, table_names=[reverb_variable_container.DEFAULT_TABLE]
    )
    observer = reverb_utils.ReverbAddTrajectoryObserver(
        client,
        reverb_replay_buffer.DEFAULT_TABLE,
        sequence_length=dqn_jobs.SEQUENCE_LENGTH,
        stride_length=1,
    )
    env = suite_gym.load(dqn_jobs.ENV_NAME)
    env.seed(args.seed)
    env_steps = py_metrics.EnvironmentSteps()
    random_policy = random_py_policy.RandomPyPolicy(
        env.time_step_spec(), env.action_spec(), seed=args.seed
    )
    actor.Actor(
        env,
        random_policy,
        train_step,
        steps_per_run=args.initial_collect_steps,
        observers=[observer, env_steps],
    ).run()
    collect_actor = actor.Actor(
        env,
        collect_policy,
        train_step,
        steps_per_run=args.steps_per_run,
        observers=[observer, env_steps],
    )
    restarts = 0
    while env_steps.result() < args.max_env_steps:
        try:
            container.update(variables)
            collect_actor.run()
            observer.flush()
        except SERVER_ERRORS as error:
            restarts += 1
            logging.warning("Replay server unavailable (%s); reconnecting.", error)
            try:
                observer.close()
            except SERVER_ERRORS:
                pass  # the writer's pending items went down with the server
            dqn_jobs.wait_for_server(args.replay_address)
            observer.open()
            time.sleep(0.5)
    observer.close()
    print(
        f"collector done: {int(env_steps.result())} env steps, "
        f"{restarts} server restart(s) survived, policy at train step "
        f"{int(train_step.numpy())}",
        flush=True,
    )


if __name__ == "__main__":
    main()
