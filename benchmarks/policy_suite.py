#!/usr/bin/env python3
"""policylib's speed suite: per-call policy costs, saving, cold start, evaluation.

    .venv/bin/python benchmarks/policy_suite.py --out /tmp/suite.json
    .venv/bin/python benchmarks/policy_suite.py --quick            # a smoke run
    .venv/bin/python benchmarks/policy_suite.py --tfa-python <tf-agents venv>/bin/python

One command times every case below in this interpreter (policylib, or
`--lib tf_agents` in a TF-Agents 0.19 venv: the same module paths) and prints
a markdown table of medians over interleaved trials, with the spread
(25th-75th percentile) and the ratio to the floors measured in the same run.
With `--tfa-python`, it then runs itself there (`TF_USE_LEGACY_KERAS=1`) and
prints both libraries side by side. JSON goes to `--out`.

Per-call cases, at batch 1 and 256 (one TF thread): the NumPy forward pass +
argmax (the arithmetic floor) and a bare `tf.function` over the same
variables (TensorFlow's call floor, with tensor and with NumPy inputs);
RandomPyPolicy, ScriptedPyPolicy, RandomTFPolicy; the greedy Q policy eager,
under `tf.function` and through `PyTFEagerPolicy`; EpsilonGreedyPolicy and
ActorPolicy under `tf.function`; a loaded SavedModel through
`SavedModelPyTFEagerPolicy`; `LiteRTPolicy`. One-off cases: save, load, LiteRT
export, first call (tracing included), cold start of `import policylib`, and
evaluation steps/s on CartPole-v1 with the shipped saved policy (1 and 4
environments, TensorFlow and LiteRT) against a random-action Gymnasium loop.

A benchmark, not a test: run it on a quiet machine and quote ratios from one run.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--lib", default="policylib", choices=("policylib", "tf_agents"))
    p.add_argument("--out", help="write the results as JSON here")
    p.add_argument("--md", help="also write the markdown table here")
    p.add_argument("--tfa-python", help="a TF-Agents 0.19 interpreter: run there too")
    p.add_argument("--quick", action="store_true", help="few trials, few episodes")
    p.add_argument("--trials", type=int, default=None, help="trials per case (9)")
    p.add_argument(
        "--episodes", type=int, default=None, help="evaluation episodes (100)"
    )
    p.add_argument("--trial-ms", type=float, default=25.0, help="length of one trial")
    return p.parse_args(argv)


# --------------------------------------------------------------------------
# Timing


def _calibrate(fn: Callable[[], Any], trial_s: float) -> int:
    """Calls per trial so that one trial lasts about `trial_s`."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        took = time.perf_counter() - start
        if took >= trial_s / 4 or n >= 1 << 20:
            return max(1, int(n * trial_s / max(took, 1e-9)))
        n *= 4


def _time_interleaved(
    cases: dict[str, Callable[[], Any]], trials: int, trial_s: float
) -> dict[str, dict[str, float]]:
    """Median (and quartiles) of the mean per-call time, trials interleaved.

    Trials of all cases run round-robin in a shuffled order each round, so a
    burst of load on a shared machine spreads over the cases.
    """
    counts = {}
    for name, fn in cases.items():
        fn()  # warm up (tracing, allocation)
        counts[name] = _calibrate(fn, trial_s)
    samples: dict[str, list[float]] = {name: [] for name in cases}
    order = list(cases)
    rng = random.Random(0)
    for _ in range(trials):
        rng.shuffle(order)
        for name in order:
            fn, n = cases[name], counts[name]
            gc.disable()
            start = time.perf_counter()
            for _ in range(n):
                fn()
            took = time.perf_counter() - start
            gc.enable()
            samples[name].append(took / n)
    return {name: _stats(values) for name, values in samples.items()}


def _stats(values: list[float]) -> dict[str, float]:
    q = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return {
        "median": statistics.median(values),
        "p25": q[0],
        "p75": q[-1],
        "n": len(values),
    }


def _once(fn: Callable[[], Any], repeats: int) -> dict[str, float]:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return _stats(values)


