"""The `policylib` command: evaluate and inspect saved policies.

    policylib evaluate                      # the CartPole-v1 policy shipped with policylib
    policylib evaluate PATH --env CartPole-v1 --episodes 100 --num-envs 4 --seed 0
    policylib evaluate PATH --episodes 1000 --workers 4 --backend ray --ray-address HOST:6379
    policylib evaluate PATH --runtime litert  # converted to TFLite, run by LiteRT
    policylib inspect [PATH]
    policylib --version

`evaluate` prints a progress bar on stderr and ends with one line,
`Mean return: 498.20 ± 5.10 over 100 episodes (CartPole-v1)`. Bad input (a
path that holds no policy, an unknown environment, specs that do not fit,
a missing optional extra) ends with one line on stderr and exit status 1;
a bad command line with one line and exit status 2. The command line, the
paths and the environment id are checked before TensorFlow is imported, so
such mistakes fail at once. An unexpected error is one line too;
`POLICYLIB_TRACEBACK=1` shows its traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import enum
import json
import os
import platform
import sys
import tempfile
import warnings
from collections.abc import Callable, Sequence
from importlib import metadata as importlib_metadata
from typing import NoReturn

from policylib.base import extras
from policylib.errors import NotAPolicyError, UnknownEnvironmentError, WorkerError
from policylib.eval.evaluation import Backend
from policylib.export import policy_source
from policylib.version import __version__

__all__ = ["Backend", "EvaluateRequest", "Runtime", "main"]

PROG = "policylib"
DEFAULT_ENV = "CartPole-v1"


class Runtime(enum.Enum):
    """What runs the policy's network."""

    TENSORFLOW = "tensorflow"
    LITERT = "litert"


RUNTIMES = tuple(r.value for r in Runtime)
BACKENDS = tuple(b.value for b in Backend)


@dataclasses.dataclass(frozen=True)
class EvaluateRequest:
    """One `policylib evaluate` run, checked once from the command line."""

    policy_path: str
    env: str
    episodes: int
    num_envs: int
    seed: int | None
    max_steps: int | None
    runtime: Runtime
    backend: Backend
    workers: int
    ray_address: str | None
    json_path: str | None
    plot_path: str | None
    video_path: str | None
    progress: bool
    allow_unsafe_ops: bool


class UsageError(Exception):
    """A bad command line (exit status 2)."""


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (no usage block)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


