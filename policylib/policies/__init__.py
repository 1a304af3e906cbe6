"""Policies: Python (`PyPolicy`) and TensorFlow (`TFPolicy`) hierarchies.

Modules and the main classes are loaded on first access, so importing one
policy never imports the others (or TensorFlow Probability).
"""

from __future__ import annotations

from policylib._lazy import lazy_exports

_MODULES = (
    "actor_policy",
    "async_policy_saver",
    "batched_py_policy",
    "boltzmann_policy",
    "categorical_q_policy",
    "epsilon_greedy_policy",
    "fixed_policy",
    "gaussian_policy",
    "greedy_policy",
    "litert_policy",
    "ou_noise_policy",
    "policy_info_updater_wrapper",
    "policy_loader",
    "policy_saver",
    "py_epsilon_greedy_policy",
    "py_policy",
    "py_tf_eager_policy",
    "py_tf_policy",
    "q_policy",
    "random_py_policy",
    "random_tf_policy",
    "saved_functions",
    "saved_graph_ops",
    "saved_policy_files",
    "scripted_py_policy",
    "temporal_action_smoothing",
    "tf_policy",
    "tf_py_policy",
    "utils",
)

_CLASSES = {
    "ActorPolicy": "actor_policy",
    "EpsilonGreedyPolicy": "epsilon_greedy_policy",
    "GreedyPolicy": "greedy_policy",
    "LiteRTPolicy": "litert_policy",
    "PolicySaver": "policy_saver",
    "PyTFEagerPolicy": "py_tf_eager_policy",
    "SavedModelPyTFEagerPolicy": "py_tf_eager_policy",
    "TFPolicy": "tf_policy",
}

__all__ = [*_MODULES, *_CLASSES]


__getattr__, __dir__ = lazy_exports(__name__, globals(), _MODULES, _CLASSES)
