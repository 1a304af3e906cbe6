"""Action samplers of QT-Opt's cross-entropy-method policy (`qtopt_cem_policy`).

`qtopt_cem_actions_sampler` defines the interfaces; the three
`GaussianActionsSampler`s cover continuous actions, continuous and discrete
actions, and continuous actions chosen by one one-hot action.
"""

from __future__ import annotations

from policylib._lazy import lazy_package

__getattr__, __dir__ = lazy_package(
    globals(),
    modules="""
        qtopt_cem_actions_sampler qtopt_cem_actions_sampler_continuous
        qtopt_cem_actions_sampler_continuous_and_one_hot
        qtopt_cem_actions_sampler_hybrid
    """,
)