def _int_at_least(minimum: int, what: str, hint: str = "") -> Callable[[str], int]:
    """An argparse type: an integer >= `minimum`, else one line naming `what`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got {value}{hint}")
        return value

    return parse


_positive_int = _int_at_least(1, "a positive integer")
_seed = _int_at_least(0, "a non-negative integer", " (Gymnasium seeds are >= 0)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Evaluate and inspect saved policies.")
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
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
        help="SavedModel or LiteRT export directory (default: the CartPole-v1 DQN "
        "policy shipped with policylib)",
    )
    evaluate.add_argument(
        "--env",
        default=DEFAULT_ENV,
        help=f"Gymnasium id, or envpool:TASK for an EnvPool task stepped as one "
        f"batch of --num-envs (needs policylib[envpool]; default {DEFAULT_ENV})",
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
        "--seed", type=_seed, default=None, help="episode k is reset with SEED + k"
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
        "--video",
        metavar="FILE",
        help="record the first episode (.mp4 or .gif), at the environment's frame rate",
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
        metavar="{" + ",".join(BACKENDS) + "}",
        help="where the episodes run: this process (serial, the default with one "
        "worker), worker processes on this machine (the default with --workers above "
        "1) or Ray actors (needs policylib[ray])",
    )
    evaluate.add_argument(
        "--ray-address",
        metavar="HOST:PORT",
        default=None,
        help="the Ray cluster's head (ray start --head); default: RAY_ADDRESS if "
        "set, else a local Ray on 127.0.0.1 started for the run",
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
    inspect.add_argument(
        "path",
        nargs="?",
        help="SavedModel directory written by PolicySaver, or a LiteRT export "
        "(default: the CartPole-v1 DQN policy shipped with policylib)",
    )
    return parser


def _check_outputs(json_path: str | None, plot: str | None, video: str | None) -> None:
    """Fails before the run on what would fail after it (extras, file names)."""
    from policylib.eval import media

    if plot:
        extras.require("matplotlib", extra="plot", feature="Return plots (--plot)")
    if video:
        if os.path.splitext(video)[1].lower() not in media.VIDEO_SUFFIXES:
            raise UsageError(
                f"{PROG} evaluate: --video must end in .mp4 or .gif, got {video!r}"
            )
        extras.require("imageio", extra="video", feature="Videos (--video)")
        if video.lower().endswith(".mp4"):
            extras.require(
                "imageio_ffmpeg", extra="video", feature="MP4 videos (--video)"
            )
    for name in (json_path, plot, video):
        parent = os.path.dirname(os.path.abspath(name)) if name else None
        if parent and not os.path.isdir(parent):
            raise UsageError(
                f"{PROG} evaluate: no such directory for {name!r}: {parent}"
            )


def _runtime_and_backend(args: argparse.Namespace) -> tuple[Runtime, Backend]:
    """`--runtime` and `--backend`, each with its own values (`args` is not changed).

    `--backend tensorflow|litert` is the old spelling of `--runtime`: it
    still works, with a one-line notice.
    """
    runtime, backend = args.runtime, args.backend
    if backend in RUNTIMES:
        if runtime not in (None, backend):
            raise UsageError(
                f"{PROG} evaluate: --backend {backend} and --runtime {runtime} "
                f"disagree (--backend {backend} is the old spelling of --runtime "
                f"{backend})"
            )
        print(
            f"{PROG}: note: --backend {backend} is now spelled --runtime {backend}",
            file=sys.stderr,
        )
        runtime, backend = backend, None
    chosen = Backend(backend) if backend else None
    if chosen is None:
        chosen = Backend.PROCESSES if args.workers > 1 else Backend.SERIAL
    if chosen is Backend.SERIAL and args.workers > 1:
        raise UsageError(
            f"{PROG} evaluate: --backend serial runs one worker; got --workers "
            f"{args.workers} (use --backend processes or ray)"
        )
    if args.ray_address and chosen is not Backend.RAY:
        raise UsageError(f"{PROG} evaluate: --ray-address needs --backend ray")
    return Runtime(runtime or Runtime.TENSORFLOW.value), chosen


def _request(args: argparse.Namespace) -> EvaluateRequest:
    """The run the command line asks for, checked without TensorFlow."""
    from policylib import data
    from policylib.environments import env_construction

    runtime, backend = _runtime_and_backend(args)
    if backend is Backend.RAY:
        extras.require("ray", extra="ray", feature="Ray workers (--backend ray)")
    _check_outputs(args.json, args.plot, args.video)
    env_construction.check_id(args.env)
    envpool_task = args.env.removeprefix(env_construction.ENVPOOL_PREFIX)
    if args.video and envpool_task != args.env:
        raise UsageError(
            f"{PROG} evaluate: --video records a Gymnasium environment, not an "
            f"EnvPool one; record with --env {envpool_task}"
        )
    return EvaluateRequest(
        policy_path=args.path or data.cartpole_dqn_path(),
        env=args.env,
        episodes=args.episodes,
        num_envs=args.num_envs,
        seed=args.seed,
        max_steps=args.max_steps,
        runtime=runtime,
        backend=backend,
        workers=args.workers,
        ray_address=args.ray_address,
        json_path=args.json,
        plot_path=args.plot,
        video_path=args.video,
        progress=not args.quiet,
        allow_unsafe_ops=args.allow_unsafe_ops,
    )


def _source(
    request: EvaluateRequest, cleanup: contextlib.ExitStack
) -> policy_source.PolicySource:
    """The policy to run, checked once (files only): converted for `--runtime litert`."""
    source = policy_source.PolicySource.of(
        request.policy_path, allow_unsafe_ops=request.allow_unsafe_ops
    )
    litert_export = source.kind is policy_source.PolicyKind.LITERT_EXPORT
    if litert_export or request.runtime is Runtime.LITERT:
        extras.require("ai_edge_litert", extra="litert", feature="LiteRT policies")
    if litert_export or request.runtime is Runtime.TENSORFLOW:
        return source
    from policylib.export import litert

    if request.progress:
        print(f"{PROG}: converting the policy to LiteRT...", file=sys.stderr)
    staging = cleanup.enter_context(tempfile.TemporaryDirectory())
    assert source.path is not None
    return policy_source.PolicySource.of(
        litert.export(source.path, os.path.join(staging, "litert"))
    )


def _evaluate(args: argparse.Namespace) -> None:
    request = _request(args)
    with contextlib.ExitStack() as cleanup:
        source = _source(request, cleanup)
        _run_evaluation(source, request)


def _versions() -> dict[str, str | None]:
    """The versions a result depends on, for the JSON record."""
    found: dict[str, str | None] = {
        "policylib": __version__,
        "python": platform.python_version(),
    }
    for package in ("tensorflow", "tf-keras", "numpy", "gymnasium", "ai-edge-litert"):
        try:
            found[package] = importlib_metadata.version(package)
        except importlib_metadata.PackageNotFoundError:
            found[package] = None
    if os.environ.get("TF_USE_LEGACY_KERAS", "0") not in ("", "0"):
        found["keras"] = "tf-keras (TF_USE_LEGACY_KERAS=1)"
    else:
        found["keras"] = "keras 3"
    return found


def _run_evaluation(
    source: policy_source.PolicySource, request: EvaluateRequest
) -> None:
    from policylib.errors import WorkerDiedWarning
    from policylib.eval import evaluation, media

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", WorkerDiedWarning)  # printed below instead
        result = evaluation.evaluate(
            source,
            request.env,
            request.episodes,
            num_envs=request.num_envs,
            seed=request.seed,
            max_steps=request.max_steps,
            progress=request.progress,
            num_workers=request.workers,
            backend=request.backend,
            ray_address=request.ray_address,
            allow_unsafe_ops=request.allow_unsafe_ops,
        )
    for failure in result.failures:
        print(f"{PROG}: warning: {failure}", file=sys.stderr)
    print(result.summary(), flush=True)
    if request.json_path:
        record = {
            "policy": os.path.abspath(request.policy_path),
            **result.to_dict(),
            "runtime": request.runtime.value,
            "max_steps": request.max_steps,
            "versions": _versions(),
        }
        with open(request.json_path, "w") as f:
            json.dump(record, f, indent=2)
    if request.plot_path:
        media.plot_returns(result, request.plot_path)
    if request.video_path:
        # The policy evaluate loaded (serial), or loaded here once (workers).
        video = media.record_episode(
            source,
            request.env,
            request.video_path,
            seed=request.seed,
            max_steps=request.max_steps,
        )
        print(f"Video: {video.path} ({video.frames} frames at {video.fps:g} fps)")


def _inspect(path: str | None) -> None:
    from policylib import data
    from policylib.export import inspection

    print("\n".join(inspection.describe(path or data.cartpole_dqn_path())))


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
            _inspect(args.path)
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
    except BrokenPipeError:  # `policylib inspect | head`: the reader left
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # no second error at exit
        return 0
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
