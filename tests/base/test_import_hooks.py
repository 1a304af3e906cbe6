"""`import_hooks.around_imports_under`: every later module of a package runs inside a context."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import textwrap

from policylib.base import import_hooks


def test_modules_of_a_package_run_inside_the_context(tmp_path, monkeypatch) -> None:
    package = tmp_path / "hookedpkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import hookedpkg.sub.b\nSEEN = list(LOG)\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("SEEN = list(LOG)\n")
    (tmp_path / "hookedpkg_other.py").write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    log: list[str] = []

    @contextlib.contextmanager
    def around(module):
        # The module's own code sees the context (through its globals here).
        module.LOG = log
        log.append(f"enter {module.__name__}")
        yield
        log.append(f"exit {module.__name__}")

    monkeypatch.setattr(import_hooks, "_around_packages", [])
    import_hooks.around_imports_under("hookedpkg", around)
    import hookedpkg.a  # type: ignore[import-not-found]
    import hookedpkg_other  # type: ignore[import-not-found]  # a name that merely starts alike

    nested = [
        "enter hookedpkg.a",
        "enter hookedpkg.sub",
        "exit hookedpkg.sub",
        "enter hookedpkg.sub.b",
        "exit hookedpkg.sub.b",
    ]
    assert hookedpkg.sub.b.SEEN == nested[:4]  # ran inside its own context
    assert hookedpkg.a.SEEN == nested  # and a's, still open
    assert log == [*nested, "exit hookedpkg.a"]
    assert hookedpkg.a.__loader__.__class__.__name__ == "SourceFileLoader"
    assert hookedpkg_other.VALUE == 1 and not hasattr(hookedpkg_other, "LOG")
    for name in [n for n in sys.modules if n.startswith("hookedpkg")]:
        del sys.modules[name]


def test_policylib_modules_register_gin_configurables_after_the_lock() -> None:
    # TF-Agents' v2 scripts parse their gin bindings (which locks the config)
    # before policylib has loaded every module they use.
    code = textwrap.dedent(
        """
        import gin
        import policylib
        from policylib.utils import common  # noqa: F401
        gin.parse_config_files_and_bindings(None, ["train_eval.x = 1"], skip_unknown=True)
        assert gin.config_is_locked()
        from policylib.drivers import dynamic_episode_driver  # first loaded now
        assert gin.config_is_locked()  # the lock is back after the import
        with gin.unlock_config():
            gin.bind_parameter("DynamicEpisodeDriver.num_episodes", 3)
        assert gin.query_parameter("DynamicEpisodeDriver.num_episodes") == 3
        try:  # code outside policylib still meets the lock
            @gin.configurable
            def not_policylib():
                pass
        except RuntimeError as e:
            assert "locked" in str(e)
        else:
            raise AssertionError("gin's lock was not in force")
        print("ok")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_python_dash_m_runs_a_hooked_module(tmp_path) -> None:
    # `python -m` asks the module's loader for its code (`get_code`).
    done = subprocess.run(
        [sys.executable, "-m", "policylib", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.startswith("policylib ")
