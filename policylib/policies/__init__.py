"""Policies: Python (`PyPolicy`) and TensorFlow (`TFPolicy`) hierarchies.

Modules and the main classes are loaded on first access, so importing one
policy never imports the others (or TensorFlow Probability).
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        actor_policy async_policy_saver batched_py_policy boltzmann_policy
        categorical_q_policy epsilon_greedy_policy fixed_policy gaussian_policy
        greedy_policy ou_noise_policy policy_info_updater_wrapper policy_loader
        policy_saver py_epsilon_greedy_policy py_policy py_tf_eager_policy
        py_tf_policy q_policy random_py_policy random_tf_policy saved_functions
        saved_graph_ops saved_policy_dir saved_policy_files scripted_py_policy
        temporal_action_smoothing tf_policy tf_py_policy utils
    """,
    attributes="""
        actor_policy: ActorPolicy
        epsilon_greedy_policy: EpsilonGreedyPolicy
        greedy_policy: GreedyPolicy
        policy_saver: PolicySaver
        py_tf_eager_policy: PyTFEagerPolicy SavedModelPyTFEagerPolicy
        tf_policy: TFPolicy
    """,
)