# --------------------------------------------------------------------------
# The cases


class Suite:
    """Builds every case of one library in this process."""

    def __init__(self, lib: str, args: argparse.Namespace):
        self.lib = lib
        self.args = args
        self.tf = importlib.import_module("tensorflow")
        self.tf.config.threading.set_intra_op_parallelism_threads(1)
        self.tf.config.threading.set_inter_op_parallelism_threads(1)
        self.np = importlib.import_module("numpy")
        self.tmp = tempfile.mkdtemp(prefix="policy_suite-")

    def mod(self, path: str) -> Any:
        return importlib.import_module(f"{self.lib}.{path}")

    # Shared pieces -------------------------------------------------------

    def build(self) -> None:
        tf = self.tf
        tensor_spec = self.mod("specs.tensor_spec")
        ts = self.mod("trajectories.time_step")
        q_network = self.mod("networks.q_network")
        q_policy = self.mod("policies.q_policy")
        greedy_policy = self.mod("policies.greedy_policy")
        self.ts = ts
        self.obs_spec = tensor_spec.BoundedTensorSpec((4,), tf.float32, -5, 5, "obs")
        self.act_spec = tensor_spec.BoundedTensorSpec((), tf.int64, 0, 2, "action")
        self.step_spec = ts.time_step_spec(self.obs_spec)
        tf.keras.utils.set_random_seed(0)
        self.q_net = q_network.QNetwork(
            self.obs_spec, self.act_spec, fc_layer_params=(64, 64)
        )
        self.q_policy = q_policy.QPolicy(
            self.step_spec, self.act_spec, q_network=self.q_net
        )
        self.greedy = greedy_policy.GreedyPolicy(self.q_policy)
        self.batches = {b: self._steps(b) for b in (1, 256)}
        self.tf_batches = {
            b: tf.nest.map_structure(tf.convert_to_tensor, s)
            for b, s in self.batches.items()
        }
        self.greedy.action(self.tf_batches[1])  # builds the network's variables
        self.saved = os.path.join(self.tmp, "greedy_saved")
        self.mod("policies.policy_saver").PolicySaver(
            self.greedy, batch_size=None
        ).save(self.saved)

    def _steps(self, batch: int) -> Any:
        np = self.np
        rng = np.random.default_rng(batch)
        return self.ts.TimeStep(
            np.ones(batch, np.int32),
            np.zeros(batch, np.float32),
            np.ones(batch, np.float32),
            rng.uniform(-5, 5, (batch, 4)).astype(np.float32),
        )

    def _numpy_weights(self) -> list[Any]:
        return [v.numpy() for v in self.q_net.variables]

    # Per-call cases --------------------------------------------------------

    def per_call_cases(self, batch: int) -> dict[str, Callable[[], Any]]:
        tf, np = self.tf, self.np
        steps, tf_steps = self.batches[batch], self.tf_batches[batch]
        obs, tf_obs = steps.observation, tf_steps.observation
        w = self._numpy_weights()
        kernels, biases = w[0::2], w[1::2]

        def numpy_floor() -> Any:
            x = obs
            for i, (k, b) in enumerate(zip(kernels, biases)):
                x = x @ k + b
                if i < len(kernels) - 1:
                    x = np.maximum(x, 0.0)
            return np.argmax(x, -1)

        net = self.q_net

        @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float32)])
        def bare(x: Any) -> Any:
            return tf.argmax(net(x)[0], -1)

        @tf.function
        def bare_time_step(step: Any) -> Any:
            return tf.argmax(net(step.observation)[0], -1)

        py_tf_eager = self.mod("policies.py_tf_eager_policy")
        random_py = self.mod("policies.random_py_policy")
        random_tf = self.mod("policies.random_tf_policy")
        epsilon = self.mod("policies.epsilon_greedy_policy")
        tensor_spec = self.mod("specs.tensor_spec")
        array_step_spec = tensor_spec.to_array_spec(self.step_spec)
        array_act_spec = tensor_spec.to_array_spec(self.act_spec)
        cases: dict[str, Callable[[], Any]] = {
            "numpy_floor": numpy_floor,
            "tf_function_floor": lambda: bare(tf_obs),
            "tf_function_floor_numpy_io": lambda: bare(obs).numpy(),
            # The same graph taking the whole TimeStep: tf.function's own cost
            # of binding a nest of four tensors.
            "tf_function_floor_time_step_in": lambda: bare_time_step(tf_steps),
        }
        rpp = random_py.RandomPyPolicy(
            array_step_spec,
            array_act_spec,
            seed=0,
            outer_dims=None if batch == 1 else (batch,),
        )
        unbatched = self.ts.TimeStep(*(x[0] for x in steps)) if batch == 1 else steps
        cases["random_py_policy"] = lambda: rpp.action(unbatched)
        if batch == 1:
            scripted = self.mod("policies.scripted_py_policy").ScriptedPyPolicy(
                array_step_spec, array_act_spec, [(10**9, np.int64(1))]
            )
            state = scripted.get_initial_state()
            cases["scripted_py_policy"] = lambda: scripted.action(unbatched, state)
        rtp = random_tf.RandomTFPolicy(self.step_spec, self.act_spec)
        cases["random_tf_policy_eager"] = lambda: rtp.action(tf_steps)
        greedy = self.greedy
        cases["q_greedy_eager"] = lambda: greedy.action(tf_steps)
        traced = tf.function(greedy.action)
        cases["q_greedy_tf_function"] = lambda: traced(tf_steps)
        # Batched NumPy time steps in: TF-Agents' wrappers need to be told so.
        wrapper = py_tf_eager.PyTFEagerPolicy(
            greedy, use_tf_function=True, batch_time_steps=False
        )
        cases["q_greedy_PyTFEagerPolicy"] = lambda: wrapper.action(steps)
        eps = epsilon.EpsilonGreedyPolicy(self.q_policy, epsilon=0.1)
        eps_fn = tf.function(eps.action)
        cases["epsilon_greedy_tf_function"] = lambda: eps_fn(tf_steps)
        actor, actor_steps = self._actor(batch)
        cases["actor_policy_tf_function"] = lambda: actor(actor_steps)
        loaded = py_tf_eager.SavedModelPyTFEagerPolicy(
            self.saved, load_specs_from_pbtxt=True, batch_time_steps=False
        )
        cases["SavedModelPyTFEagerPolicy"] = lambda: loaded.action(steps)
        if self.lib == "policylib" and _has("ai_edge_litert"):
            lite = self._litert_policy()
            cases["LiteRTPolicy"] = lambda: lite.action(steps)
        return cases

    def _actor(self, batch: int) -> tuple[Callable[[Any], Any], Any]:
        tf = self.tf
        tensor_spec = self.mod("specs.tensor_spec")
        net_lib = self.mod("networks.actor_distribution_network")
        actor_policy = self.mod("policies.actor_policy")
        spec = tensor_spec.BoundedTensorSpec((2,), tf.float32, -1.0, 1.0, "action")
        tf.keras.utils.set_random_seed(1)
        net = net_lib.ActorDistributionNetwork(
            self.obs_spec, spec, fc_layer_params=(64, 64)
        )
        policy = actor_policy.ActorPolicy(self.step_spec, spec, net)
        return tf.function(policy.action), self.tf_batches[batch]

    def _litert_policy(self) -> Any:
        if not hasattr(self, "_lite"):
            litert = importlib.import_module("policylib.export.litert")
            path = litert.export(self.greedy, os.path.join(self.tmp, "lite"))
            lite_mod = importlib.import_module("policylib.export.litert_policy")
            self._lite = lite_mod.LiteRTPolicy(path, num_threads=1)
        return self._lite

    # One-off cases ----------------------------------------------------------

    def one_off_cases(self, repeats: int) -> dict[str, dict[str, float]]:
        saver = self.mod("policies.policy_saver")
        py_tf_eager = self.mod("policies.py_tf_eager_policy")
        out: dict[str, dict[str, float]] = {}
        counter = iter(range(10**6))

        def save() -> None:
            path = os.path.join(self.tmp, f"save_{next(counter)}")
            saver.PolicySaver(self.greedy, batch_size=None).save(path)

        out["PolicySaver_construct_and_save"] = _once(save, repeats)
        out["SavedModelPyTFEagerPolicy_load"] = _once(
            lambda: py_tf_eager.SavedModelPyTFEagerPolicy(
                self.saved, load_specs_from_pbtxt=True
            ),
            repeats,
        )
        out["first_call_PyTFEagerPolicy"] = _once(
            lambda: py_tf_eager.PyTFEagerPolicy(
                self.greedy, batch_time_steps=False
            ).action(self.batches[1]),
            repeats,
        )
        out["first_call_SavedModel_load_and_action"] = _once(
            lambda: py_tf_eager.SavedModelPyTFEagerPolicy(
                self.saved, load_specs_from_pbtxt=True, batch_time_steps=False
            ).action(self.batches[1]),
            repeats,
        )
        if self.lib == "policylib" and _has("ai_edge_litert"):
            litert = importlib.import_module("policylib.export.litert")
            out["litert_export"] = _once(
                lambda: litert.export(
                    self.greedy, os.path.join(self.tmp, f"lite_{next(counter)}")
                ),
                repeats,
            )
        out["cold_import"] = _cold(f"import {self.lib}", repeats)
        out["cold_import_and_first_action_SavedModel"] = _cold(
            "import numpy as np\n"
            f"from {self.lib}.policies import py_tf_eager_policy as p\n"
            f"from {self.lib}.trajectories import time_step as ts\n"
            f"pol = p.SavedModelPyTFEagerPolicy({self.saved!r}, load_specs_from_pbtxt=True)\n"
            "pol.action(ts.TimeStep(np.int32(1), np.float32(0), np.float32(1), "
            "np.zeros(4, np.float32)))",
            repeats,
        )
        if self.lib == "policylib" and _has("ai_edge_litert"):
            lite_dir = self._litert_policy().export_dir
            out["cold_import_and_first_action_LiteRT"] = _cold(
                "import numpy as np\n"
                "from policylib.export import litert_policy\n"
                "from policylib.trajectories import time_step as ts\n"
                f"pol = litert_policy.LiteRTPolicy({lite_dir!r})\n"
                "pol.action(ts.TimeStep(np.int32(1), np.float32(0), np.float32(1), "
                "np.zeros(4, np.float32)))\n"
                "assert 'tensorflow' not in sys.modules",
                repeats,
            )
        return out

    # Evaluation ----------------------------------------------------------------

    def evaluation(self, episodes: int) -> dict[str, dict[str, float]]:
        """Steps/s of `metric_utils.compute` on CartPole-v1 with the shipped policy."""
        metric_utils = self.mod("eval.metric_utils")
        py_metrics = self.mod("metrics.py_metrics")
        suite_gym = self.mod("environments.suite_gym")
        batched = self.mod("environments.batched_py_environment")
        py_tf_eager = self.mod("policies.py_tf_eager_policy")
        saved = os.path.join(ROOT, "policylib", "data", "cartpole_dqn")
        policies: dict[str, Callable[[int], Any]] = {
            "SavedModel": lambda num_envs: py_tf_eager.SavedModelPyTFEagerPolicy(
                saved, load_specs_from_pbtxt=True, batch_time_steps=num_envs == 1
            )
        }
        if self.lib == "policylib" and _has("ai_edge_litert"):
            litert = importlib.import_module("policylib.export.litert")
            lite_mod = importlib.import_module("policylib.export.litert_policy")
            lite_dir = litert.export(saved, os.path.join(self.tmp, "cartpole_lite"))
            policies["LiteRT"] = lambda _: lite_mod.LiteRTPolicy(
                lite_dir, num_threads=1
            )
        sys.path.insert(0, HERE)
        from dqn_training_bench import cartpole_env

        # TF-Agents' Gym wrapper cannot step today's gym (its reset API), so the
        # two libraries are compared on one NumPy CartPole-v1 (`numpy`);
        # policylib also runs Gymnasium's own CartPole-v1 (`gymnasium`).
        env_kinds: dict[str, Callable[[int], Any]] = {
            "numpy": lambda i: cartpole_env(self.lib),
        }
        if self.lib == "policylib":
            env_kinds["gymnasium"] = lambda i: suite_gym.load("CartPole-v1")
        out: dict[str, dict[str, float]] = {}
        for (name, make), (kind, make_env) in [
            (p, e) for p in policies.items() for e in env_kinds.items()
        ]:
            for num_envs in (1, 4):
                envs = [make_env(i) for i in range(num_envs)]
                env = (
                    envs[0]
                    if num_envs == 1
                    else batched.BatchedPyEnvironment(envs, multithreading=False)
                )
                policy = make(num_envs)
                steps = py_metrics.EnvironmentSteps()
                start = time.perf_counter()
                metric_utils.compute([steps], env, policy, num_episodes=episodes)
                wall = time.perf_counter() - start
                out[f"eval_{name}_{kind}_{num_envs}env"] = {
                    "steps_per_s": float(steps.result()) / wall,
                    "steps": float(steps.result()),
                    "wall_s": wall,
                }
        if _has("gymnasium"):  # gym 0.26 (TF-Agents' venv) cannot step on NumPy 2
            out["eval_random_gymnasium_floor"] = _random_floor(episodes)
        return out


