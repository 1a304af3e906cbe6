"""The replay job: a `policylib.reverb` server for experience and the learner's weights.

    python examples/dqn_actor_learner/replay_server.py --root-dir /tmp/dqn_al --port 8008

It waits for the learner's collect policy under `--root-dir`, builds two
tables from its specs (experience: uniform sampling, FIFO eviction; variables:
the newest weights and train step) and serves them until it is killed.
Checkpoints (written when the learner asks, `ReverbCheckpointTrigger`) go to
`<root-dir>/reverb_checkpoints`; a restarted server loads the newest one.
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
from policylib.specs import tensor_spec
from policylib.train.utils import train_utils


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root-dir", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--capacity", type=int, default=100_000)
    parser.add_argument("--min-size", type=int, default=1000)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)

    collect_policy = train_utils.wait_for_policy(
        dqn_jobs.collect_policy_dir(args.root_dir), load_specs_from_pbtxt=True
    )
    variables = {
        reverb_variable_container.POLICY_KEY: collect_policy.variables(),
        reverb_variable_container.TRAIN_STEP_KEY: train_utils.create_train_step(),
    }
    variable_signature = tf.nest.map_structure(
        lambda v: tf.TensorSpec(v.shape, v.dtype), variables
    )
    experience_signature = tensor_spec.add_outer_dim(
        tensor_spec.from_spec(collect_policy.collect_data_spec)
    )
    checkpointer = reverb.checkpointers.DefaultCheckpointer(
        os.path.join(args.root_dir, "reverb_checkpoints")
    )
    server = reverb.Server(
        [
            reverb.Table(
                reverb_replay_buffer.DEFAULT_TABLE,
                sampler=reverb.selectors.Uniform(),
                remover=reverb.selectors.Fifo(),
                rate_limiter=reverb.rate_limiters.MinSize(args.min_size),
                max_size=args.capacity,
                signature=experience_signature,
            ),
            reverb.Table(
                reverb_variable_container.DEFAULT_TABLE,
                sampler=reverb.selectors.Uniform(),
                remover=reverb.selectors.Fifo(),
                rate_limiter=reverb.rate_limiters.MinSize(1),
                max_size=1,
                signature=variable_signature,
            ),
        ],
        port=args.port,
        checkpointer=checkpointer,
    )
    logging.info(
        "Replay server on port %d (restored from %s)", server.port, server.restored_from
    )
    print(f"replay server ready on port {server.port}", flush=True)
    server.wait()


if __name__ == "__main__":
    main()
