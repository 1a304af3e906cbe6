"""TF-Agents' bandit example scripts (`bandits/agents/examples/v2`) run on policylib.

Each script is read from TF-Agents 0.19 at run time (never copied here; see
`tests/test_tfa_examples.py` for where from), renamed to import policylib,
given a two-loop budget (`TRAINING_LOOPS = 2`) and run in a subprocess, once
per value of its `--agent` flag (one process per script: the agents share one
TensorFlow start-up). Each run must leave the trainer's checkpoint after two
loops and a saved policy that policylib loads and acts with. The data-set
scripts (covertype, mushroom, MovieLens) read small files written here in each
data set's real format.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from policylib.utils import keras_compat
from tests.test_tfa_examples import (
    REPO,
    _source,
    _tail,
    renamed,
    run_showing_stacks,
)

TIMEOUT_S = 600
EXAMPLES_DIR = "bandits/agents/examples/v2"


@dataclasses.dataclass(frozen=True)
class BanditExample:
    """A script and the flag settings to run it with (one run per entry)."""

    script: str
    runs: tuple[dict[str, str], ...]
    # The script asks the trainer to save the policy (save_policy=True).
    saves_policy: bool = True
    # Why the script cannot run under Keras 3 (None: it runs in both modes).
    not_on_keras3: str | None = None
    # Writes the data files the script reads into a directory; returns the flags
    # that name them (added to every run).
    data: Callable[[Path], dict[str, str]] | None = None
    # Every run builds a Keras network (so all of them repeat under tf-keras).
    neural: bool = False
    # Module constants set smaller than the script's (e.g. the batch size).
    constants: tuple[tuple[str, int], ...] = ()
    # Under tf-keras, only this many of the runs (the Keras network is the same
    # in each; the runs differ in what Keras does not touch).
    tf_keras_runs: int | None = None


# Agents with a Keras reward network. The others (linear, Thompson sampling,
# random) never touch Keras, so under tf-keras only these runs repeat.
NEURAL_AGENTS = frozenset(
    {"epsGreedy", "Mix", "Boltzmann", "BoltzmannGumbel", "NeuralLinUCB"}
)


def _agents(*names: str, **extra: str) -> tuple[dict[str, str], ...]:
    return tuple({"agent": name, **extra} for name in names)


def _covertype(directory: Path) -> dict[str, str]:
    """covtype.data: 54 integer features, then the cover type 1..7 (comma-separated)."""
    rng = np.random.default_rng(0)
    rows = [
        ",".join(map(str, rng.integers(0, 3000, 54))) + f",{row % 7 + 1}"
        for row in range(70)
    ]
    path = directory / "covtype.data"
    path.write_text("\n".join(rows) + "\n")
    return {"covertype_csv": str(path)}


# agaricus-lepiota.data lines: edible (e) / poisonous (p), then 22 letters.
_MUSHROOMS = (
    "p,x,s,n,t,p,f,c,n,k,e,e,s,s,w,w,p,w,o,p,k,s,u",
    "e,x,s,y,t,a,f,c,b,k,e,c,s,s,w,w,p,w,o,p,n,n,g",
    "e,b,s,w,t,l,f,c,b,n,e,c,s,s,w,w,p,w,o,p,n,n,m",
    "p,x,y,w,t,p,f,c,n,n,e,e,s,s,w,w,p,w,o,p,k,s,u",
    "e,x,s,g,f,n,f,w,b,k,t,e,s,s,w,w,p,w,o,e,n,a,g",
)


def _mushroom(directory: Path) -> dict[str, str]:
    path = directory / "agaricus-lepiota.data"
    path.write_text("\n".join(_MUSHROOMS * 8) + "\n")
    return {"mushroom_csv": str(path)}


def _movielens(directory: Path) -> dict[str, str]:
    """MovieLens 100K's u.data: user, movie, rating, timestamp (tab-separated)."""
    rng = np.random.default_rng(0)
    lines = [
        f"{user}\t{movie}\t{rng.integers(1, 6)}\t{881250949 + user * 100 + movie}"
        for user in range(1, 41)
        for movie in range(1, 31)
        if rng.random() < 0.6
    ]
    path = directory / "u.data"
    path.write_text("\n".join(lines) + "\n")
    return {"data_path": str(path)}


