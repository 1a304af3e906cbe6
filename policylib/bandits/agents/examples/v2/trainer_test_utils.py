"""Small environments and agents by name, for exercising `trainer.train` in tests.

TF-Agents ships this module beside its trainer, and its trainer tests import
it from there; it is kept under the same name here. Two environments
(`'stationary_stochastic'`: 7-dim contexts, 5 sliding linear arms;
`'wheel'`: the wheel bandit) and four agents (`'LinUCB'`, `'LinTS'`,
`'epsGreedy'`, `'mix'`: an EXP3 mixture of neural epsilon-greedy and LinUCB).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from policylib.bandits.agents import (
    exp3_mixture_agent,
    lin_ucb_agent,
    linear_thompson_sampling_agent,
    neural_epsilon_greedy_agent,
)
from policylib.bandits.environments import (
    environment_utilities,
    stationary_stochastic_py_environment,
    wheel_py_environment,
)
from policylib.bandits.networks import global_and_arm_feature_network
from policylib.environments import tf_py_environment
from policylib.networks import q_network
from policylib.policies import utils as policy_utilities
from policylib.specs import bandit_spec_utils

__all__ = ["get_agent_by_name", "get_environment_and_optimal_functions_by_name"]

EnvironmentAndOptima = tuple[Any, Callable[..., Any], Callable[..., Any]]


def _stationary_stochastic(batch_size: int) -> EnvironmentAndOptima:
    context_dim, num_actions = 7, 5
    reward_fns = environment_utilities.sliding_linear_reward_fn_generator(
        context_dim, num_actions, 0.1
    )
    contexts = functools.partial(
        environment_utilities.context_sampling_fn,
        batch_size=batch_size,
        context_dim=context_dim,
    )
    env = stationary_stochastic_py_environment.StationaryStochasticPyEnvironment(
        contexts, reward_fns, batch_size=batch_size
    )
    return (
        tf_py_environment.TFPyEnvironment(env),
        functools.partial(
            environment_utilities.tf_compute_optimal_reward,
            per_action_reward_fns=reward_fns,
        ),
        functools.partial(
            environment_utilities.tf_compute_optimal_action,
            per_action_reward_fns=reward_fns,
        ),
    )


def _wheel(batch_size: int) -> EnvironmentAndOptima:
    delta, mu_base, mu_high = 0.5, [0.05, 0.01, 0.011, 0.009, 0.012], 0.5
    env = wheel_py_environment.WheelPyEnvironment(
        delta, mu_base, [0.001] * 5, mu_high, 0.001, batch_size
    )
    return (
        tf_py_environment.TFPyEnvironment(env),
        functools.partial(
            environment_utilities.tf_wheel_bandit_compute_optimal_reward,
            delta=delta,
            mu_inside=mu_base[0],
            mu_high=mu_high,
        ),
        functools.partial(
            environment_utilities.tf_wheel_bandit_compute_optimal_action,
            delta=delta,
        ),
    )


_ENVIRONMENTS: dict[str, Callable[[int], EnvironmentAndOptima]] = {
    "stationary_stochastic": _stationary_stochastic,
    "wheel": _wheel,
}


def get_environment_and_optimal_functions_by_name(
    environment_name: str, batch_size: int
) -> EnvironmentAndOptima:
    """`(tf_environment, optimal_reward_fn, optimal_action_fn)` for a named set-up.

    The two functions take an observation batch and feed `RegretMetric` and
    `SuboptimalArmsMetric`.

    Raises:
      ValueError: an unknown name (the known ones are listed).
    """
    if environment_name not in _ENVIRONMENTS:
        raise ValueError(
            f"Unknown environment {environment_name!r}; known: "
            f"{', '.join(sorted(_ENVIRONMENTS))}."
        )
    return _ENVIRONMENTS[environment_name](batch_size)


def _epsilon_greedy(
    time_step_spec: Any,
    action_spec: Any,
    epsilon: float,
    network: Any = None,
    per_arm: bool = False,
    **kwargs: Any,
) -> neural_epsilon_greedy_agent.NeuralEpsilonGreedyAgent:
    if network is None:
        if per_arm:
            network = (
                global_and_arm_feature_network.create_feed_forward_common_tower_network(
                    time_step_spec.observation, (20, 20), (20, 20), (20, 20)
                )
            )
        else:
            network = q_network.QNetwork(
                time_step_spec.observation, action_spec, fc_layer_params=(50, 50, 50)
            )
    return neural_epsilon_greedy_agent.NeuralEpsilonGreedyAgent(
        time_step_spec=time_step_spec,
        action_spec=action_spec,
        reward_network=network,
        optimizer=tf.compat.v1.train.AdamOptimizer(learning_rate=0.05),
        epsilon=epsilon,
        accepts_per_arm_features=per_arm,
        **kwargs,
    )


def get_agent_by_name(agent_name: str, time_step_spec: Any, action_spec: Any) -> Any:
    """A bandit agent for the environment's specs: 'LinUCB', 'LinTS', 'epsGreedy' or 'mix'.

    Per-arm observations (a dict with the per-arm key) give per-arm agents;
    'mix' needs plain observations.

    Raises:
      ValueError: an unknown name, or 'mix' with per-arm observations.
    """
    observation = time_step_spec.observation
    per_arm = (
        isinstance(observation, dict)
        and bandit_spec_utils.PER_ARM_FEATURE_KEY in observation
    )
    if agent_name == "LinUCB":
        return lin_ucb_agent.LinearUCBAgent(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            dtype=tf.float32,
            accepts_per_arm_features=per_arm,
        )
    if agent_name == "LinTS":
        return linear_thompson_sampling_agent.LinearThompsonSamplingAgent(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            dtype=tf.float32,
            accepts_per_arm_features=per_arm,
        )
    if agent_name == "epsGreedy":
        return _epsilon_greedy(time_step_spec, action_spec, 0.1, per_arm=per_arm)
    if agent_name == "mix":
        if per_arm:
            raise ValueError(
                "get_agent_by_name('mix'): per-arm observations are not supported."
            )
        info = (policy_utilities.InfoFields.PREDICTED_REWARDS_MEAN,)
        network = q_network.QNetwork(
            observation, action_spec, fc_layer_params=(50, 50, 50)
        )
        # Greedy-ish, fully random and half random share one reward network.
        neural = [
            _epsilon_greedy(
                time_step_spec, action_spec, epsilon, network, emit_policy_info=info
            )
            for epsilon in (0.1, 1.0, 0.5)
        ]
        linucb = lin_ucb_agent.LinearUCBAgent(
            time_step_spec=time_step_spec,
            action_spec=action_spec,
            emit_policy_info=info,
            dtype=tf.float32,
        )
        return exp3_mixture_agent.Exp3MixtureAgent(
            (neural[0], linucb, neural[1], neural[2])
        )
    raise ValueError(
        f"Unknown agent {agent_name!r}; known: 'LinUCB', 'LinTS', 'epsGreedy', 'mix'."
    )
