"""Return plots and episode videos (real matplotlib, imageio and Gymnasium rendering)."""

import imageio.v2 as imageio
import pytest

from policylib import data
from policylib.base import extras
from policylib.eval import EvalResult, media


def test_plot_returns_writes_a_png(tmp_path):
    result = EvalResult(
        returns=(10.0, 12.0, 9.0),
        lengths=(10, 12, 9),
        wall_time_s=1.0,
        env_name="CartPole-v1",
    )
    path = media.plot_returns(result, tmp_path / "returns.png")
    image = imageio.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100


@pytest.mark.parametrize("suffix", [".gif", ".mp4"])
def test_record_episode_writes_every_frame(tmp_path, suffix):
    path = tmp_path / f"episode{suffix}"
    video = media.record_episode(
        data.cartpole_dqn_path(), "CartPole-v1", path, seed=0, max_steps=12
    )
    assert video.frames == 13  # the reset state and 12 steps
    # CartPole's own rate (render_fps 50), so the video plays in real time.
    assert video.fps == 50 and video.path == str(path)
    if suffix == ".mp4":
        reader = imageio.get_reader(path, format="FFMPEG")
        assert reader.count_frames() == 13
        read = [reader.get_data(0)]
    else:  # Pillow merges a frame identical to the one before it
        read = imageio.mimread(path)
        assert 1 < len(read) <= 13
    assert read[0].shape[:2] == (400, 600)


def test_record_episode_refuses_other_formats(tmp_path):
    with pytest.raises(ValueError, match="must end in .mp4 or .gif"):
        media.record_episode(
            data.cartpole_dqn_path(), "CartPole-v1", tmp_path / "x.avi"
        )


def test_missing_extra_names_the_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    monkeypatch.setattr(extras.importlib, "import_module", lambda n: no_matplotlib(n))
    result = EvalResult(returns=(1.0,), lengths=(1,), wall_time_s=1.0)
    with pytest.raises(
        extras.MissingExtraError, match=r"pip install 'policylib\[plot\]'"
    ):
        media.plot_returns(result, "unused.png")
