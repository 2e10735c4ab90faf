"""cvat-cli task creation from local files and the share, and frame download."""
from __future__ import annotations

from PIL import Image

from tests.media_helpers import index_of_color, make_images, make_video
from tests.test_e2e_cli import cli  # noqa: F401  (fixture)


def test_cli_create_local_and_download_frames(cli, tmp_path):  # noqa: F811
    paths = make_images(tmp_path / "in", 5, size=(20, 20))
    out = cli("task", "create", "cli images", "local", *map(str, paths), "--labels", '[{"name": "car"}]',
              "--segment_size", "2", "--chunk_size", "2", "--image_quality", "90")
    task_id = int(out.strip().splitlines()[-1])
    (tmp_path / "out").mkdir()
    cli("task", "frames", str(task_id), "0", "4", "--outdir", str(tmp_path / "out"), "--quality", "original")
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == 2
    assert index_of_color(Image.open(saved[-1]).convert("RGB").getpixel((2, 2))) == 4


def test_cli_create_video_from_share(cli, stack, tmp_path):  # noqa: F811
    make_video(stack.share / "cli" / "clip.mp4", 15)
    out = cli("task", "create", "cli video", "share", "cli/clip.mp4", "--labels", '[{"name": "car"}]',
              "--frame_step", "2")
    task_id = int(out.strip().splitlines()[-1])
    (tmp_path / "out").mkdir()
    cli("task", "frames", str(task_id), "7", "--outdir", str(tmp_path / "out"))
    assert len(list((tmp_path / "out").iterdir())) == 1
