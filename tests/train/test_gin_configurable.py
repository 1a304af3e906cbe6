"""The training classes TF-Agents' gin files bind are gin-configurable."""

from __future__ import annotations

import gin
import pytest

from policylib.train import actor, learner, ppo_learner


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("Learner", learner.Learner),
        ("PPOLearner", ppo_learner.PPOLearner),
        ("Actor", actor.Actor),
    ],
)
def test_binding_by_class_name_reaches_the_class(name: str, cls: type) -> None:
    with gin.unlock_config():
        gin.bind_parameter(f"{name}.summary_interval", 7)
    try:
        assert gin.query_parameter(f"{name}.summary_interval") == 7
        assert gin.query_parameter(f"{cls.__module__}.{name}.summary_interval") == 7
    finally:
        gin.clear_config()
