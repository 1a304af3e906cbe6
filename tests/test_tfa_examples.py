"""TF-Agents' own example training scripts run on policylib, renamed at run time.

Each script is read from an installed TF-Agents 0.19 (never copied into this
repository), its imports renamed (`tf_agents` -> `policylib`, `import reverb`
-> `from policylib import reverb`), written to `tmp_path` and run in a
subprocess with tiny budgets. The test then checks what TF-Agents' Actor /
Learner loop leaves behind: training checkpoints and saved policies, which
policylib loads and runs in the environment.

The scripts come from, in order: the `tf_agents` package of the Python named by
POLICYLIB_TF_AGENTS_PYTHON (`.ci/run` sets one up), the wheel named by
POLICYLIB_TF_AGENTS_WHEEL, or /tmp/tfa/tf_agents-0.19.0-py3-none-any.whl;
skipped when none is there.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import os
import re
import signal
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_WHEEL = Path("/tmp/tfa/tf_agents-0.19.0-py3-none-any.whl")
# Helper modules an example imports from `tf_agents.examples` are written, renamed,
# under this top-level package next to the script (policylib has no `examples`).
EXAMPLES_PACKAGE = "tfa_examples"
TIMEOUT_S = 300


@dataclasses.dataclass(frozen=True)
class ExampleSource:
    """Where TF-Agents' files are read from: `read('examples/dqn/x.py')`."""

    where: str
    read: Callable[[str], str]


def _from_python(python: str) -> ExampleSource | None:
    """The `tf_agents` package directory of another Python, found without importing it."""
    done = subprocess.run(
        [
            python,
            "-c",
            "import importlib.util as u; s = u.find_spec('tf_agents'); "
            "print(s.submodule_search_locations[0] if s else '')",
        ],
        capture_output=True,
        text=True,
        env=dict(os.environ, PYTHONPATH=""),
        timeout=60,
    )
    package = done.stdout.strip()
    if done.returncode != 0 or not package:
        return None
    root = Path(package)
    return ExampleSource(str(root), lambda name: (root / name).read_text())


def _from_wheel(wheel: Path) -> ExampleSource:
    def read(name: str) -> str:
        with zipfile.ZipFile(wheel) as archive:
            return archive.read(f"tf_agents/{name}").decode()

    return ExampleSource(str(wheel), read)


@functools.cache
def _source() -> ExampleSource | str:
    """TF-Agents' files, or why none were found (the skip reason)."""
    tried = []
    python = os.environ.get("POLICYLIB_TF_AGENTS_PYTHON")
    if python:
        found = _from_python(python)
        if found:
            return found
        tried.append(f"POLICYLIB_TF_AGENTS_PYTHON={python} has no tf_agents package")
    else:
        tried.append("POLICYLIB_TF_AGENTS_PYTHON is not set")
    wheel = os.environ.get("POLICYLIB_TF_AGENTS_WHEEL")
    for candidate in ([Path(wheel)] if wheel else []) + [DEFAULT_WHEEL]:
        if candidate.is_file():
            return _from_wheel(candidate)
        tried.append(f"no wheel at {candidate}")
    return "TF-Agents 0.19 examples not found: " + "; ".join(tried)


_EXAMPLES_IMPORT = re.compile(r"\btf_agents\.examples\.([\w.]+) import (\w+)")
_IMPORT_REVERB = re.compile(r"^([ \t]*)import reverb[ \t]*$", re.MULTILINE)


def renamed(text: str) -> str:
    """`text` importing policylib (and policylib.reverb) instead of TF-Agents (and Reverb)."""
    text = re.sub(r"\btf_agents\.examples\b", EXAMPLES_PACKAGE, text)
    text = _IMPORT_REVERB.sub(r"\1from policylib import reverb", text)
    return re.sub(r"\btf_agents\b", "policylib", text)


def _write_renamed(source: ExampleSource, name: str, target: Path, code: Path) -> None:
    """Writes TF-Agents' file `name` (e.g. 'examples/ppo/x.py') renamed to `target`.

    Each helper it imports (`from tf_agents.examples.a.b import c`) is written
    the same way to `code/tfa_examples/a/b/c.py` (packages get an `__init__.py`).
    """
    text = source.read(name)
    for package, module in _EXAMPLES_IMPORT.findall(text):
        directory = code / EXAMPLES_PACKAGE
        for part in ["", *package.split(".")]:
            directory = directory / part
            directory.mkdir(exist_ok=True)
            (directory / "__init__.py").touch()
        helper = directory / f"{module}.py"
        if not helper.exists():
            helper_name = f"examples/{package.replace('.', '/')}/{module}.py"
            _write_renamed(source, helper_name, helper, code)
    target.write_text(renamed(text))