EXAMPLES = {
    # Under tf-keras, one run per distinct Keras network: the neural agents of
    # a script share its reward network (and optimizer), and differ only in
    # how they act on its output, which Keras does not touch.
    "stationary_linear": BanditExample(
        "train_eval_stationary_linear.py",
        _agents("LinUCB", "LinTS", "epsGreedy", "Mix", "Boltzmann", "BoltzmannGumbel"),
        tf_keras_runs=1,
    ),
    # NeuralLinUCB's encoder is the common tower epsGreedy also builds by
    # default, so under tf-keras it and the dot-product network run.
    "per_arm_stationary_linear": BanditExample(
        "train_eval_per_arm_stationary_linear.py",
        _agents("LinUCB", "LinTS", "NeuralLinUCB")
        + _agents("epsGreedy", network="dotproduct")
        + _agents("epsGreedy"),
        tf_keras_runs=2,
    ),
    "wheel": BanditExample(
        "train_eval_wheel.py",
        _agents("LinUCB", "LinTS", "epsGreedy", "random", "Mix"),
        tf_keras_runs=1,
    ),
    "drifting_linear": BanditExample(
        "train_eval_drifting_linear.py", _agents("LinUCB", "LinTS")
    ),
    "piecewise_linear": BanditExample(
        "train_eval_piecewise_linear.py", _agents("LinUCB", "LinTS")
    ),
    "bernoulli": BanditExample(
        "train_eval_bernoulli.py", _agents("BernTS"), saves_policy=False
    ),
    "structured_linear": BanditExample(
        "train_eval_structured_linear.py", _agents("LinUCB", "LinTS", "epsGreedy")
    ),
    # Not --agent=epsGreedy: the script tests `FLAGS.agent == 'epsGredy'`, so
    # that run never builds an agent (UnboundLocalError on TF-Agents itself).
    "sparse_features": BanditExample(
        "train_eval_sparse_features.py",
        _agents("NeuralLinUCB"),
        not_on_keras3="the script builds tf.keras.layers.DenseFeatures (feature "
        "columns), which Keras 3 removed",
    ),
    "dqn": BanditExample("train_eval_dqn.py", ({},), neural=True),
    "ranking": BanditExample(
        "train_eval_ranking.py",
        (
            {"policy_type": "cosine_distance"},
            {
                "policy_type": "no_penalty",
                "click_model": "distance_based",
                "bias_type": "exponent",
                "bias_severity": "1.2",
            },
            {"env_type": "exp_pos_bias", "policy_type": "descending_scores"},
        ),
        saves_policy=False,
        neural=True,
        constants=(("BATCH_SIZE", 16), ("NUM_ITEMS", 101)),
        tf_keras_runs=1,
    ),
    "covertype": BanditExample(
        "train_eval_covertype.py",
        _agents("LinUCB", "LinTS", "epsGreedy"),
        data=_covertype,
    ),
    "mushroom": BanditExample(
        "train_eval_mushroom.py", _agents("LinUCB", "LinTS"), data=_mushroom
    ),
    "movielens": BanditExample(
        "train_eval_movielens.py",
        _agents("LinUCB", "epsGreedy", "DropoutTS")
        + _agents("LinUCB", "epsGreedy", per_arm="true"),
        data=_movielens,
    ),
}


