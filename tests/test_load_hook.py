"""After `import policylib`, plain tf.saved_model.load reads every policy save (either library)."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAVES = [
    str(ROOT / "tests" / "fixtures" / "tf_agents_0_19" / name)
    for name in ("actor", "dict_obs_actor", "greedy_q", "masked_q", "rnn_q")
] + [str(ROOT / "policylib" / "data" / "cartpole_dqn")]


def _python(code):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=str(ROOT),
    )


def test_import_policylib_imports_no_tensorflow():
    done = _python("""
        import sys, policylib
        assert "tensorflow" not in sys.modules, "import policylib imported TensorFlow"
        print("ok")
    """)
    assert done.stdout.strip() == "ok", done.stderr[-2000:]


def test_plain_load_after_importing_a_policylib_module():
    done = _python(f"""
        import sys
        import policylib.trajectories.time_step  # imports TensorFlow, not TFP's distributions
        assert "tensorflow_probability.python.distributions" not in sys.modules
        import tensorflow as tf
        for path in {SAVES!r}:
            loaded = tf.saved_model.load(path)
            assert hasattr(loaded, "action"), path
        print("loaded", len({SAVES!r}))
    """)
    assert done.stdout.strip() == f"loaded {len(SAVES)}", done.stderr[-3000:]


def test_without_the_fallback_tensorflow_refuses():
    """The control: TensorFlow alone cannot decode a TF-Agents actor save."""
    done = _python(f"""
        import sys
        import policylib
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != "_AfterImportFinder"]
        import tensorflow as tf
        tf.saved_model.load({SAVES[0]!r})
    """)
    assert done.returncode != 0
    assert "has not been registered" in done.stderr
