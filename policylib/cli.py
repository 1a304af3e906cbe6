"""The `policylib` command: evaluate and inspect saved policies.

    policylib evaluate                      # the CartPole-v1 policy shipped with policylib
    policylib evaluate runs/policy --env CartPole-v1 --episodes 100 --num-envs 4 --seed 0
    policylib evaluate runs/policy --episodes 1000 --workers 4 --backend ray --ray-address HOST:6379
    policylib inspect runs/policy

`evaluate` prints a progress bar on stderr and ends with one line,
`Mean return: 498.20 ± 5.10 over 100 episodes (CartPole-v1)`. Bad input (a
path that holds no policy, an unknown environment, specs that do not fit,
a missing optional extra) ends with one line on stderr and exit status 1;
a bad command line with one line and exit status 2. An unexpected error is
one line too; `POLICYLIB_TRACEBACK=1` shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Sequence
from typing import Any, NoReturn

from policylib.errors import NotAPolicyError, UnknownEnvironmentError, WorkerError
from policylib.utils import extras

__all__ = ["main"]

PROG = "policylib"
DEFAULT_ENV = "CartPole-v1"
RUNTIMES = ("tensorflow", "litert")
BACKENDS = ("serial", "processes", "ray")


class UsageError(Exception):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, got {text!r}"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Evaluate and inspect saved policies.")
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_Parser
    )
    commands.required = True
    evaluate = commands.add_parser(
        "evaluate",
        help="run a saved policy for some episodes and print its mean return",
        description="Run a saved policy (policylib's or TF-Agents' PolicySaver) in a "
        "Gymnasium environment and print its mean return.",
    )
    evaluate.add_argument(
        "path",
        nargs="?",
        help="SavedModel directory (default: the CartPole-v1 DQN policy shipped with policylib)",
    )
    evaluate.add_argument(
        "--env", default=DEFAULT_ENV, help=f"Gymnasium id (default {DEFAULT_ENV})"
    )
    evaluate.add_argument(
        "--episodes", type=_positive_int, default=10, help="episodes (default 10)"
    )
    evaluate.add_argument(
        "--num-envs",
        type=_positive_int,
        default=1,
        help="environments stepped together (default 1)",
    )
    evaluate.add_argument(
        "--seed", type=int, default=None, help="episode k is reset with SEED + k"
    )
    evaluate.add_argument(
        "--max-steps",
        type=_positive_int,
        default=None,
        help="cut episodes after this many steps",
    )
    evaluate.add_argument("--json", metavar="FILE", help="write the results as JSON")
    evaluate.add_argument(
        "--plot", metavar="FILE", help="write a PNG of the per-episode returns"
    )
    evaluate.add_argument(
        "--video", metavar="FILE", help="record the first episode (.mp4 or .gif)"
    )
    evaluate.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=None,
        help="run the policy with TensorFlow (default) or, converted to TFLite, with "
        "the LiteRT interpreter (needs policylib[litert]); a LiteRT export path "
        "always runs with LiteRT",
    )
    evaluate.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        help="processes or Ray actors sharing the episodes (default 1: this process)",
    )
    evaluate.add_argument(
        "--backend",
        choices=(*BACKENDS, *RUNTIMES),
        default=None,
        help="where the workers run: processes on this machine (the default with "
        "--workers above 1) or Ray actors (needs policylib[ray])",
    )
    evaluate.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        default=None,
        help="the Ray cluster's head (ray start --head); default: a local Ray "
        "started for the run",
    )
    evaluate.add_argument("--quiet", action="store_true", help="no progress bar")
    evaluate.add_argument(
        "--allow-unsafe-ops",
        action="store_true",
        help="load a policy whose graph reads files or runs Python (only one you trust)",
    )
    inspect = commands.add_parser(
        "inspect",
        help="print a saved policy's specs, signatures, train step and metadata",
        description="Print a saved policy's specs, signatures, train step and metadata.",
    )
    inspect.add_argument("path", help="SavedModel directory written by PolicySaver")
    return parser


def _check_outputs(args: argparse.Namespace) -> None:
    """Fails before the run on what would fail after it (extras, file names)."""
    from policylib.eval import media

    if args.plot:
        extras.require("matplotlib", extra="plot", feature="Return plots (--plot)")
    if args.video:
        if os.path.splitext(args.video)[1].lower() not in media.VIDEO_SUFFIXES:
            raise UsageError(
                f"{PROG} evaluate: --video must end in .mp4 or .gif, got {args.video!r}"
            )
        extras.require("imageio", extra="video", feature="Videos (--video)")
        if args.video.lower().endswith(".mp4"):
            extras.require(
                "imageio_ffmpeg", extra="video", feature="MP4 videos (--video)"
            )
    for name in (args.json, args.plot, args.video):
        parent = os.path.dirname(os.path.abspath(name)) if name else None
        if parent and not os.path.isdir(parent):
            raise UsageError(
                f"{PROG} evaluate: no such directory for {name!r}: {parent}"
            )


def _resolve_backend(args: argparse.Namespace) -> None:
    """Sets `args.runtime` and `args.backend` (`--backend litert` is the old `--runtime`)."""
    if args.backend in RUNTIMES:
        if args.runtime not in (None, args.backend):
            raise UsageError(
                f"{PROG} evaluate: --backend {args.backend} and --runtime "
                f"{args.runtime} disagree (--backend {args.backend} is the old "
                f"spelling of --runtime {args.backend})"
            )
        args.runtime, args.backend = args.backend, None
    args.runtime = args.runtime or "tensorflow"
    if args.backend is None:
        args.backend = "processes" if args.workers > 1 else "serial"
    if args.ray_address and args.backend != "ray":
        raise UsageError(f"{PROG} evaluate: --ray-address needs --backend ray")
    if args.backend == "ray":
        extras.require("ray", extra="ray", feature="Ray workers (--backend ray)")


def _evaluate(args: argparse.Namespace) -> None:
    from policylib import data
    from policylib.environments import suite_gym

    _resolve_backend(args)
    _check_outputs(args)
    args.policy_path = path = args.path or data.cartpole_dqn_path()
    suite_gym.check_id(args.env)  # before loading the policy (seconds)
    with contextlib.ExitStack() as cleanup:
        path = _runtime_path(path, args, cleanup)
        if args.backend == "serial":
            policy = _load_policy(path, args)
        else:
            policy = None  # each worker loads it
        _run_evaluation(policy, path, args)


def _runtime_path(path: str, args: argparse.Namespace, cleanup: Any) -> str:
    """The directory to run: `path`, or its LiteRT export for `--runtime litert`.

    A SavedModel's graph is checked for unsafe ops here, so a refused one is
    one line before any worker starts.
    """
    from policylib.export import litert_files

    if litert_files.is_export(path) or args.runtime == "litert":
        extras.require("ai_edge_litert", extra="litert", feature="LiteRT policies")
    if litert_files.is_export(path):
        return path
    from policylib.policies import saved_graph_ops, saved_policy_files

    saved = saved_policy_files.check_policy_dir(path)
    saved_graph_ops.check(saved, allow_unsafe_ops=args.allow_unsafe_ops)
    if args.runtime != "litert":
        return saved
    from policylib.export import litert

    staging = cleanup.enter_context(tempfile.TemporaryDirectory())
    return litert.export(saved, os.path.join(staging, "litert"))


def _load_policy(path: str, args: argparse.Namespace) -> Any:
    """The policy at `path` (a SavedModel or a LiteRT export), in this process."""
    from policylib.eval import evaluation

    return evaluation.resolve_policy(path, allow_unsafe_ops=args.allow_unsafe_ops)


def _run_evaluation(policy: Any, path: str, args: argparse.Namespace) -> None:
    from policylib.errors import WorkerDiedWarning
    from policylib.eval import evaluation, media

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkerDiedWarning)  # printed below instead
        result = evaluation.evaluate(
            policy if policy is not None else path,
            args.env,
            args.episodes,
            num_envs=args.num_envs,
            seed=args.seed,
            max_steps=args.max_steps,
            progress=not args.quiet,
            num_workers=args.workers,
            backend=None if args.backend == "serial" else args.backend,
            ray_address=args.ray_address,
            allow_unsafe_ops=args.allow_unsafe_ops,
        )
    for failure in result.failures:
        print(f"{PROG}: warning: {failure}", file=sys.stderr)
    print(result.summary(), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"policy": os.path.abspath(args.policy_path), **result.to_dict()},
                f,
                indent=2,
            )
    if args.plot:
        media.plot_returns(result, args.plot)
    if args.video:
        media.record_episode(
            policy if policy is not None else _load_policy(path, args),
            args.env,
            args.video,
            seed=args.seed,
            max_steps=args.max_steps,
        )


def _format_specs(spec: Any, indent: str = "  ") -> list[str]:
    from policylib.utils import nest_utils

    leaves = nest_utils.flatten_with_joined_paths(spec)
    if not leaves:
        return [f"{indent}(none)"]
    return [f"{indent}{path or '<root>'}: {_spec_text(leaf)}" for path, leaf in leaves]


def _spec_text(spec: Any) -> str:
    import numpy as np

    text = f"shape={tuple(spec.shape)} dtype={np.dtype(spec.dtype).name}"
    if hasattr(spec, "minimum"):
        lo, hi = np.asarray(spec.minimum), np.asarray(spec.maximum)
        bounds = (
            (lo.item(), hi.item())
            if lo.size == 1 and hi.size == 1
            else (lo.tolist(), hi.tolist())
        )
        text += f" bounds=[{bounds[0]}, {bounds[1]}]"
    return text


def _tensor_text(spec: Any) -> str:
    import tensorflow as tf

    if isinstance(spec, tf.TensorSpec):
        dims = (
            ""
            if spec.shape.rank is None
            else ", ".join(
                str(d) if d is not None else "?" for d in spec.shape.as_list()
            )
        )
        return f"{spec.dtype.name}[{dims}]"
    return type(spec).__name__


def _signature_lines(loaded: Any) -> list[str]:
    import tensorflow as tf

    lines = []
    for name in sorted(loaded.signatures):
        function = loaded.signatures[name]
        _, kwargs = function.structured_input_signature
        # The signature's keys (`0/step_type`) are the specs' names; TensorFlow
        # renames only the Python parameters behind them.
        named = sorted((getattr(v, "name", None) or k, v) for k, v in kwargs.items())
        inputs = ", ".join(f"{k}: {_tensor_text(v)}" for k, v in named)
        outputs = tf.nest.map_structure(_tensor_text, function.structured_outputs)
        if isinstance(outputs, dict):
            out = ", ".join(f"{k}: {v}" for k, v in sorted(outputs.items())) or "()"
        else:
            out = str(outputs)
        lines.append(f"  {name}({inputs}) -> {out}")
    return lines or ["  (none)"]


def _inspect(args: argparse.Namespace) -> None:
    from policylib.policies import saved_graph_ops, saved_policy_files

    path = saved_policy_files.check_policy_dir(args.path)
    specs = saved_policy_files.read_specs(path)
    loaded = saved_policy_files.load_saved_model(path)  # runs none of its functions
    unsafe = saved_graph_ops.unsafe_ops(path)
    train_step: Any = "(not saved)"
    if hasattr(loaded, "get_train_step"):
        train_step = int(loaded.get_train_step().numpy())
    metadata: dict[str, Any] = {}
    if hasattr(loaded, "get_metadata"):
        metadata = {k: v.numpy().tolist() for k, v in loaded.get_metadata().items()}
    lines = [f"Saved policy: {os.path.abspath(path)}", f"Train step: {train_step}"]
    lines.append(
        "Metadata: " + (json.dumps(metadata, default=str) if metadata else "(none)")
    )
    for title, key in (
        ("Time step spec", "time_step_spec"),
        ("Action spec", "action_spec"),
        ("Policy state spec", "policy_state_spec"),
        ("Info spec", "info_spec"),
    ):
        lines.append(f"{title}:")
        lines.extend(_format_specs(specs[key]))
    lines.append("Signatures:")
    lines.extend(_signature_lines(loaded))
    lines.append(
        "Unsafe ops: "
        + ("; ".join(f"{op} in {', '.join(w)}" for op, w in unsafe.items()) or "(none)")
    )
    print("\n".join(lines))


def _one_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0, 1 for bad input, 2 for usage)."""
    try:
        args = _parser().parse_args(argv)
        if args.command == "evaluate":
            _evaluate(args)
        else:
            _inspect(args)
    except UsageError as e:
        print(_one_line(e), file=sys.stderr)
        return 2
    except (
        NotAPolicyError,
        UnknownEnvironmentError,
        extras.MissingExtraError,
        ValueError,
        TypeError,
        OSError,
    ) as e:
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except WorkerError as e:  # its first line says which worker and what it raised
        print(f"{PROG}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # anything else is a defect: one line, traceback on request
        if os.environ.get("POLICYLIB_TRACEBACK"):
            raise
        print(
            f"{PROG}: error: {type(e).__name__}: {_one_line(e)} "
            "(set POLICYLIB_TRACEBACK=1 for the traceback)",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
