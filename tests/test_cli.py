"""The `policylib` command line: evaluate and inspect, and one line for each bad input."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import tensorflow as tf

from policylib import cli, data

FIXTURES = Path(__file__).parent / "fixtures" / "tf_agents_0_19"
TF_AGENTS_SAVES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())
SUMMARY = re.compile(
    r"^Mean return: (\d+\.\d\d) ± (\d+\.\d\d) over (\d+) episodes \((.+)\)$"
)


def run(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def one_error_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


def test_evaluate_the_shipped_policy_writes_json_and_plot(capsys, tmp_path):
    status, out, err = run(
        capsys,
        "evaluate",
        "--episodes",
        "4",
        "--num-envs",
        "2",
        "--seed",
        "10000",
        "--json",
        str(tmp_path / "r.json"),
        "--plot",
        str(tmp_path / "r.png"),
    )
    assert status == 0, err
    match = SUMMARY.match(out.strip())
    assert match, out
    assert float(match[1]) >= 475 and match[3] == "4" and match[4] == "CartPole-v1"
    results = json.loads((tmp_path / "r.json").read_text())
    assert results["policy"] == data.cartpole_dqn_path()
    assert len(results["returns"]) == 4 and results["seed"] == 10000
    assert f"{results['mean_return']:.2f}" == match[1]
    assert (tmp_path / "r.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Evaluating (CartPole-v1)" in err  # the progress bar


def test_evaluate_records_a_video(capsys, tmp_path):
    status, out, err = run(
        capsys,
        "evaluate",
        "--episodes",
        "1",
        "--max-steps",
        "5",
        "--quiet",
        "--video",
        str(tmp_path / "e.gif"),
    )
    assert status == 0, err
    # The summary, then where the video went and its rate (CartPole's 50 fps).
    assert out.splitlines() == [
        "Mean return: 5.00 ± 0.00 over 1 episodes (CartPole-v1)",
        f"Video: {tmp_path / 'e.gif'} (6 frames at 50 fps)",
    ]
    assert err == ""
    assert (tmp_path / "e.gif").read_bytes()[:6] == b"GIF89a"


def test_evaluate_with_a_video_checks_and_loads_the_policy_once(
    capsys, tmp_path, monkeypatch
):
    from policylib.export import policy_source
    from policylib.policies import policy_loader, saved_graph_ops, saved_policy_files

    calls = {"check": 0, "scan": 0, "load": 0, "saved_model_load": 0}

    def counted(name, real):
        def call(*args, **kwargs):
            calls[name] += 1
            return real(*args, **kwargs)

        return call

    for module, attr, name in (
        (policy_source, "check_policy_dir", "check"),  # the source's path check
        (saved_graph_ops, "unsafe_ops", "scan"),
        (policy_loader, "load", "load"),
        (saved_policy_files, "load_saved_model", "saved_model_load"),
    ):
        monkeypatch.setattr(module, attr, counted(name, getattr(module, attr)))
    status, out, err = run(
        capsys,
        "evaluate",
        "--episodes",
        "2",
        "--max-steps",
        "3",
        "--quiet",
        "--video",
        str(tmp_path / "e.gif"),
    )
    assert status == 0, err
    assert "Video: " in out  # the video ran, on the policy evaluate loaded
    assert calls == {"check": 1, "scan": 1, "load": 1, "saved_model_load": 1}


def test_version(capsys):
    from policylib import __version__

    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"policylib {__version__}\n"


def test_old_backend_spelling_works_with_a_notice(capsys):
    pytest.importorskip("ai_edge_litert")
    status, out, err = run(
        capsys,
        "evaluate",
        "--episodes",
        "1",
        "--max-steps",
        "5",
        "--quiet",
        "--backend",
        "litert",
    )
    assert status == 0, err
    assert SUMMARY.match(out.strip())
    assert err == "policylib: note: --backend litert is now spelled --runtime litert\n"


def test_json_records_the_settings_and_versions(capsys, tmp_path):
    status, _, err = run(
        capsys,
        "evaluate",
        "--episodes",
        "2",
        "--num-envs",
        "2",
        "--max-steps",
        "7",
        "--seed",
        "1",
        "--quiet",
        "--json",
        str(tmp_path / "r.json"),
    )
    assert status == 0, err
    record = json.loads((tmp_path / "r.json").read_text())
    assert record["num_envs"] == 2 and record["max_steps"] == 7
    assert record["runtime"] == "tensorflow" and record["backend"] == "serial"
    assert record["num_workers"] == 1 and record["seed"] == 1
    from policylib import __version__

    assert record["versions"]["policylib"] == __version__
    assert record["versions"]["tensorflow"] == tf.__version__
    assert record["versions"]["gymnasium"] == gymnasium.__version__
    assert record["versions"]["keras"] in (
        "keras 3",
        "tf-keras (TF_USE_LEGACY_KERAS=1)",
    )


def test_inspect_a_litert_export(capsys, tmp_path):
    pytest.importorskip("ai_edge_litert")
    from policylib.export import litert

    export_dir = litert.export(data.cartpole_dqn_path(), tmp_path / "lite")
    status, out, err = run(capsys, "inspect", str(export_dir))
    assert status == 0, err
    assert out.startswith(f"LiteRT export: {export_dir} (policy.tflite, format ")
    assert "Action spec:\n  <root>: shape=() dtype=int64 bounds=[0, 1]" in out
    assert "  observation: shape=(4,) dtype=float32" in out
    assert re.search(r"^  action\(.*\) -> action_0$", out, re.M)


# Bad input that must fail before TensorFlow is imported (it takes seconds).
EARLY_FAILURES = [
    (["evaluate", "/no/such/policy"], 1, "no such file or directory"),
    (["evaluate", "--env", "NoSuchEnv-v9"], 1, "NoSuchEnv-v9"),
    (["evaluate", "--seed", "-1"], 2, "--seed"),
    (["evaluate", "--video", "e.avi"], 2, "--video"),
    (["evaluate", "--backend", "serial", "--workers", "3"], 2, "--backend serial"),
    (["inspect", "/no/such/policy"], 1, "no such file or directory"),
]


def test_bad_input_fails_before_tensorflow_loads():
    code = (
        "import json, sys\n"
        "from policylib import cli\n"
        "status = cli.main(json.loads(sys.argv[1]))\n"
        "print(json.dumps([status, 'tensorflow' in sys.modules]))\n"
    )
    for argv, expected_status, fragment in EARLY_FAILURES:
        done = subprocess.run(
            [sys.executable, "-c", code, json.dumps(argv)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        status, tf_loaded = json.loads(done.stdout.strip().splitlines()[-1])
        assert status == expected_status, (argv, done.stderr)
        assert fragment in done.stderr, (argv, done.stderr)
        assert not tf_loaded, f"{argv} imported TensorFlow before failing"


def test_console_script_prints_only_progress_and_the_result():
    script = shutil.which("policylib", path=os.path.dirname(sys.executable))
    assert script, "the policylib console script is not installed"
    env = {k: v for k, v in os.environ.items() if k != "POLICYLIB_TF_STARTUP_LOGS"}
    done = subprocess.run(
        [script, "evaluate", "--episodes", "2", "--max-steps", "50", "--seed", "0"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Mean return: 50.00 ± 0.00 over 2 episodes (CartPole-v1)\n"
    # tqdm redraws its line with carriage returns; every piece is the bar.
    pieces = [p.strip() for p in re.split(r"[\r\n]", done.stderr) if p.strip()]
    assert pieces, "no progress bar"
    for piece in pieces:
        assert piece.startswith("Evaluating (CartPole-v1)"), done.stderr
    assert any("loading policy" in p for p in pieces)


def test_console_script_runs_the_main_job():
    script = shutil.which("policylib", path=os.path.dirname(sys.executable))
    assert script, "the policylib console script is not installed"
    done = subprocess.run(
        [script, "evaluate", "--episodes", "4", "--num-envs", "4", "--seed", "10000"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    match = SUMMARY.match(done.stdout.strip())
    assert match and float(match[1]) >= 475, done.stdout


@pytest.mark.parametrize("name", TF_AGENTS_SAVES)
def test_inspect_tf_agents_saves(capsys, name):
    status, out, err = run(capsys, "inspect", str(FIXTURES / name))
    assert status == 0, err
    assert f"Saved policy: {FIXTURES / name}" in out
    assert re.search(r"^Train step: -?\d+$", out, re.M)
    for section in (
        "Time step spec:",
        "Action spec:",
        "Policy state spec:",
        "Info spec:",
        "Signatures:",
    ):
        assert f"\n{section}\n" in out
    assert "  step_type: shape=() dtype=int32" in out
    assert re.search(r"^  action\(.*0/step_type: int32\[\?\].*\) -> ", out, re.M)
    assert re.search(r"^  get_initial_state\(batch_size: int32\[\]\)", out, re.M)
    if name == "rnn_q":
        assert "Policy state spec:\n  (none)" not in out
    if name == "dict_obs_actor":
        assert re.search(r"^  observation/\w+: shape=", out, re.M)
    if name == "per_arm_greedy":  # a bandit with per-arm features
        assert "  observation/global: shape=(3,) dtype=float32\n" in out
        assert "  observation/per_arm: shape=(4, 2) dtype=float32\n" in out
        assert "  chosen_arm_features: shape=(2,) dtype=float32\n" in out
        assert "0/observation/per_arm: float32[?, 4, 2]" in out


def test_inspect_the_shipped_policy(capsys):
    status, out, _ = run(capsys, "inspect")  # the shipped policy by default
    assert status == 0
    assert out.startswith(f"Saved policy: {data.cartpole_dqn_path()}\n")
    # The save records what examples/train_dqn_cartpole.py trained.
    training = json.loads(
        (Path(data.cartpole_dqn_path()) / "training.json").read_text()
    )
    assert f"\nTrain step: {training['iterations']}\n" in out
    assert f'\nMetadata: {{"env_steps": {training["env_steps"]}}}\n' in out
    assert "Action spec:\n  <root>: shape=() dtype=int64 bounds=[0, 1]" in out
    assert "  observation: shape=(4,) dtype=float32" in out
    assert "Policy state spec:\n  (none)" in out


@pytest.fixture
def plain_saved_model(tmp_path):
    module = tf.Module()
    module.f = tf.function(
        lambda x: x + 1, input_signature=[tf.TensorSpec([], tf.float32)]
    )
    tf.saved_model.save(module, str(tmp_path / "plain"))
    return tmp_path / "plain"


@pytest.mark.parametrize("command", ["evaluate", "inspect"])
def test_paths_that_hold_no_policy(capsys, tmp_path, plain_saved_model, command):
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    cases = {
        tmp_path / "missing": "no such file or directory",
        tmp_path / "empty": "not a SavedModel (no saved_model.pb)",
        tmp_path / "file.txt": "is a file",
        plain_saved_model: "a SavedModel, but not a policy: it has no policy_specs.pbtxt",
    }
    for path, problem in cases.items():
        status, out, err = run(capsys, command, str(path))
        assert status == 1 and out == ""
        assert (
            one_error_line(err)
            == f"policylib: error: {path}: {problem}"
            + one_error_line(err).split(problem, 1)[1]
        )


def test_truncated_saved_model(capsys, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(data.cartpole_dqn_path(), broken)
    pb = broken / "saved_model.pb"
    pb.write_bytes(pb.read_bytes()[:200])
    status, _, err = run(capsys, "inspect", str(broken))
    assert status == 1
    assert one_error_line(err).startswith(
        f"policylib: error: {broken}: cannot load the SavedModel"
    )


def test_unknown_env(capsys):
    status, _, err = run(capsys, "evaluate", "--env", "NoSuchEnv-v0", "--quiet")
    assert status == 1
    assert one_error_line(err).startswith(
        "policylib: error: Unknown Gymnasium environment 'NoSuchEnv-v0'"
    )


def test_env_that_does_not_fit_the_policy(capsys):
    status, _, err = run(capsys, "evaluate", "--env", "Acrobot-v1", "--quiet")
    assert status == 1
    assert one_error_line(err) == (
        "policylib: error: The environment's time_step_spec does not match the policy's "
        "('observation': environment has shape (6,) float32, policy expects shape (4,) float32)."
    )


class _PushWithForce(gymnasium.Env):
    """CartPole's observations with a continuous force as the action."""

    observation_space = gymnasium.spaces.Box(-5.0, 5.0, (4,), np.float32)
    action_space = gymnasium.spaces.Box(-1.0, 1.0, (1,), np.float32)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return np.zeros(4, np.float32), {}

    def step(self, action):
        return np.zeros(4, np.float32), 1.0, True, False, {}


