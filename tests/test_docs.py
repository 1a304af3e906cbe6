"""The docs' API reference covers every public module; the CLI page matches the CLI."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs"))
import gen_reference  # noqa: E402

sys.path.pop(0)


def test_reference_pages_are_current():
    done = subprocess.run(
        [sys.executable, str(ROOT / "docs" / "gen_reference.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout


def test_every_public_module_is_in_the_reference_and_the_nav():
    documented = set()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        documented |= set(re.findall(r"^::: (\S+)$", page.read_text(), re.M))
    modules = set(gen_reference.public_modules())
    assert {"policylib.cli", "policylib.eval.evaluation", "policylib.errors"} <= modules
    assert modules == documented
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in (ROOT / "docs" / "reference").glob("*.md"):
        assert f"reference/{page.name}" in nav, page.name


def test_docs_show_the_readme_commands():
    readme = (ROOT / "README.md").read_text()
    started = (ROOT / "docs" / "getting-started.md").read_text()
    commands = re.search(r"```sh\n(.*?)```", readme, re.S).group(1)
    for line in commands.splitlines():
        if line and not line.startswith("#"):
            assert line in started, line
