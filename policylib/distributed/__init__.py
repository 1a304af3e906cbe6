"""Policies across processes and Ray clusters: collection actors feeding one learner.

`collection.RayCollector` runs K Ray actors, each stepping its own
environment with a `PyDriver` and a policy loaded from the learner's
`PolicySaver` export, and brings their trajectories back to the learner's
replay buffer, tagged with the policy version that collected them.
`policy_payload` packs a policy to travel; `ray_cluster` connects to Ray.
Distributed evaluation is `policylib.eval.evaluate(..., num_workers=N)`.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="collection policy_payload ray_cluster",
    attributes="""
        collection: RayCollector CollectedEpisodes
    """,
)