class Layout(enum.Enum):
    """What a script leaves in its root_dir, and so what the test checks."""

    # The Actor-Learner scripts (`examples/`): Learner checkpoints and saved
    # policies, which policylib loads and runs.
    ACTOR_LEARNER = "actor_learner"
    # The v2 driver scripts (`agents/*/examples/v2/`): train and eval summaries
    # and, where the script has checkpointers, TF checkpoints.
    V2 = "v2"
    V2_CHECKPOINTS = "v2_checkpoints"


@dataclasses.dataclass(frozen=True)
class Example:
    """One example script and the tiny run that exercises it."""

    script: str  # relative to the tf_agents package
    env_name: str
    flags: tuple[str, ...]
    gin_bindings: tuple[str, ...]
    gin_flag: str = "gin_bindings"  # the v2 scripts call it gin_param
    layout: Layout = Layout.ACTOR_LEARNER


def _v2(
    script: str,
    env_name: str,
    flags: tuple[str, ...],
    gin: tuple[str, ...],
    checkpoints: bool,
) -> Example:
    return Example(
        script,
        env_name,
        flags,
        tuple(f"train_eval.{binding}" for binding in gin),
        gin_flag="gin_param",
        layout=Layout.V2_CHECKPOINTS if checkpoints else Layout.V2,
    )


# Small budgets shared by the v2 scripts that read gin: summaries and
# checkpoints every 5 iterations of 10, one evaluation episode.
_V2_SMALL = (
    "eval_interval=5",
    "num_eval_episodes=1",
    "log_interval=5",
    "summary_interval=5",
    "replay_buffer_capacity=1000",
    "batch_size=8",
)
_V2_CHECKPOINTED = (
    "train_checkpoint_interval=5",
    "policy_checkpoint_interval=5",
    "rb_checkpoint_interval=10",
)
_V2_RNN = (
    "observations_allowlist='position'",  # the script's default, dm_control's cartpole
    "actor_fc_layers=(8,)",
    "actor_output_fc_layers=(8,)",
    "actor_lstm_size=(8,)",
    "critic_joint_fc_layers=(8,)",
    "critic_output_fc_layers=(8,)",
    "critic_lstm_size=(8,)",
    "train_sequence_length=4",
    "train_steps_per_iteration=2",
)