def _random_floor(episodes: int) -> dict[str, float]:
    """A plain Gymnasium loop with random actions: the environment's own floor."""
    gym = importlib.import_module("gymnasium")
    env = gym.make("CartPole-v1")
    env.action_space.seed(0)
    steps = 0
    start = time.perf_counter()
    env.reset(seed=0)
    done = 0
    while done < episodes:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        steps += 1
        if terminated or truncated:
            done += 1
            env.reset()
    wall = time.perf_counter() - start
    return {"steps_per_s": steps / wall, "steps": float(steps), "wall_s": wall}


def _cold(code: str, repeats: int) -> dict[str, float]:
    """Wall time of a fresh interpreter running `code` (its start-up subtracted)."""
    base = _once(
        lambda: subprocess.run([sys.executable, "-c", "import sys"], check=True),
        repeats,
    )
    full = _once(
        lambda: subprocess.run(
            [sys.executable, "-c", "import sys\n" + code], check=True, cwd=ROOT
        ),
        repeats,
    )
    return {k: full[k] - base["median"] if k != "n" else full[k] for k in full}


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------
# Running and reporting


def run(args: argparse.Namespace) -> dict[str, Any]:
    trials = args.trials or (3 if args.quick else 9)
    episodes = args.episodes or (5 if args.quick else 100)
    repeats = 1 if args.quick else 3
    start = time.perf_counter()
    suite = Suite(args.lib, args)
    suite.build()
    per_call = {}
    for batch in (1, 256):
        timed = _time_interleaved(
            suite.per_call_cases(batch), trials, args.trial_ms / 1000
        )
        per_call.update({f"{name}@{batch}": value for name, value in timed.items()})
    results = {
        "lib": args.lib,
        "env": _environment(suite),
        "per_call": per_call,
        "one_off": suite.one_off_cases(repeats),
        "evaluation": suite.evaluation(episodes),
    }
    results["wall_s"] = time.perf_counter() - start
    return results


