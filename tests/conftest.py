"""Shared pytest setup: quiet TensorFlow logs and seed global generators."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# A worker that ran the gRPC replay tests later forks ffmpeg (video tests) and other
# children; gRPC's fork handlers then run in each child before its exec, which has
# held up ffmpeg past imageio's 10 s wait under load. No test needs gRPC in a forked
# child (servers start as new processes), so the handlers are off.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

# Op determinism's state and switch-off are not public (`tf.config.experimental`
# has only `enable_op_determinism`).
from tensorflow.python.framework import config as tf_config  # noqa: E402


@pytest.fixture(autouse=True)
def _seed_everything():
    # Python's `random` too (Keras 3 draws unseeded initializers' seeds from it)
    # and Keras 3's global seed generator: each test starts from the same state
    # whichever files its xdist worker ran before.
    tf.keras.utils.set_random_seed(0)
    determinism = tf_config.is_op_determinism_enabled()
    yield
    # The examples run in-process (tests/test_examples.py) turn op determinism on
    # for the whole process, as a user's script does; a later test on
    # the same worker must not inherit it (a TF1 graph without a seed then refuses
    # random ops), whichever order the workers get their files in.
    if tf_config.is_op_determinism_enabled() and not determinism:
        tf_config.disable_op_determinism()


# Test files whose subject does not change with the Keras version run once, under
# Keras 3 (TensorFlow's default); the tf-keras run skips them. They are NumPy and
# environment code, the Reverb-style replay service, Ray and TensorFlow start-up
# plumbing around SavedModels, and what a reader runs as pasted (notebooks, README,
# docs, examples), which a reader runs with the default Keras, and bandits without
# networks. Everything that builds or trains Keras layers (networks, policies,
# agents, saving, export) runs in both.
ONE_KERAS_MODE = (
    "base/",
    "specs/",
    "trajectories/",
    "environments/",
    "system/",
    "reverb/",
    "distributed/",
    "test_notebooks.py",
    "test_readme.py",
    "test_examples.py",
    "test_actor_learner_jobs.py",
    "test_doc_commands.py",
    "test_docs.py",
    "test_tf_startup.py",
    "test_ci_tfa_zygote.py",
    "test_layers.py",
    "test_xdist_order.py",
    "benchmark/test_distribution_strategy_utils.py",
    "benchmark/test_perfzero_benchmark.py",
    # Minari data as trajectories (CQL-SAC itself runs in both, tests/agents/cql).
    "offline/",
    # Drivers with mock policies, the metric utils, and utilities without layers.
    "drivers/",
    "eval/test_metric_utils.py",
    "utils/test_object_identity.py",
    "utils/test_xla.py",
    "utils/test_composite.py",
    "utils/test_example_encoding.py",
    "utils/test_example_encoding_dataset.py",
    "utils/test_timer_and_unbatching.py",
    "metrics/",
    "replay_buffers/",
    "distributions/",
    # Bandits without networks (environments, metrics, linear, EXP3, Bernoulli,
    # mixtures, linear algebra, scalarizers).
    "bandits/environments/",
    "bandits/metrics/",
    "bandits/drivers/",
    "bandits/multi_objective/",
    "bandits/agents/test_bernoulli_thompson_sampling_agent.py",
    "bandits/agents/test_exp3_agent.py",
    "bandits/agents/test_exp3_mixture_agent.py",
    "bandits/agents/test_lin_ucb_agent.py",
    "bandits/agents/test_mixture_agent.py",
    "bandits/agents/test_static_mixture_agent.py",
    "bandits/policies/test_bernoulli_thompson_sampling_policy.py",
    "bandits/policies/test_categorical_policy.py",
    "bandits/policies/test_linalg.py",
    "bandits/policies/test_linear_bandit_policy.py",
    "bandits/policies/test_linear_thompson_sampling_policy.py",
    "bandits/policies/test_loss_utils.py",
    "bandits/policies/test_mixture_policy.py",
)
# Single tests of files that otherwise run in both modes: what they check does
# not depend on Keras (the rest of their file covers the tf-keras path).
ONE_KERAS_MODE_TESTS = frozenset(
    {
        # The console script's output and exit status; in-process evaluate
        # tests of test_cli.py run under tf-keras too.
        "test_cli.py::test_console_script_prints_only_progress_and_the_result",
        "test_cli.py::test_console_script_runs_the_main_job",
        # LiteRT runs the export without TensorFlow or Keras.
        "test_cli.py::test_evaluate_with_the_litert_backend_matches_tensorflow",
    }
)
_TESTS = os.path.dirname(os.path.abspath(__file__))


def pytest_collection_modifyitems(config, items) -> None:
    if os.environ.get("TF_USE_LEGACY_KERAS", "0") in ("", "0"):
        return
    skip = pytest.mark.skip(
        reason="independent of the Keras version: runs once, under Keras 3"
    )
    for item in items:
        path = os.path.relpath(str(item.path), _TESTS).replace(os.sep, "/")
        if (
            path.startswith(ONE_KERAS_MODE)
            or f"{path}::{item.originalname}" in ONE_KERAS_MODE_TESTS
        ):
            item.add_marker(skip)


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown without it
def pytest_xdist_make_scheduler(config, log):
    """Files out to the workers longest first (`tests/xdist_order.py` says why)."""
    if config.getvalue("dist") != "loadfile":
        return None  # another --dist asked for on the command line: xdist's own
    from tests.xdist_order import LongestFirst

    # It reorders xdist's private work queue; an xdist without one schedules alone.
    return LongestFirst(config, log) if LongestFirst.supported() else None
