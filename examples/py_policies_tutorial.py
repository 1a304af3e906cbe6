"""The Python-policy half of TF-Agents' policies tutorial, on policylib.

The code is the tutorial's, with `tf_agents` replaced by `policylib`; it prints
the same formats:

    python examples/py_policies_tutorial.py
"""

import numpy as np

from policylib.policies import random_py_policy, scripted_py_policy
from policylib.specs import array_spec


def main() -> None:
    # Example 1: Random Python policy.
    action_spec = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)
    my_random_py_policy = random_py_policy.RandomPyPolicy(
        time_step_spec=None, action_spec=action_spec
    )
    time_step = None
    action_step = my_random_py_policy.action(time_step)
    print(action_step)
    action_step = my_random_py_policy.action(time_step)
    print(action_step)

    # Example 2: Scripted Python policy.
    action_spec = array_spec.BoundedArraySpec((2,), np.int32, -10, 10)
    action_script = [
        (1, np.array([5, 2], dtype=np.int32)),
        (0, np.array([0, 0], dtype=np.int32)),  # num_repeats 0 skips this action.
        (2, np.array([1, 2], dtype=np.int32)),
        (1, np.array([3, 4], dtype=np.int32)),
    ]
    my_scripted_py_policy = scripted_py_policy.ScriptedPyPolicy(
        time_step_spec=None, action_spec=action_spec, action_script=action_script
    )

    policy_state = my_scripted_py_policy.get_initial_state()
    time_step = None
    print("Executing scripted policy...")
    action_step = my_scripted_py_policy.action(time_step, policy_state)
    print(action_step)
    action_step = my_scripted_py_policy.action(time_step, action_step.state)
    print(action_step)
    action_step = my_scripted_py_policy.action(time_step, action_step.state)
    print(action_step)

    print("Resetting my_scripted_py_policy...")
    policy_state = my_scripted_py_policy.get_initial_state()
    action_step = my_scripted_py_policy.action(time_step, policy_state)
    print(action_step)


if __name__ == "__main__":
    main()
