"""The train job: a `Learner` training DQN on batches sampled from the replay server.

    python examples/dqn_actor_learner/train.py --root-dir /tmp/dqn_al \
        --replay-address localhost:8008 --train-steps 5000

It writes the collect policy first (the other jobs wait for it), then trains
in runs of `--steps-per-run`, pushing the new weights to the server's
variable table after each run. Triggers save the policies, checkpoint the
replay server and log steps per second; the learner's own checkpoints let a
restarted job continue where it stopped. When the replay server restarts,
the job waits for it and samples from a fresh dataset.
"""

from __future__ import annotations

import argparse
import logging
import os

import dqn_jobs
import tensorflow as tf

from policylib import reverb
from policylib.experimental.distributed import reverb_variable_container
from policylib.replay_buffers import reverb_replay_buffer
from policylib.train import learner, triggers
from policylib.train.utils import train_utils


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root-dir", required=True)
    parser.add_argument("--replay-address", required=True)
    parser.add_argument("--train-steps", type=int, default=20_000)
    parser.add_argument("--steps-per-run", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--checkpoint-interval", type=int, default=500)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    train_step = train_utils.create_train_step()
    agent = dqn_jobs.make_agent(train_step)
    # Written at once (the server and the collectors wait for these), then every
    # `checkpoint_interval` train steps.
    save_policies = triggers.PolicySavedModelTrigger(
        os.path.join(args.root_dir, learner.POLICY_SAVED_MODEL_DIR),
        agent,
        train_step,
        interval=args.checkpoint_interval,
    )
    client = dqn_jobs.wait_for_server(args.replay_address)
    replay = reverb_replay_buffer.ReverbReplayBuffer(
        agent.collect_data_spec,
        sequence_length=dqn_jobs.SEQUENCE_LENGTH,
        table_name=reverb_replay_buffer.DEFAULT_TABLE,
        server_address=args.replay_address,
    )
    variables = {
        reverb_variable_container.POLICY_KEY: agent.collect_policy.variables(),
        reverb_variable_container.TRAIN_STEP_KEY: train_step,
    }
    container = reverb_variable_container.ReverbVariableContainer(
        args.replay_address, table_names=[reverb_variable_container.DEFAULT_TABLE]
    )
    container.push(variables)

    def experience() -> tf.data.Dataset:
        return replay.as_dataset(
            sample_batch_size=args.batch_size, num_steps=dqn_jobs.SEQUENCE_LENGTH
        ).prefetch(3)

    dqn_learner = learner.Learner(
        args.root_dir,
        train_step,
        agent,
        experience,
        triggers=[
            save_policies,
            triggers.ReverbCheckpointTrigger(
                train_step, interval=args.checkpoint_interval, reverb_client=client
            ),
            triggers.StepPerSecondLogTrigger(train_step, interval=1000),
        ],
        checkpoint_interval=args.checkpoint_interval,
    )
    iterator = None  # the learner's own, until the server restarts
    while dqn_learner.train_step_numpy < args.train_steps:
        try:
            loss = dqn_learner.run(iterations=args.steps_per_run, iterator=iterator)
            container.push(variables)
        except (tf.errors.OpError, reverb.errors.ReverbError) as error:
            logging.warning("Replay server unavailable (%s); reconnecting.", error)
            dqn_jobs.wait_for_server(args.replay_address)
            iterator = iter(experience())
            continue
        logging.info(
            "train step %d: loss %.4f", dqn_learner.train_step_numpy, float(loss.loss)
        )
    print(f"learner done at train step {dqn_learner.train_step_numpy}", flush=True)


if __name__ == "__main__":
    main()
