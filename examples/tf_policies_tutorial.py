"""The TensorFlow examples of TF-Agents' policies tutorial, on policylib.

Runs under Keras 3 and tf-keras alike. One difference from the TF-Agents
tutorial: Keras 3's `Dense` wants a Python int, so the number of actions
derived from the spec's bounds (NumPy values) is wrapped in `int(...)`.
"""

import tensorflow as tf
import tensorflow_probability as tfp

from policylib.networks import network
from policylib.policies import actor_policy, greedy_policy, q_policy, random_tf_policy
from policylib.specs import tensor_spec
from policylib.trajectories import time_step as ts


class ActionNet(network.Network):
    """Observations -> tanh actions of the action spec's shape."""

    def __init__(self, input_tensor_spec, output_tensor_spec):
        super().__init__(
            input_tensor_spec=input_tensor_spec, state_spec=(), name="ActionNet"
        )
        self._output_tensor_spec = output_tensor_spec
        self._sub_layers = [
            tf.keras.layers.Dense(
                output_tensor_spec.shape.num_elements(), activation=tf.nn.tanh
            )
        ]

    def call(self, observations, step_type, network_state):
        del step_type
        output = tf.cast(observations, dtype=tf.float32)
        for layer in self._sub_layers:
            output = layer(output)
        actions = tf.reshape(output, [-1] + self._output_tensor_spec.shape.as_list())
        return actions, network_state


class ActionDistributionNet(ActionNet):
    """The same network, returning a unit-variance Normal around its actions."""

    def call(self, observations, step_type, network_state):
        means, network_state = super().call(observations, step_type, network_state)
        return tfp.distributions.MultivariateNormalDiag(
            means, tf.ones_like(means)
        ), network_state


class QNetwork(network.Network):
    """Observations -> one Q-value per action."""

    def __init__(self, input_tensor_spec, action_spec, num_actions, name=None):
        super().__init__(input_tensor_spec=input_tensor_spec, state_spec=(), name=name)
        self._sub_layers = [tf.keras.layers.Dense(num_actions)]

    def call(self, inputs, step_type=None, network_state=()):
        del step_type
        inputs = tf.cast(inputs, tf.float32)
        for layer in self._sub_layers:
            inputs = layer(inputs)
        return inputs, network_state


def main():
    # Example 1: RandomTFPolicy.
    action_spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, minimum=-1, maximum=3)
    time_step_spec = ts.time_step_spec(tensor_spec.TensorSpec((2,), tf.float32))
    random_policy = random_tf_policy.RandomTFPolicy(
        action_spec=action_spec, time_step_spec=time_step_spec
    )
    step = random_policy.action(ts.restart(tf.ones(time_step_spec.observation.shape)))
    print("Action:")
    print(step.action)

    # Example 2: ActorPolicy with an action network, then a distribution network.
    input_tensor_spec = tensor_spec.TensorSpec((4,), tf.float32)
    time_step_spec = ts.time_step_spec(input_tensor_spec)
    action_spec = tensor_spec.BoundedTensorSpec((3,), tf.float32, minimum=-1, maximum=1)
    time_step = ts.restart(tf.ones([2] + time_step_spec.observation.shape.as_list()), 2)
    for net in (
        ActionNet(input_tensor_spec, action_spec),
        ActionDistributionNet(input_tensor_spec, action_spec),
    ):
        policy = actor_policy.ActorPolicy(
            time_step_spec=time_step_spec, action_spec=action_spec, actor_network=net
        )
        print("Action:")
        print(policy.action(time_step).action)
        print("Action distribution:")
        print(policy.distribution(time_step).action)

    # Example 3: QPolicy, then GreedyPolicy around it.
    action_spec = tensor_spec.BoundedTensorSpec((), tf.int32, minimum=0, maximum=2)
    num_actions = int(action_spec.maximum - action_spec.minimum + 1)
    time_steps = ts.restart(
        tf.ones([2] + time_step_spec.observation.shape.as_list()), 2
    )
    my_q_network = QNetwork(input_tensor_spec, action_spec, num_actions)
    my_q_policy = q_policy.QPolicy(time_step_spec, action_spec, q_network=my_q_network)
    my_greedy_policy = greedy_policy.GreedyPolicy(my_q_policy)
    for policy in (my_q_policy, my_greedy_policy):
        print("Action:")
        print(policy.action(time_steps).action)
        print("Action distribution:")
        print(policy.distribution(time_steps).action)


if __name__ == "__main__":
    main()
