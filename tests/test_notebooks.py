"""The tutorial notebooks run top to bottom (with short training runs)."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from policylib import _tf_startup

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "tf_agents_0_19"
# What each notebook's run must print (its last results).
EXPECTED = {
    "bandits.ipynb": "served actions equal the live greedy policy's in 500 of 500 rounds",
    "bandits_ranking.ipynb": "train steps",
    "dqn_actor_learner.ipynb": "over 10 episodes (CartPole-v1)",
    "dqn_cartpole.ipynb": "Average return over 20 held-out episodes",
    "offline_rl.ipynb": "Average returns: data set",
    "policies_tutorial.ipynb": "after the update: live policy",
    "sac_pendulum.ipynb": "Average return over 10 held-out episodes",
    "save_load_evaluate.ipynb": "policylib's actions equal TF-Agents' at 5 of 5 recorded steps",
}


def test_every_notebook_is_tested_and_listed() -> None:
    names = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
    assert names == sorted(EXPECTED)
    listing = (NOTEBOOKS / "README.md").read_text()
    for name in names:
        assert f"({name})" in listing, name


def _run(name: str, tmp_path: Path) -> str:
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=600,
        # nbclient waits 4 s for a cell's last outputs and then only warns:
        # on a busy machine that lost outputs the tests then looked for.
        iopub_timeout=60,
        raise_on_iopub_timeout=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    return "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


@pytest.mark.parametrize(
    "name", ["policies_tutorial.ipynb", "save_load_evaluate.ipynb"]
)
def test_tutorial_notebook_runs(name, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("POLICYLIB_FIXTURES", str(FIXTURES))
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)  # not needed
    monkeypatch.delenv(_tf_startup.OPT_OUT, raising=False)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run(name, tmp_path)
    noise = [line for line in outputs.splitlines() if _tf_startup.is_routine(line)]
    assert not noise, noise
    assert EXPECTED[name] in outputs
    assert "Traceback" not in outputs
    if name == "policies_tutorial.ipynb":  # live and loaded policies act alike
        assert outputs.count("agree: True") == 2 and "agree: False" not in outputs
    if name == "save_load_evaluate.ipynb":
        assert "same per-episode returns with 1 and 4 environments: True" in outputs
        assert "Mean return: 500.00" in outputs


def test_dqn_notebook_runs_a_short_training(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("DQN_ITERATIONS", "300")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run("dqn_cartpole.ipynb", tmp_path)
    assert EXPECTED["dqn_cartpole.ipynb"] in outputs
    assert os.path.isdir(tmp_path / "dqn_cartpole_policy")


def test_dqn_actor_learner_notebook_runs_a_short_training(
    tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("DQN_AL_ITERATIONS", "300")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    # The notebook runs the `policylib` command: this interpreter's, as if activated.
    bin_dir = os.path.dirname(sys.executable)
    monkeypatch.setenv("PATH", bin_dir + os.pathsep + os.environ.get("PATH", ""))
    outputs = _run("dqn_actor_learner.ipynb", tmp_path)
    assert "Traceback" not in outputs
    assert "items in the table: 999" in outputs
    assert "train step 250: 250 env steps, average return" in outputs
    assert (
        "latest checkpoint: policies/checkpoints/policy_checkpoint_0000000250"
        in outputs
    )
    assert EXPECTED["dqn_actor_learner.ipynb"] in outputs
    run_dir = tmp_path / "dqn_actor_learner_run"
    assert (run_dir / "policies" / "greedy_policy" / "saved_model.pb").is_file()
    assert (tmp_path / "dqn_actor_learner_policy" / "saved_model.pb").is_file()


def test_dqn_actor_learner_notebook_saved_outputs_show_a_learned_policy() -> None:
    """The committed outputs are a full run whose saved greedy policy averages >= 400."""
    text = "".join(text for _, text in _saved_texts("dqn_actor_learner.ipynb"))
    mean = float(text.split("Mean return: ")[1].split()[0])
    assert "over 10 episodes (CartPole-v1)" in text
    assert mean >= 400


def test_bandits_notebook_runs_a_short_budget(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("BANDIT_LOOPS", "40")
    monkeypatch.setenv("BANDIT_PER_ARM_LOOPS", "20")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run("bandits.ipynb", tmp_path)
    assert "Traceback" not in outputs
    assert "cumulative regret after 40 rounds" in outputs
    assert outputs.count("sub-linear: True") == 2  # LinUCB and LinTS, seeded
    assert "trained 20 loops" in outputs
    assert EXPECTED["bandits.ipynb"] in outputs
    assert (tmp_path / "bandit_per_arm_policy" / "saved_model.pb").is_file()
    assert _has_checkpoint(tmp_path / "bandit_per_arm_run")


def _has_checkpoint(directory: Path) -> bool:
    return any(p.name.startswith("ckpt-") for p in directory.iterdir())


def test_bandits_notebook_saved_outputs_show_sub_linear_regret() -> None:
    """The committed outputs are a full, seeded run: LinUCB's and LinTS's second
    half adds less regret than the first, and the per-arm policy mostly picks
    the best item."""
    text = "".join(t for _, t in _saved_texts("bandits.ipynb"))
    halves = re.findall(
        r"(LinUCB|LinTS): the first (\d+) rounds add ([\d.]+) regret, the last "
        r"(\d+) add ([\d.]+); sub-linear: True",
        text,
    )
    assert [h[0] for h in halves] == ["LinUCB", "LinTS"], text
    for _, _, first, _, second in halves:
        assert float(second) < float(first)
    best = float(re.search(r"best of 6 items in ([\d.]+)%", text)[1])
    assert best >= 80.0
    assert any(kind == "display_data" for kind, _ in _saved_texts("bandits.ipynb"))


def test_ranking_notebook_runs_a_short_budget(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("RANKING_LOOPS", "30")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run("bandits_ranking.ipynb", tmp_path)
    assert "Traceback" not in outputs
    assert "trained 30 loops, 30 train steps" in outputs
    for name in ("trained", "random slates", "best slates (knowing W)"):
        assert f"{name}: click rate over the last 6 rounds" in outputs


def test_ranking_notebook_saved_outputs_beat_random_slates() -> None:
    """The committed outputs are a full, seeded run: the trained slates get more
    clicks than random ones, and fewer than the best slates."""
    text = "".join(t for _, t in _saved_texts("bandits_ranking.ipynb"))
    rates = dict(
        re.findall(r"(.+): click rate over the last \d+ rounds ([\d.]+)%", text)
    )
    trained, random, best = (
        float(rates[k]) for k in ("trained", "random slates", "best slates (knowing W)")
    )
    assert random + 3.0 < trained < best, rates
    assert any(
        kind == "display_data" for kind, _ in _saved_texts("bandits_ranking.ipynb")
    )


def test_sac_notebook_runs_a_short_training(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("SAC_ITERATIONS", "200")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run("sac_pendulum.ipynb", tmp_path)
    assert EXPECTED["sac_pendulum.ipynb"] in outputs
    assert "iteration 200: 1200 env steps" in outputs
    assert os.path.isdir(tmp_path / "sac_pendulum_policy")


def test_offline_notebook_runs_a_short_training(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("OFFLINE_DATA_STEPS", "600")
    monkeypatch.setenv("OFFLINE_TRAIN_STEPS", "50")
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "datasets"))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    outputs = _run("offline_rl.ipynb", tmp_path)
    assert EXPECTED["offline_rl.ipynb"] in outputs
    assert "episodes=3, steps=600" in outputs  # 200-step episodes
    assert outputs.count("50 train steps in") == 2
    assert os.path.isdir(tmp_path / "cql_sac_policy")
    assert os.path.isdir(tmp_path / "datasets" / "pendulum" / "sac-noisy-n600-v0")


def test_offline_notebook_saved_outputs_beat_the_data() -> None:
    """The committed outputs are a full run: CQL-SAC at -300 or better, above the data."""
    text = "".join(text for _, text in _saved_texts("offline_rl.ipynb"))
    found = re.search(
        r"Average returns: data set (-?[\d.]+), CQL-SAC (-?[\d.]+), BC (-?[\d.]+)", text
    )
    assert found, "the saved run's last line is missing"
    data, cql, bc = (float(v) for v in found.groups())
    assert cql >= -300 and cql > data, (data, cql, bc)
    assert "steps=20000" in text


def test_sac_notebook_saved_outputs_reach_the_target() -> None:
    """The committed outputs are a full run that reached -200 on held-out episodes."""
    notebook = nbformat.read(NOTEBOOKS / "sac_pendulum.ipynb", as_version=4)
    text = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    held_out = float(
        text.split("Average return over 10 held-out episodes: ")[1].split()[0]
    )
    assert held_out >= -200
    assert any(
        "image/png" in output.get("data", {})
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )


# An absolute path of the machine that ran a notebook: it means nothing to a
# reader and leaks where it ran.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.~])/(?:tmp|home|root|work|usr|var|Users)/")


def _saved_texts(name: str) -> list[tuple[str, str]]:
    """(stream name or output type, text) of every saved output of a notebook."""
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    texts = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.outputs:
            if "text" in output:
                texts.append((output.get("name", output.output_type), output.text))
            plain = output.get("data", {}).get("text/plain")
            if plain:
                texts.append((output.output_type, plain))
    return texts


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_saved_outputs_hold_no_start_up_noise_or_absolute_paths(name) -> None:
    for kind, text in _saved_texts(name):
        for line in text.splitlines():
            assert not _tf_startup.is_routine(line), f"{name} ({kind}): {line}"
            assert not _ABSOLUTE_PATH.search(line), f"{name} ({kind}): {line}"
            assert str(NOTEBOOKS.parent) not in line, f"{name} ({kind}): {line}"
