"""policylib.reverb imports and serves in a process where TensorFlow cannot load."""

from __future__ import annotations

from tests.test_tf_free import _run


def test_reverb_runs_without_tensorflow() -> None:
    done = _run(
        """
        import numpy as np
        from policylib import reverb
        server = reverb.Server([reverb.Table.queue("q", 4)])
        client = server.localhost_client()
        with client.trajectory_writer(2) as writer:
            for step in range(3):
                writer.append({"x": np.float32(step)})
                writer.create_item("q", 1.0, {"x": writer.history["x"][-1:]})
        print([float(s[0].data[0]) for s in client.sample("q", 3)])
        import sys
        assert "tensorflow" not in sys.modules
        """
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("[0.0, 1.0, 2.0]")
