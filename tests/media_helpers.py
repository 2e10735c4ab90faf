"""Generated media for the media tests: images whose pixels encode their index,
videos whose frames do, archives (including hostile ones)."""
from __future__ import annotations

import io
import subprocess
from pathlib import Path

import imageio_ffmpeg
from PIL import Image

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
          (128, 0, 0), (0, 128, 0), (0, 0, 128), (128, 128, 0), (128, 0, 128), (0, 128, 128)]


def make_image(path: Path, index: int, size=(64, 48), fmt=None) -> Path:
    """A flat image of COLORS[index] with a white block whose x encodes index."""
    image = Image.new("RGB", size, COLORS[index % len(COLORS)])
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt)
    return path


def make_images(directory: Path, count: int, size=(64, 48), ext="png", prefix="img_") -> list[Path]:
    return [make_image(directory / f"{prefix}{i:03d}.{ext}", i, size) for i in range(count)]


def index_of_color(rgb) -> int:
    """Nearest COLORS entry (JPEG changes colours slightly)."""
    return min(range(len(COLORS)), key=lambda i: sum((a - b) ** 2 for a, b in zip(COLORS[i], rgb)))


def make_video(path: Path, frames: int, size=(64, 48), fps=25, rotate: int | None = None, codec="libx264") -> Path:
    """A video whose frame n has the grey level GREYS(n) over its whole area, so
    the decoded frame tells its index (levels 8 apart survive compression)."""
    w, h = size
    raw = b"".join(bytes([grey(n)]) * (w * h * 3) for n in range(frames))
    args = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-"]
    if codec == "libx264":
        args += ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-g", "10", "-crf", "10"]
    elif codec == "libaom-av1":
        args += ["-c:v", "libaom-av1", "-pix_fmt", "yuv420p", "-crf", "10", "-b:v", "0", "-cpu-used", "8"]
    else:
        args += ["-c:v", codec, "-q:v", "2"]
    if rotate is not None:
        args += ["-metadata:s:v:0", f"rotate={rotate}"]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(args + [str(path)], input=raw, check=True)
    if rotate is not None:  # newer ffmpeg ignores -metadata rotate: set the display matrix
        tmp = path.with_name("rot-" + path.name)
        subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-display_rotation", str(rotate), "-i", str(path), "-c", "copy", str(tmp)], check=True)
        tmp.replace(path)
    return path


def grey(n: int) -> int:
    return 16 + (n * 8) % 224


def frame_index(jpeg: bytes, frames: int) -> int:
    with Image.open(io.BytesIO(jpeg)) as im:
        value = im.convert("L").getpixel((im.width // 2, im.height // 2))
    return min(range(frames), key=lambda n: abs(grey(n) - value))