EXAMPLES = {
    "dqn": Example(
        "examples/dqn/dqn_train_eval.py",
        "CartPole-v0",  # the script's default
        ("--num_iterations=4", "--eval_interval=4"),
        (
            "train_eval.initial_collect_steps=40",
            "train_eval.fc_layer_params=(16,)",
            "train_eval.batch_size=8",
            "train_eval.replay_capacity=1000",
            "train_eval.policy_save_interval=2",
            "train_eval.eval_episodes=1",
            # Learner and PPOLearner are gin-configurable in TF-Agents.
            "Learner.checkpoint_interval=2",
        ),
    ),
    "sac": Example(
        "examples/sac/haarnoja18/sac_train_eval.py",
        "Pendulum-v1",
        ("--num_iterations=4", "--eval_interval=4"),
        (
            "train_eval.env_name='Pendulum-v1'",
            "train_eval.initial_collect_steps=40",
            "train_eval.actor_fc_layers=(16,)",
            "train_eval.critic_joint_fc_layers=(16,)",
            "train_eval.batch_size=8",
            "train_eval.replay_capacity=1000",
            "train_eval.policy_save_interval=2",
            "train_eval.replay_buffer_save_interval=2",
            "train_eval.eval_episodes=1",
            "Learner.checkpoint_interval=2",
        ),
    ),
    "ppo": Example(
        "examples/ppo/schulman17/ppo_clip_train_eval.py",
        "Pendulum-v1",
        ("--num_iterations=2", "--eval_interval=1"),
        (
            "train_eval.env_name='Pendulum-v1'",
            "train_eval.actor_fc_layers=(16,)",
            "train_eval.value_fc_layers=(16,)",
            "train_eval.collect_sequence_length=64",
            "train_eval.minibatch_size=32",
            "train_eval.num_epochs=1",
            "train_eval.policy_save_interval=1",
            "train_eval.summary_interval=1",
            "train_eval.eval_episodes=1",
            "PPOLearner.checkpoint_interval=1",
        ),
    ),
    "dqn_rnn": Example(
        "examples/dqn/dqn_train_eval_rnn.py",
        "MaskedCartPole-v0",
        (
            "--env_name=MaskedCartPole-v0",
            "--train_sequence_length=4",
            "--num_iterations=4",
            "--eval_interval=4",
        ),
        (
            "train_eval.initial_collect_steps=40",
            "train_eval.batch_size=8",
            "train_eval.replay_capacity=1000",
            "train_eval.policy_save_interval=2",
            "train_eval.eval_episodes=1",
            "Learner.checkpoint_interval=2",
        ),
    ),
    # TF-Agents' v2 driver scripts, with their default environments.
    "dqn_v2": _v2(
        "agents/dqn/examples/v2/train_eval.py",
        "CartPole-v0",
        ("--num_iterations=10",),
        (
            *_V2_SMALL,
            *_V2_CHECKPOINTED,
            "initial_collect_steps=32",
            "fc_layer_params=(16,)",
        ),
        checkpoints=True,
    ),
    "dqn_v2_rnn": _v2(
        "agents/dqn/examples/v2/train_eval.py",
        "MaskedCartPole-v0",
        ("--num_iterations=10",),
        (
            *_V2_SMALL,
            *_V2_CHECKPOINTED,
            "env_name='MaskedCartPole-v0'",
            "train_sequence_length=4",
            "initial_collect_steps=32",
            "input_fc_layer_params=(8,)",
            "lstm_size=(8,)",
            "output_fc_layer_params=(8,)",
        ),
        checkpoints=True,
    ),
    "sac_v2": _v2(  # its budget comes through gin alone
        "agents/sac/examples/v2/train_eval.py",
        "HalfCheetah-v2",
        (),
        (
            "num_iterations=10",
            *_V2_SMALL,
            *_V2_CHECKPOINTED,
            "initial_collect_steps=32",
            "actor_fc_layers=(16,)",
            "critic_joint_fc_layers=(16,)",
        ),
        checkpoints=True,
    ),
    # The RNN scripts train on dm_control's cartpole, whose 1,000-step episodes
    # are cut to 50 (`time_limit` in seconds of 0.01 s steps) through the
    # suite's own gin binding; this one trains on every step of an episode.
    "sac_v2_rnn": _v2(
        "agents/sac/examples/v2/train_eval_rnn.py",
        "cartpole",
        ("--gin_param=suite_dm_control.load.task_kwargs={'time_limit': 0.5}",),
        (
            "num_iterations=1",
            *_V2_SMALL,
            *_V2_CHECKPOINTED,
            *_V2_RNN,
            "train_steps_per_iteration=1",
            "eval_interval=25",
        ),
        checkpoints=True,
    ),
    "ddpg_v2": _v2(
        "agents/ddpg/examples/v2/train_eval.py",
        "HalfCheetah-v2",
        ("--num_iterations=10",),
        (
            *_V2_SMALL,
            "initial_collect_steps=32",
            "actor_fc_layers=(16,)",
            "critic_obs_fc_layers=(16,)",
            "critic_joint_fc_layers=(16,)",
        ),
        checkpoints=False,
    ),
    "ddpg_v2_rnn": _v2(
        "agents/ddpg/examples/v2/train_eval_rnn.py",
        "cartpole",
        (
            "--num_iterations=2",
            "--gin_param=suite_dm_control.load.task_kwargs={'time_limit': 0.5}",
        ),
        (*_V2_SMALL, *_V2_RNN, "critic_obs_fc_layers=(8,)"),
        checkpoints=False,
    ),
    # These two read flags only (no gin).
    "reinforce_v2": _v2(
        "agents/reinforce/examples/v2/train_eval.py",
        "CartPole-v0",
        ("--num_iterations=3",),
        (),
        checkpoints=False,
    ),
    "ppo_v2": _v2(
        "agents/ppo/examples/v2/train_eval_clip_agent.py",
        "HalfCheetah-v2",
        (
            "--num_environment_steps=2000",
            "--num_parallel_environments=2",
            "--collect_episodes_per_iteration=2",
            "--num_epochs=1",
            "--num_eval_episodes=1",
            "--replay_buffer_capacity=1001",
        ),
        (),
        checkpoints=True,
    ),
}


