"""Videos decoded by imageio-ffmpeg's bundled ffmpeg, streamed through a pipe:
memory stays flat whatever the length (one frame in flight at a time). ffmpeg
applies rotation metadata itself (autorotate) and encodes the JPEGs (its mjpeg
encoder is ~1.6x faster than piping raw frames to Pillow); `-fps_mode
passthrough` keeps exactly one output frame per decoded frame."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Iterator

import imageio_ffmpeg

from workers.media.images import MediaError

EXTENSIONS = {".mp4", ".avi", ".mkv", ".webm", ".mov", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".3gp"}
_READ = 1 << 20
_EOI = b"\xff\xd9"


def ffmpeg() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


def is_video(name: str) -> bool:
    return Path(name).suffix.lower() in EXTENSIONS


def jpeg_qscale(quality: int) -> int:
    """image_quality 1..100 → ffmpeg mjpeg -q:v 31..2 (lower is better)."""
    quality = max(1, min(100, int(quality)))
    return max(2, min(31, round(31 - (quality - 1) * 29 / 99)))


def estimate_frames(path: Path) -> int | None:
    """Duration × fps from the container header (for progress only; may be off)."""
    proc = subprocess.run([ffmpeg(), "-hide_banner", "-nostdin", "-i", str(path)],
                          capture_output=True, timeout=60)
    text = proc.stderr.decode(errors="replace")
    duration = re.search(r"Duration: (\d+):(\d+):(\d+(?:\.\d+)?)", text)
    fps = re.search(r"Video:.*?(\d+(?:\.\d+)?) fps", text)
    if not duration or not fps:
        return None
    h, m, s = duration.groups()
    return int(round((int(h) * 3600 + int(m) * 60 + float(s)) * float(fps.group(1))))


def _select(start: int, stop: int | None, step: int, chunk_size: int, part: int, parts: int) -> list[str]:
    """The select filter keeping source frames start, start+step, … ≤ stop and,
    when the work is split in `parts` interleaved ffmpeg processes, only the
    task chunks k with k % parts == part."""
    cond = []
    if start:
        cond.append(f"gte(n\\,{start})")
    if stop is not None:
        cond.append(f"lte(n\\,{stop})")
    if step > 1:
        cond.append(f"not(mod(n-{start}\\,{step}))")
    if parts > 1:
        cond.append(f"eq(mod(floor((n-{start})/{step * chunk_size})\\,{parts})\\,{part})")
    return ["-vf", "select='" + "*".join(cond) + "'"] if cond else []


def _run(args: list[str]) -> subprocess.Popen:
    return subprocess.Popen([ffmpeg(), "-hide_banner", "-loglevel", "error", "-nostdin", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)


def _error_text(proc: subprocess.Popen) -> str:
    err = proc.stderr.read().decode(errors="replace").strip().splitlines()
    return err[-1] if err else f"ffmpeg exited with {proc.returncode}"


def _wanted(start: int, stop: int | None, step: int, chunk_size: int, part: int, parts: int) -> int | None:
    if stop is None:
        return None
    total = len(range(start, stop + 1, step))
    return sum(min(chunk_size, total - first) for k, first in enumerate(range(0, total, chunk_size))
               if k % parts == part)


def jpeg_frames(path: Path, label: str, quality: int, start: int = 0, stop: int | None = None,
                step: int = 1, chunk_size: int = 1, part: int = 0, parts: int = 1) -> Iterator[bytes]:
    """JPEG bytes of source frames start, start+step, … ≤ stop, in order (only
    those of task chunks k % parts == part when split). Raises MediaError when
    ffmpeg cannot decode the file."""
    proc = _run(["-i", str(path), "-an", "-sn", "-dn", *_select(start, stop, step, chunk_size, part, parts),
                 "-fps_mode", "passthrough", "-f", "image2pipe", "-c:v", "mjpeg",
                 "-pix_fmt", "yuvj420p", "-q:v", str(jpeg_qscale(quality)), "-"])
    buffer = bytearray()
    produced = 0
    wanted = _wanted(start, stop, step, chunk_size, part, parts)
    try:
        if wanted == 0:
            return
        while True:
            block = proc.stdout.read(_READ)
            if not block:
                break
            scan_from = max(0, len(buffer) - 1)
            buffer += block
            while True:
                end = buffer.find(_EOI, scan_from)
                if end < 0:
                    break
                frame = bytes(buffer[:end + 2])
                del buffer[:end + 2]
                scan_from = 0
                produced += 1
                yield frame
                if wanted is not None and produced >= wanted:
                    return
        proc.wait()
        if proc.returncode != 0 and produced == 0:
            raise MediaError(f"Can't decode video {label}: {_error_text(proc)}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def png_frame(path: Path, number: int) -> bytes:
    """One source frame, full quality, as PNG."""
    proc = _run(["-i", str(path), "-an", "-sn", "-dn", "-vf", f"select='eq(n\\,{number})'",
                 "-fps_mode", "passthrough", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"])
    out, err = proc.communicate()
    if proc.returncode != 0 or not out:
        raise MediaError(f"Can't decode frame {number} of {path.name}: {err.decode(errors='replace')[-200:]}")
    return out


def mp4_chunk(path: Path, out: Path, first: int, last: int, step: int) -> None:
    """Source frames first, first+step, … ≤ last as an H.264 mp4 (yuv420p, even
    size, 25 fps, near-lossless) — CVAT's original-quality video chunk."""
    cond = f"between(n\\,{first}\\,{last})"
    if step > 1:
        cond += f"*not(mod(n-{first}\\,{step}))"
    tmp = out.with_name(out.name + ".part.mp4")
    proc = _run(["-i", str(path), "-an", "-sn", "-dn",
                 "-vf", f"select='{cond}',setpts=N/25/TB,scale=trunc(iw/2)*2:trunc(ih/2)*2",
                 "-fps_mode", "cfr", "-c:v", "libx264", "-preset", "veryfast", "-crf", "17",
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-r", "25", "-y", str(tmp)])
    _, err = proc.communicate()
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"Can't build a video chunk of {path.name}: {err.decode(errors='replace')[-200:]}")
    tmp.replace(out)
