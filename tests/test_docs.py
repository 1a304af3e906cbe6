"""The docs' API reference covers every public module; pages list what exists."""

import importlib
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

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


def pyproject_extras() -> dict[str, list[str]]:
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = pytest.importorskip("tomli")
    with open(ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["optional-dependencies"]


def test_dev_installs_the_docs_tools_in_the_docs_ranges():
    """CI installs `.[dev]` and builds the site: with exactly the docs extra's ranges."""
    extras = pyproject_extras()
    assert extras["docs"], "the docs extra is empty"
    missing = [req for req in extras["docs"] if req not in extras["dev"]]
    assert not missing, f"the dev extra lacks the docs extra's {missing}"
    unbounded = [req for req in extras["docs"] if "<" not in req]
    assert not unbounded, f"docs tools without an upper bound: {unbounded}"


def test_getting_started_lists_every_extra_and_notebook():
    started = (ROOT / "docs" / "getting-started.md").read_text()
    table = set(re.findall(r"^\| `([\w-]+)` \|", started, re.M))
    assert table == set(pyproject_extras()), (
        "docs/getting-started.md's extras table and pyproject.toml's extras differ: "
        f"only in the table {sorted(table - set(pyproject_extras()))}, "
        f"only in pyproject.toml {sorted(set(pyproject_extras()) - table)}"
    )
    for notebook in sorted((ROOT / "notebooks").glob("*.ipynb")):
        assert f"`{notebook.name}`" in started, (
            f"docs/getting-started.md's notebook list lacks {notebook.name}"
        )
        listing = (ROOT / "notebooks" / "README.md").read_text()
        assert f"({notebook.name})" in listing, (
            f"notebooks/README.md lacks {notebook.name}"
        )


def not_there_yet() -> list[str]:
    """The module paths named in docs/migrating.md's "Not there yet" list."""
    text = (ROOT / "docs" / "migrating.md").read_text()
    section = re.search(r"^## Not there yet\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert section, 'docs/migrating.md has no "## Not there yet" section'
    return sorted(set(re.findall(r"`(policylib(?:\.\w+)+)`", section[1])))


def is_there(name: str) -> bool:
    """Whether `name` is a policylib module that imports (Reverb's stubs raise)."""
    try:
        if importlib.util.find_spec(name) is None:
            return False
        importlib.import_module(name)
    except ImportError:
        return False
    return True


def test_not_there_yet_names_only_modules_policylib_lacks():
    names = not_there_yet()
    assert len(names) >= 2, names  # the list parses (it shrinks as modules land)
    landed = [name for name in names if is_there(name)]
    assert not landed, (
        f"docs/migrating.md lists {landed} under 'Not there yet', but policylib has "
        "them now: take them off the list (and document what landed)"
    )