def _run_example(example: Example, tmp_path: Path) -> Path:
    """Runs the renamed script with its tiny budget; returns its root_dir."""
    source = _source()
    if isinstance(source, str):
        pytest.skip(source)
    code = tmp_path / "code"
    code.mkdir()
    script = code / Path(example.script).name
    _write_renamed(source, example.script, script, code)
    root_dir = tmp_path / "root"
    command = [sys.executable, str(script), f"--root_dir={root_dir}", *example.flags]
    command += [f"--{example.gin_flag}={binding}" for binding in example.gin_bindings]
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join([str(code), str(REPO)]),
        TF_CPP_MIN_LOG_LEVEL="3",
        CUDA_VISIBLE_DEVICES="",
        PYTHONHASHSEED="0",
    )
    try:
        done = run_showing_stacks(command, cwd=tmp_path, env=env, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as e:
        pytest.fail(
            f"{example.script} (from {source.where}) ran past {TIMEOUT_S}s:\n"
            f"{_tail(e.stderr)}"
        )
    assert done.returncode == 0, (
        f"{example.script} (from {source.where}, renamed at {script}) exited "
        f"{done.returncode}:\n{_tail(done.stderr)}"
    )
    return root_dir


def run_showing_stacks(
    command: list[str], *, cwd: Path | None = None, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess:
    """`subprocess.run` capturing text; a child still running after `timeout` s
    gets SIGABRT first, so that (with PYTHONFAULTHANDLER) its stderr ends with
    every thread's stack: a hang in CI then says where it waited.

    Raises:
      subprocess.TimeoutExpired: the child ran past `timeout`; its output so
        far, stacks included, is on the exception.
    """
    env = dict(env, PYTHONFAULTHANDLER="1")
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.send_signal(signal.SIGABRT)
            try:
                out, err = child.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
                out, err = child.communicate()
            raise subprocess.TimeoutExpired(
                command, timeout, output=out, stderr=err
            ) from None
    return subprocess.CompletedProcess(command, child.returncode, out, err)


def _tail(text: str | bytes | None, size: int = 4000) -> str:
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    return (text or "")[-size:]


def _check_outputs(root_dir: Path, env_name: str) -> None:
    """Checkpoints and saved policies are there; policylib loads one and acts with it."""
    import tensorflow as tf

    from policylib.environments import suite_gym
    from policylib.environments.examples import masked_cartpole  # noqa: F401 - its ids
    from policylib.policies import policy_loader

    train_checkpoints = root_dir / "train" / "checkpoints"
    assert tf.train.latest_checkpoint(str(train_checkpoints)), (
        f"no Learner checkpoint in {train_checkpoints}: "
        f"{sorted(p.name for p in train_checkpoints.glob('*'))}"
    )
    policies = root_dir / "policies"
    for kind in ("policy", "collect_policy", "greedy_policy"):
        assert (policies / kind / "saved_model.pb").is_file(), (
            f"no {kind} in {policies}"
        )
    policy_checkpoints = sorted((policies / "checkpoints").glob("policy_checkpoint_*"))
    assert policy_checkpoints, f"no policy checkpoints in {policies / 'checkpoints'}"
    latest = policy_checkpoints[-1]
    step = int(latest.name.rsplit("_", 1)[1])
    assert step > 0

    policy = policy_loader.load(str(policies / "greedy_policy"), str(latest))
    assert int(policy.get_train_step()) == step
    env = suite_gym.load(env_name)
    env.seed(0)
    time_step = env.reset()
    state = policy.get_initial_state(None)  # () but for the RNN policies
    for _ in range(5):  # the environment checks each action against its spec
        action, state, _ = policy.action(time_step, state)
        assert np.all(np.isfinite(action))
        time_step = env.step(action)


def _check_v2_outputs(root_dir: Path, checkpoints: bool) -> None:
    """Summaries were written, an evaluation's AverageReturn among them; and,
    where the script checkpoints, its agent and policy checkpoints."""
    import tensorflow as tf

    found: dict[str, list[float]] = {}
    # Most scripts write train/ and eval/ summaries; SAC's RNN script writes
    # one file in root_dir, its evaluation under an 'Eval' prefix.
    for events in sorted(root_dir.rglob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.HasField("tensor"):
                    number = tf.make_ndarray(value.tensor)
                    if number.ndim == 0 and number.dtype.kind == "f":
                        found.setdefault(value.tag, []).append(float(number))
    returns = [v for tag, v in found.items() if tag.endswith("AverageReturn")]
    assert returns and all(np.isfinite(returns[0])), (
        f"no AverageReturn among the summaries in {root_dir}: {sorted(found)}"
    )
    assert len(found) > len(returns), f"only returns were summarised: {sorted(found)}"
    if not checkpoints:
        return
    # The agent's checkpoints in train/, the policy's in train/policy (policy/
    # in SAC's RNN script).
    for directories in (("train",), ("train/policy", "policy")):
        latest = next(
            filter(
                None,
                (tf.train.latest_checkpoint(str(root_dir / d)) for d in directories),
            ),
            None,
        )
        assert latest, f"no checkpoint in {root_dir} / {' or '.join(directories)}"
        names = [name for name, _ in tf.train.list_variables(latest)]
        assert any("/.ATTRIBUTES/VARIABLE_VALUE" in n for n in names), names


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_tf_agents_example_trains_and_saves_policies(name: str, tmp_path) -> None:
    example = EXAMPLES[name]
    root_dir = _run_example(example, tmp_path)
    if example.layout is Layout.ACTOR_LEARNER:
        _check_outputs(root_dir, example.env_name)
    else:
        _check_v2_outputs(root_dir, example.layout is Layout.V2_CHECKPOINTS)
    if name == "sac":  # its ReverbCheckpointTrigger checkpoints the replay table
        replay = root_dir / "train" / "replay_buffer_checkpoints"
        assert replay.is_dir() and any(replay.iterdir()), f"nothing in {replay}"


def test_renaming_keeps_lines_and_renames_only_library_imports() -> None:
    text = (
        "import reverb\n"
        "  import reverb\n"
        "import reverb_extra\n"
        "from tf_agents.train import learner\n"
        "from tf_agents.examples.ppo.schulman17 import train_eval_lib\n"
        "x = my_tf_agents_thing\n"
    )
    assert renamed(text).splitlines() == [
        "from policylib import reverb",
        "  from policylib import reverb",
        "import reverb_extra",
        "from policylib.train import learner",
        f"from {EXAMPLES_PACKAGE}.ppo.schulman17 import train_eval_lib",
        "x = my_tf_agents_thing",
    ]


def test_helpers_of_an_example_are_written_as_a_package(tmp_path) -> None:
    files = {
        "examples/a/run.py": "from tf_agents.examples.a.b import lib\nimport reverb\n",
        "examples/a/b/lib.py": "from tf_agents.examples.a import util\n",
        "examples/a/util.py": "from tf_agents.utils import common\n",
    }
    source = ExampleSource("memory", files.__getitem__)
    _write_renamed(source, "examples/a/run.py", tmp_path / "run.py", tmp_path)
    assert (tmp_path / "run.py").read_text() == (
        f"from {EXAMPLES_PACKAGE}.a.b import lib\nfrom policylib import reverb\n"
    )
    helpers = tmp_path / EXAMPLES_PACKAGE / "a"
    assert (helpers / "b" / "lib.py").read_text() == (
        f"from {EXAMPLES_PACKAGE}.a import util\n"
    )
    assert (helpers / "util.py").read_text() == "from policylib.utils import common\n"
    for package in (
        EXAMPLES_PACKAGE,
        f"{EXAMPLES_PACKAGE}/a",
        f"{EXAMPLES_PACKAGE}/a/b",
    ):
        assert (tmp_path / package / "__init__.py").is_file()


def test_a_child_past_its_timeout_shows_where_it_waited() -> None:
    child = "import time\ndef waiting_here():\n    time.sleep(60)\nwaiting_here()"
    with pytest.raises(subprocess.TimeoutExpired) as e:
        run_showing_stacks([sys.executable, "-c", child], env={}, timeout=10)
    assert "waiting_here" in e.value.stderr
    done = run_showing_stacks([sys.executable, "-c", "print('hi')"], env={}, timeout=60)
    assert (done.returncode, done.stdout) == (0, "hi\n")
