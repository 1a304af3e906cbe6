"""Child process of test_interrupted_saves: one save into an existing save, SIGKILLed at a chosen point.

    python interrupted_save_child.py MODE TARGET ACTIONS_NPZ KILL_AT

MODE is save, checkpoint or async. The kill points are the calls (Python and
built-in) made by the saving code: policylib's saver and atomic directory,
and TensorFlow's SavedModel and checkpoint writers. KILL_AT=0 kills nowhere
and prints how many points the save passed.
"""

import os
import signal
import sys
import threading

import numpy as np
import tensorflow as tf

from policylib.networks import q_network
from policylib.policies import async_policy_saver, greedy_policy, policy_saver, q_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts

WATCHED = ("atomic_dir.py", "policy_saver.py", "saved_model/save.py", "checkpoint/")


def policy(seed):
    obs = tensor_spec.TensorSpec((4,), tf.float32, name="observation")
    act = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, name="action")
    tf.keras.utils.set_random_seed(seed)
    net = q_network.QNetwork(obs, act, fc_layer_params=(8,))
    return greedy_policy.GreedyPolicy(
        q_policy.QPolicy(ts.time_step_spec(obs), act, q_network=net)
    )


def probes():
    return ts.restart(
        np.random.default_rng(0).normal(size=(32, 4)).astype(np.float32), 32
    )


def main():
    mode, target, actions_file, kill_at = (
        sys.argv[1],
        sys.argv[2],
        sys.argv[3],
        int(sys.argv[4]),
    )
    new = policy(seed=2)
    np.save(actions_file, new.action(probes()).action.numpy())
    saver = policy_saver.PolicySaver(new, batch_size=None)
    count = 0

    def hook(frame, event, arg):
        nonlocal count
        if event in ("call", "c_call") and any(
            w in frame.f_code.co_filename for w in WATCHED
        ):
            count += 1
            if count == kill_at:
                os.kill(os.getpid(), signal.SIGKILL)

    threading.setprofile(hook)
    sys.setprofile(hook)
    if mode == "save":
        saver.save(target)
    elif mode == "checkpoint":
        saver.save_checkpoint(target)
    else:
        background = async_policy_saver.AsyncPolicySaver(saver)
        background.save(target)
        background.flush()
    sys.setprofile(None)
    threading.setprofile(None)
    print(count)


if __name__ == "__main__":
    main()