def test_env_whose_actions_do_not_fit(capsys):
    gymnasium.register("PushWithForce-v0", entry_point=_PushWithForce)
    try:
        status, _, err = run(capsys, "evaluate", "--env", "PushWithForce-v0", "--quiet")
    finally:
        gymnasium.registry.pop("PushWithForce-v0")
    assert status == 1
    assert one_error_line(err) == (
        "policylib: error: The environment's action_spec does not match the policy's "
        "('<root>': environment has shape (1,) float32, policy expects shape () int64)."
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (
            ["evaluate", "--episodes", "0"],
            "policylib evaluate: argument --episodes: expected a positive integer, got 0",
        ),
        (
            ["evaluate", "--episodes", "ten"],
            "policylib evaluate: argument --episodes: expected a positive integer, got 'ten'",
        ),
        (
            ["evaluate", "--num-envs", "-2"],
            "policylib evaluate: argument --num-envs: expected a positive integer, got -2",
        ),
        (
            ["evaluate", "--video", "e.avi"],
            "policylib evaluate: --video must end in .mp4 or .gif, got 'e.avi'",
        ),
        (
            ["evaluate", "--json", "/no/such/dir/r.json"],
            "policylib evaluate: no such directory for '/no/such/dir/r.json': /no/such/dir",
        ),
        (
            ["evaluate", "--ray-address", "127.0.0.1:6379"],
            "policylib evaluate: --ray-address needs --backend ray",
        ),
        (
            ["evaluate", "--backend", "litert", "--runtime", "tensorflow"],
            "policylib evaluate: --backend litert and --runtime tensorflow disagree",
        ),
        (
            ["evaluate", "--workers", "0"],
            "policylib evaluate: argument --workers: expected a positive integer, got 0",
        ),
        (
            ["evaluate", "--seed", "-1"],
            "policylib evaluate: argument --seed: expected a non-negative integer, got -1",
        ),
        (
            ["evaluate", "--backend", "serial", "--workers", "2"],
            "policylib evaluate: --backend serial runs one worker; got --workers 2",
        ),
        (
            ["evaluate", "--backend", "threads"],
            "policylib evaluate: argument --backend: invalid choice: 'threads'",
        ),
        (["frobnicate"], "policylib: argument COMMAND: invalid choice: 'frobnicate'"),
        ([], "policylib: the following arguments are required: COMMAND"),
    ],
)
def test_bad_command_lines(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert one_error_line(err).startswith(message)


def test_missing_extra_is_one_line(capsys, monkeypatch):
    real = cli.extras.importlib.import_module

    def without_matplotlib(name):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(cli.extras.importlib, "import_module", without_matplotlib)
    status, _, err = run(capsys, "evaluate", "--plot", "r.png", "--quiet")
    assert status == 1
    assert one_error_line(err) == (
        "policylib: error: Return plots (--plot) need matplotlib, which is not installed: "
        "pip install 'policylib[plot]' (from a clone: pip install -e '.[plot]')"
    )


def test_python_dash_m(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "policylib", "evaluate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert (
        done.stderr.strip().splitlines()[-1]
        == f"policylib: error: {tmp_path / 'nope'}: no such file or directory."
    )


def test_unexpected_errors_are_one_line_unless_asked(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire\nsecond line")

    monkeypatch.setattr("policylib.eval.evaluation.evaluate", broken)
    status, _, err = run(capsys, "evaluate", "--quiet")
    assert status == 1
    assert one_error_line(err) == (
        "policylib: error: RuntimeError: disk on fire "
        "(set POLICYLIB_TRACEBACK=1 for the traceback)"
    )
    monkeypatch.setenv("POLICYLIB_TRACEBACK", "1")
    with pytest.raises(RuntimeError, match="disk on fire"):
        cli.main(["evaluate", "--quiet"])


def test_evaluate_with_the_litert_backend_matches_tensorflow(capsys, tmp_path):
    pytest.importorskip("ai_edge_litert")
    args = (
        "evaluate",
        "--episodes",
        "3",
        "--seed",
        "5",
        "--max-steps",
        "200",
        "--quiet",
    )
    status, tf_out, err = run(capsys, *args)
    assert status == 0, err
    status, lite_out, err = run(
        capsys, *args, "--runtime", "litert", "--json", str(tmp_path / "r.json")
    )
    assert status == 0, err
    assert SUMMARY.match(lite_out.strip()) and lite_out == tf_out
    assert json.loads((tmp_path / "r.json").read_text())["lengths"] == [200] * 3
    # The old spelling, and LiteRT policies in worker processes.
    status, old_out, err = run(capsys, *args, "--backend", "litert", "--workers", "2")
    assert status == 0, err
    assert old_out == tf_out


def test_evaluate_in_worker_processes_matches_serial(capsys, tmp_path):
    args = ("evaluate", "--episodes", "4", "--seed", "3", "--max-steps", "60")
    status, serial_out, err = run(capsys, *args, "--quiet")
    assert status == 0, err
    status, out, err = run(
        capsys, *args, "--workers", "2", "--json", str(tmp_path / "r.json")
    )
    assert status == 0, err
    assert out == serial_out
    assert re.search(r"4/4 \[", err)  # the progress bar counts both workers' episodes
    written = json.loads((tmp_path / "r.json").read_text())
    assert written["backend"] == "processes" and written["num_workers"] == 2
    assert written["policy"] == os.path.abspath(data.cartpole_dqn_path())


def test_missing_ray_is_one_line(capsys, monkeypatch):
    real = cli.extras.importlib.import_module

    def without_ray(name):
        if name.split(".")[0] == "ray":
            raise ImportError(name)
        return real(name)

    monkeypatch.setattr(cli.extras.importlib, "import_module", without_ray)
    status, _, err = run(capsys, "evaluate", "--workers", "2", "--backend", "ray")
    assert status == 1
    assert one_error_line(err) == (
        "policylib: error: Ray workers (--backend ray) need ray, which is not "
        "installed: pip install 'policylib[ray]' (from a clone: pip install -e '.[ray]')"
    )


def test_evaluate_a_litert_export_needs_no_tensorflow(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from policylib.export import litert

    export_dir = litert.export(data.cartpole_dqn_path(), tmp_path / "lite")
    code = (
        "import sys\n"
        "class B:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('tensorflow', 'tensorflow_probability'):\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, B())\n"
        "from policylib import cli\n"
        f"status = cli.main(['evaluate', {export_dir!r}, '--episodes', '2', '--quiet',"
        " '--max-steps', '50'])\n"
        "print('LOADED', [m for m in sys.modules if m.startswith('tensorflow')])\n"
        "sys.exit(status)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert SUMMARY.match(done.stdout.splitlines()[0]), done.stdout
    assert "LOADED []" in done.stdout
