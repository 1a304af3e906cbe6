"""Longest work first across the pytest-xdist workers (`tests/conftest.py` uses it).

`--dist loadfile` sends each test file to one worker whole, and xdist hands the
files out in order of how many tests they hold. A few files hold few tests that
each start subprocesses for a minute (the TF-Agents bandit examples, the docs'
commands, Ray): they went out last, and one worker ran them alone while the other
had finished (in a slow CI run, the TF-Agents bandit examples were ~16 minutes of
one worker at the end of the tf-keras suite).

`LongestFirst` keeps whole files together (module fixtures stay built once) but
hands out the longest first, from `SECONDS`, and splits the files of `SPLIT`
(no module fixtures, independent subprocess-heavy tests) into one unit per test.
Estimates only order the work: a stale or missing entry costs time, never a
result. Regenerate them from a run's JUnit report:

    python -m pytest --junitxml=/tmp/run.xml && python tests/xdist_order.py /tmp/run.xml
"""

from __future__ import annotations

import collections
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from xdist.scheduler import LoadFileScheduling

# Files whose tests are scheduled one by one: each test is a unit of its own.
SPLIT = frozenset(
    {
        "tests/bandits/test_tfa_bandit_examples.py",
        "tests/test_doc_commands.py",
        "tests/test_notebooks.py",
        "tests/test_tfa_examples.py",
        "tests/test_examples.py",
    }
)

# Seconds per file (per test in `SPLIT` files): the largest of a Keras 3 and a
# tf-keras run on this 2-core machine (2026-12-06), whichever mode took longer;
# TF-Agents' v2 and RNN example scripts measured alone on 2026-12-06 (session 11).
SECONDS: dict[str, float] = {
    "tests/distributed/test_ray.py": 307.5,
    "tests/test_doc_commands.py::test_page_commands_run_as_pasted[docs/distributed.md]": 68.1,
    "tests/policies/test_interrupted_saves.py": 66.8,
    "tests/test_doc_commands.py::test_page_commands_run_as_pasted[README.md]": 61.7,
    "tests/test_concurrency.py": 60.7,
    "tests/policies/test_interop.py": 57.0,
    "tests/train/test_learner.py": 40.0,
    "tests/test_notebooks.py::test_tutorial_notebook_runs[save_load_evaluate.ipynb]": 35.9,
    "tests/test_doc_commands.py::test_page_commands_run_as_pasted[docs/actor-learner.md]": 34.8,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[ranking]": 34.6,
    "tests/test_actor_learner_jobs.py": 33.9,
    "tests/test_examples.py::test_offline_example_records_trains_and_evaluates": 32.0,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[per_arm_stationary_linear]": 31.4,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[structured_linear]": 29.6,
    "tests/reverb/test_server_exit.py": 29.5,
    "tests/test_doc_commands.py::test_page_commands_run_as_pasted[docs/getting-started.md]": 29.2,
    "tests/agents/test_ppo_agent.py": 28.7,
    "tests/test_cli.py": 27.9,
    "tests/test_tf_patches.py": 27.1,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[sparse_features]": 26.2,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[ddpg_v2_rnn]": 25.9,
    "tests/test_readme.py": 25.0,
    "tests/distributed/test_loopback.py": 24.8,
    "tests/test_notebooks.py::test_bandits_notebook_runs_a_short_budget": 24.4,
    "tests/test_notebooks.py::test_sac_notebook_runs_a_short_training": 23.2,
    "tests/agents/test_checkpoint_interop.py": 23.0,
    "tests/test_notebooks.py::test_offline_notebook_runs_a_short_training": 22.9,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[stationary_linear]": 22.2,
    "tests/test_notebooks.py::test_dqn_actor_learner_notebook_runs_a_short_training": 19.6,
    "tests/test_examples.py::test_short_dqn_training_run_saves_a_loadable_policy": 19.5,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[movielens]": 19.3,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[wheel]": 18.9,
    "tests/agents/test_actor_critic_agents.py": 18.7,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[ppo]": 18.3,
    "tests/test_ci_tfa_zygote.py": 18.2,
    "tests/policies/test_save_permissions.py": 18.1,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[sac_v2_rnn]": 17.9,
    "tests/bandits/agents/test_greedy_multi_objective_neural_agent.py": 17.5,
    "tests/test_doc_commands.py::test_readme_first_command_ends_as_promised": 17.3,
    "tests/test_notebooks.py::test_dqn_notebook_runs_a_short_training": 16.7,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[sac]": 16.2,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[ppo_v2]": 15.9,
    "tests/agents/test_train_step_counter.py": 15.7,
    "tests/bandits/test_tfa_bandit_examples.py::test_tf_agents_bandit_example_trains_and_saves[dqn]": 15.2,
    "tests/eval/test_workers.py": 14.6,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[dqn_rnn]": 14.2,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[sac_v2]": 11.7,
    "tests/test_tfa_examples.py::test_a_child_past_its_timeout_shows_where_it_waited": 10.0,
    "tests/agents/cql/test_cql_sac_agent.py": 9.5,
    "tests/export/test_litert.py": 9.4,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[ddpg_v2]": 8.6,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[reinforce_v2]": 8.5,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[dqn_v2_rnn]": 8.3,
    "tests/test_tfa_examples.py::test_tf_agents_example_trains_and_saves_policies[dqn_v2]": 7.6,
}