# Runs the renamed script's `main` once per flag setting, each in its own root_dir,
# then loads the newest saved policy with policylib and takes one action.
_RUNNER = """
import importlib.util, json, os, sys
from absl import flags
import tensorflow as tf

script, root, runs = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
spec = importlib.util.spec_from_file_location("bandit_example", script)
example = importlib.util.module_from_spec(spec)
spec.loader.exec_module(example)
flags.FLAGS(["bandit_example"])

from policylib.policies import py_tf_eager_policy
from policylib.specs import tensor_spec

for index, settings in enumerate(runs):
    root_dir = os.path.join(root, str(index))
    for name, value in settings.items():
        flags.FLAGS[name].parse(value)  # parsed as on the command line
    flags.FLAGS.root_dir = root_dir
    example.main([])
    latest = tf.train.latest_checkpoint(root_dir)
    saved = sorted(d for d in os.listdir(root_dir) if d.startswith("policy_"))
    action = []
    if saved:  # The newest saved policy loads and acts.
        policy = py_tf_eager_policy.SavedModelPyTFEagerPolicy(
            os.path.join(root_dir, saved[-1]), load_specs_from_pbtxt=True
        )
        time_step = tensor_spec.sample_spec_nest(
            policy.time_step_spec, outer_dims=(1,), seed=index
        )
        observed = tf.nest.map_structure(lambda t: t.numpy(), time_step)
        action = policy.action(observed).action.tolist()
    print(json.dumps({"settings": settings, "checkpoint": latest, "saved": saved,
                      "action": action}), flush=True)
"""


def test_renamed_budget_replaces_only_the_training_loops_constant() -> None:
    text = "TRAINING_LOOPS = 2000\nSTEPS_PER_LOOP = 2\nx = TRAINING_LOOPS\n"
    assert _short(text).splitlines() == [
        "TRAINING_LOOPS = 2",
        "STEPS_PER_LOOP = 2",
        "x = TRAINING_LOOPS",
    ]


def _short(text: str, constants: tuple[tuple[str, int], ...] = ()) -> str:
    """`text` with two training loops and `constants` (name, value) set."""
    for name, value in (("TRAINING_LOOPS", 2), *constants):
        text, count = re.subn(
            rf"^{name} = \d+$", f"{name} = {value}", text, flags=re.MULTILINE
        )
        assert count == 1, f"the script no longer sets {name} on one line"
    return text


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_tf_agents_bandit_example_trains_and_saves(name: str, tmp_path: Path) -> None:
    source = _source()
    if isinstance(source, str):
        pytest.skip(source)
    example = EXAMPLES[name]
    runs = list(example.runs)
    if keras_compat.is_keras3():
        if example.not_on_keras3:
            pytest.skip(f"tf-keras only: {example.not_on_keras3}")
    else:
        runs = [
            run for run in runs if example.neural or run.get("agent") in NEURAL_AGENTS
        ][: example.tf_keras_runs]
        if not runs:
            pytest.skip("no Keras network in these runs: they run under Keras 3 only")
    script = tmp_path / example.script
    text = renamed(source.read(f"{EXAMPLES_DIR}/{example.script}"))
    script.write_text(_short(text, example.constants))
    runner = tmp_path / "run_example.py"
    runner.write_text(_RUNNER)
    root = tmp_path / "root"
    if example.data is not None:
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        files = example.data(data_dir)
        runs = [{**files, **run} for run in runs]
    env = dict(
        os.environ,
        PYTHONPATH=str(REPO),
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
        PYTHONHASHSEED="0",
    )
    command = [sys.executable, str(runner), str(script), str(root)]
    command.append(json.dumps(runs))
    try:
        done = run_showing_stacks(command, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"{example.script} ran past {TIMEOUT_S}s:\n{_tail(e.stderr)}")
    assert done.returncode == 0, (
        f"{example.script} (from {source.where}) exited {done.returncode}:\n"
        f"{_tail(done.stderr)}"
    )
    results = [json.loads(line) for line in done.stdout.splitlines() if line[:1] == "{"]
    assert [r["settings"] for r in results] == runs
    saves = 1 if example.saves_policy else 0  # saved after the first loop
    for result in results:
        assert result["checkpoint"] and result["checkpoint"].endswith("-2"), result
        assert len(result["saved"]) == saves, result
        assert len(result["action"]) == saves, result
