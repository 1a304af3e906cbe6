"""Actor–Learner training, as TF-Agents' `tf_agents.train` (loaded on first access).

`Actor` runs a policy in an environment and feeds observers (a replay
buffer's, metrics'); `Learner` trains an agent on a dataset and keeps its
checkpoints, summaries and triggers; `PPOLearner` does PPO's on-policy loop.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        actor interval_trigger learner ppo_learner ppo_learner_test_utils
        step_per_second_tracker triggers utils
    """,
    attributes="""
        actor: Actor
        learner: Learner
        ppo_learner: PPOLearner
    """,
)