_ROOT = Path(__file__).resolve().parents[1]

# What a unit not in `SECONDS` is taken to cost per test: the mean of the 1,611
# tests outside it in the Keras 3 run above (0.08 s under tf-keras).
DEFAULT_TEST_S = 0.25


def unit_of(nodeid: str) -> str:
    """The unit of work a test belongs to: its file, or itself in a `SPLIT` file."""
    path = nodeid.split("::", 1)[0]
    return nodeid if path in SPLIT else path


def estimate(scope: str, tests: int) -> float:
    """The expected seconds of one unit of work (a file, or one test of `SPLIT`)."""
    return SECONDS.get(scope, DEFAULT_TEST_S * tests)


class LongestFirst(LoadFileScheduling):
    """`--dist loadfile`, the longest units first, `SPLIT` files test by test."""

    def __init__(self, config, log=None) -> None:
        super().__init__(config, log)
        self._ordered = False

    @staticmethod
    def supported() -> bool:
        """Whether this xdist has the private parts reordered here (3.5-3.8 do)."""
        return hasattr(LoadFileScheduling, "_assign_work_unit") and hasattr(
            LoadFileScheduling, "_split_scope"
        )

    def _split_scope(self, nodeid: str) -> str:
        return unit_of(nodeid)

    def _assign_work_unit(self, node) -> None:
        # The queue is complete by the first assignment (xdist builds it in
        # `schedule`, then assigns); reorder it once, stable for equal estimates.
        if not self._ordered:
            self._ordered = True
            units = sorted(
                self.workqueue.items(),
                key=lambda unit: -estimate(unit[0], len(unit[1])),
            )
            self.workqueue.clear()
            self.workqueue.update(units)
        super()._assign_work_unit(node)


def table(junit_xml: str, top: int = 40) -> dict[str, float]:
    """The `top` longest units of a JUnit report, in seconds (one decimal)."""
    seconds: collections.Counter[str] = collections.Counter()
    for case in ElementTree.parse(junit_xml).getroot().iter("testcase"):
        parts = case.get("classname", "").split(".")
        # A test in a class: the classname ends with the class, not the module.
        while parts and not (_ROOT / ("/".join(parts) + ".py")).is_file():
            parts.pop()
        path = "/".join(parts) + ".py"
        seconds[unit_of(f"{path}::{case.get('name')}")] += float(case.get("time", 0.0))
    return {scope: round(s, 1) for scope, s in seconds.most_common(top)}


if __name__ == "__main__":
    for scope, s in table(sys.argv[1]).items():
        print(f'    "{scope}": {s},')