def _environment(suite: Suite) -> dict[str, Any]:
    lib = importlib.import_module(suite.lib)
    keras_version = getattr(suite.tf.keras, "__version__", None)
    if keras_version is None:  # tf-keras does not say
        from importlib import metadata

        keras_version = "tf-keras " + metadata.version("tf-keras")
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.processor() or platform.platform()}",
        "python": platform.python_version(),
        "tensorflow": suite.tf.__version__,
        "keras": keras_version,
        "numpy": suite.np.__version__,
        "library": f"{suite.lib} {getattr(lib, '__version__', '?')}",
    }


def _us(seconds: float) -> str:
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.1f} µs"


def _versus(
    ours: float, theirs: dict[str, float] | None, key: str, show: Callable[[float], str]
) -> str:
    """The TF-Agents cells of a row: its value and ours / its."""
    if not theirs:
        return " — | — |"
    return f" {show(theirs[key])} | {ours / theirs[key]:.2f} |"


def table(results: list[dict[str, Any]]) -> str:
    """Markdown: per-call medians with spread and ratios, then one-offs and evaluation."""
    main = results[0]
    other = results[1] if len(results) > 1 else None
    lines = [
        f"Run of {main['env']['date']}: {main['env']['machine']}; "
        + ", ".join(
            f"{k} {v}"
            for k, v in main["env"].items()
            if k in ("python", "tensorflow", "keras", "numpy")
        )
        + "; one TF thread."
    ]
    if other:
        lines.append(
            f"Second column: {other['env']['library']} (Keras {other['env']['keras']})."
        )
    lines.append("")
    header = "| case | batch | policylib median (p25-p75) | × NumPy floor | × tf.function floor |"
    sep = "|---|---|---|---|---|"
    if other:
        header += " TF-Agents median | policylib / TF-Agents |"
        sep += "---|---|"
    lines += [header, sep]
    for key, stats in main["per_call"].items():
        name, batch = key.split("@")
        numpy_floor = main["per_call"][f"numpy_floor@{batch}"]["median"]
        tf_floor_key = (
            "tf_function_floor_numpy_io"
            if name
            in ("q_greedy_PyTFEagerPolicy", "SavedModelPyTFEagerPolicy", "LiteRTPolicy")
            else "tf_function_floor"
        )
        tf_floor = main["per_call"][f"{tf_floor_key}@{batch}"]["median"]
        row = (
            f"| {name} | {batch} | {_us(stats['median'])} ({_us(stats['p25'])}-{_us(stats['p75'])}) "
            f"| {stats['median'] / numpy_floor:.2f} | {stats['median'] / tf_floor:.2f} |"
        )
        if other:
            row += _versus(stats["median"], other["per_call"].get(key), "median", _us)
        lines.append(row)
    lines += [
        "",
        "| one-off | policylib median (p25-p75) |"
        + (" TF-Agents median | ratio |" if other else ""),
    ]
    lines.append("|---|---|" + ("---|---|" if other else ""))
    for key, stats in main["one_off"].items():
        row = f"| {key} | {_us(stats['median'])} ({_us(stats['p25'])}-{_us(stats['p75'])}) |"
        if other:
            row += _versus(stats["median"], other["one_off"].get(key), "median", _us)
        lines.append(row)
    floor = main["evaluation"]["eval_random_gymnasium_floor"]["steps_per_s"]
    lines += [
        "",
        "| evaluation (CartPole-v1) | policylib steps/s | × random-action floor |"
        + (" TF-Agents steps/s | ratio |" if other else ""),
    ]
    lines.append("|---|---|---|" + ("---|---|" if other else ""))
    for key, value in main["evaluation"].items():
        row = f"| {key} | {value['steps_per_s']:.0f} | {value['steps_per_s'] / floor:.2f} |"
        if other:
            row += _versus(
                value["steps_per_s"],
                other["evaluation"].get(key),
                "steps_per_s",
                lambda x: f"{x:.0f}",
            )
        lines.append(row)
    lines.append("")
    lines.append(
        f"Suite wall time: policylib {main['wall_s']:.0f} s"
        + (f", TF-Agents {other['wall_s']:.0f} s." if other else ".")
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _args(argv)
    results = [run(args)]
    if args.tfa_python:
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            theirs = f.name
        command = [
            args.tfa_python,
            os.path.abspath(__file__),
            "--lib",
            "tf_agents",
            "--out",
            theirs,
        ]
        command += ["--quick"] if args.quick else []
        for flag in ("trials", "episodes"):
            if getattr(args, flag):
                command += [f"--{flag}", str(getattr(args, flag))]
        subprocess.run(
            command, check=True, env={**os.environ, "TF_USE_LEGACY_KERAS": "1"}
        )
        with open(theirs) as f:
            results.append(json.load(f)[0])
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)
    if args.lib == "policylib":
        text = table(results)
        print(text)
        if args.md:
            with open(args.md, "w") as f:
                f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
