"""Every shell command and Python snippet in README.md and docs/*.md runs as pasted.

A page's ```sh / ```bash and ```python blocks run in order, each in its own
process, in a fresh directory that stands for the clone's root (the repository's
files linked in, `.venv` linked to the environment running the suite), as a
reader who made the README's first command and follows the page would run them:
a block may use files an earlier block of its page wrote, never its variables.
Shell blocks run under `bash -e` with the environment's `bin` first on PATH, as
after `source .venv/bin/activate`.

A block that cannot run here says so, with its reason, on the line before it:

    <!-- not run: needs a Ray cluster whose head is at HEAD:6379 -->

Other blocks (```text: output and usage) are not commands and are not run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LANGUAGES = {"sh": "sh", "bash": "sh", "python": "python"}
FENCE = re.compile(
    r"^(?P<indent>[ \t]*)```(?P<lang>[\w-]*)[^\n]*\n(?P<body>.*?)^(?P=indent)```[ \t]*$",
    re.M | re.S,
)
MARKER = re.compile(r"<!--\s*not run:(?P<reason>.*?)-->")
# Top-level entries of the repository that a fresh clone does not have.
NOT_IN_A_CLONE = {".git", ".venv", ".venv-tfa", "site", "__pycache__", ".pytest_cache"}
TIMEOUT_S = 600


@dataclass(frozen=True)
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str  # "sh" or "python"
    code: str
    not_run: str | None  # the reason, when marked

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The runnable blocks of `page` (shell and Python), with their markers."""
    text = page.read_text()
    found = []
    for match in FENCE.finditer(text):
        lang = LANGUAGES.get(match["lang"])
        if lang is None:
            continue
        before = text[: match.start()].rstrip().rsplit("\n", 1)[-1]
        marker = MARKER.fullmatch(before.strip())
        indent = len(match["indent"])
        code = "".join(line[indent:] for line in match["body"].splitlines(True))
        found.append(
            Block(
                page=page,
                line=text.count("\n", 0, match.start()) + 1,
                lang=lang,
                code=code,
                not_run=marker["reason"].strip() if marker else None,
            )
        )
    return found


def page_id(page: Path) -> str:
    return str(page.relative_to(ROOT))


def make_clone(directory: Path) -> Path:
    """A directory that looks like the clone after the README's first command."""
    directory.mkdir()
    for entry in ROOT.iterdir():
        if entry.name not in NOT_IN_A_CLONE:
            (directory / entry.name).symlink_to(entry)
    venv = directory / ".venv"
    if (Path(sys.prefix) / "bin" / "activate").exists():
        venv.symlink_to(Path(sys.prefix))
    else:  # not a virtual environment (CI's Python): its bin, and an `activate`
        bin_dir = Path(sys.executable).parent
        (venv / "bin").mkdir(parents=True)
        for entry in bin_dir.iterdir():
            (venv / "bin" / entry.name).symlink_to(entry)
        (venv / "bin" / "activate").write_text(f'export PATH="{bin_dir}:$PATH"\n')
    return directory


def environment() -> dict[str, str]:
    bin_dir = str(Path(sys.executable).parent)
    env = dict(os.environ)
    env.update(
        PATH=bin_dir + os.pathsep + env.get("PATH", ""),
        VIRTUAL_ENV=sys.prefix,
        MPLBACKEND="Agg",
        POLICYLIB_TRACEBACK="1",
    )
    env.pop("PYTHONPATH", None)
    return env


def run_block(block: Block, clone: Path, scripts: Path) -> subprocess.CompletedProcess:
    script = (
        scripts
        / f"{block.page.stem}_{block.line}.{'py' if block.lang == 'python' else 'sh'}"
    )
    script.write_text(block.code)
    command = (
        [sys.executable, str(script)]
        if block.lang == "python"
        else ["bash", "-e", "-o", "pipefail", str(script)]
    )
    return subprocess.run(
        command,
        cwd=clone,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )


def test_markers_are_well_formed() -> None:
    """Each `not run` marker gives a reason and sits right before a shell or Python block."""
    runnable = 0
    for page in PAGES:
        page_blocks = blocks(page)
        marked = [b for b in page_blocks if b.not_run is not None]
        for block in marked:
            assert block.not_run, f"{block.where()}: a `not run` marker needs a reason"
        text = page.read_text()
        assert len(MARKER.findall(text)) == len(marked), (
            f"{page_id(page)}: a `<!-- not run: ... -->` marker must be on the line "
            "right before a ```sh, ```bash or ```python block"
        )
        runnable += len(page_blocks) - len(marked)
    assert runnable >= 10, runnable


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES, ids=page_id)
def test_page_commands_run_as_pasted(page: Path, tmp_path: Path) -> None:
    clone = make_clone(tmp_path / "clone")
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for block in blocks(page):
        if block.not_run is not None:
            continue
        done = run_block(block, clone, scripts)
        assert done.returncode == 0, (
            f"{block.where()}: the {block.lang} block exited with {done.returncode}:\n"
            f"{block.code}\n--- stdout (end) ---\n{done.stdout[-3000:]}"
            f"\n--- stderr (end) ---\n{done.stderr[-3000:]}"
        )


@pytest.mark.slow
def test_readme_first_command_ends_as_promised(tmp_path: Path) -> None:
    """The evaluation of the README's first command prints the line the README quotes."""
    readme = ROOT / "README.md"
    (first, *_) = blocks(readme)
    command = first.code.splitlines()[1].split(" && ")[-1]
    assert command.startswith(".venv/bin/policylib evaluate"), command
    promised = re.search(r"The first ends with `([^`]+)`", readme.read_text())
    assert promised, "README.md no longer quotes the first command's last line"
    done = subprocess.run(
        command,
        shell=True,
        cwd=make_clone(tmp_path / "clone"),
        env=environment(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == promised[1]
