"""Videos decoded by imageio-ffmpeg's bundled ffmpeg, streamed through a pipe:
memory stays flat whatever the length (one frame in flight at a time). ffmpeg
applies rotation metadata itself (autorotate) and encodes the JPEGs (its mjpeg
encoder is ~1.6x faster than piping raw frames to Pillow); `-fps_mode
passthrough` keeps exactly one output frame per decoded frame."""
from __future__ import annotations

import re
import subprocess
import threading
from fractions import Fraction
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


def _run(args: list[str], loglevel: str = "error") -> subprocess.Popen:
    return subprocess.Popen([ffmpeg(), "-hide_banner", "-loglevel", loglevel, "-nostdin", *args],
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


class _Timestamps(threading.Thread):
    """Reads ffmpeg's stderr (it must be drained anyway): the showinfo lines give
    each output frame's exact time (pts × time base); the rest is kept for
    error messages."""

    def __init__(self, stream, times: list):
        super().__init__(daemon=True)
        self.stream, self.times, self.errors = stream, times, []
        self.base = None

    def run(self):
        for raw in iter(self.stream.readline, b""):
            line = raw.decode(errors="replace")
            if "Parsed_showinfo" in line:
                m = _TIME_BASE.search(line)
                if m and self.base is None:
                    self.base = Fraction(int(m.group(1)), int(m.group(2)))
                m = _PTS.search(line)
                if m and self.base is not None:
                    self.times.append(float(int(m.group(1)) * self.base))
            elif line.strip():
                self.errors.append(line.strip())
                del self.errors[:-5]


_TIME_BASE = re.compile(r"config in time_base: (\d+)/(\d+)")
_PTS = re.compile(r" n:\s*\d+ pts:\s*(-?\d+) ")


def jpeg_frames(path: Path, label: str, quality: int, start: int = 0, stop: int | None = None,
                step: int = 1, chunk_size: int = 1, part: int = 0, parts: int = 1,
                times: list | None = None) -> Iterator[bytes]:
    """JPEG bytes of source frames start, start+step, … ≤ stop, in order (only
    those of task chunks k % parts == part when split). `times`, if given,
    receives each yielded frame's timestamp in seconds (for exact seeking
    later). Raises MediaError when ffmpeg cannot decode the file."""
    select = _select(start, stop, step, chunk_size, part, parts)
    if times is not None:
        chain = select[1] + "," if select else ""
        select = ["-vf", chain + "showinfo=checksum=0"]
    proc = _run(["-i", str(path), "-an", "-sn", "-dn", *select,
                 "-fps_mode", "passthrough", "-f", "image2pipe", "-c:v", "mjpeg",
                 "-pix_fmt", "yuvj420p", "-q:v", str(jpeg_qscale(quality)), "-"],
                loglevel="info" if times is not None else "error")
    reader = _Timestamps(proc.stderr, times if times is not None else [])
    reader.start()
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
        reader.join(10)
        if proc.returncode != 0 and produced == 0:
            detail = reader.errors[-1] if reader.errors else f"ffmpeg exited with {proc.returncode}"
            raise MediaError(f"Can't decode video {label}: {detail}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        reader.join(10)
        proc.stdout.close()
        proc.stderr.close()
    if times is not None and len(times) < produced:
        raise MediaError(f"Can't read the frame timestamps of {label}")


_EPSILON = 0.0005  # below any real frame interval: the seek lands on the frame itself


def _seek(time: float | None) -> list[str]:
    """Input options for an exact seek to the frame at `time` (accurate seek
    drops every frame before it)."""
    return ["-ss", f"{max(0.0, time - _EPSILON):.6f}"] if time is not None and time > _EPSILON else []


def png_frame(path: Path, number: int, time: float | None = None) -> bytes:
    """One source frame, full quality, as PNG: by seeking to its timestamp when
    known (recorded at build), else by counting frames from the start."""
    if time is not None:
        args = [*_seek(time), "-i", str(path), "-an", "-sn", "-dn"]
    else:
        args = ["-i", str(path), "-an", "-sn", "-dn", "-vf", f"select='eq(n\\,{number})'"]
    proc = _run([*args, "-fps_mode", "passthrough", "-frames:v", "1", "-f", "image2pipe", "-c:v", "png", "-"])
    out, err = proc.communicate()
    if proc.returncode != 0 or not out:
        raise MediaError(f"Can't decode frame {number} of {path.name}: {err.decode(errors='replace')[-200:]}")
    return out


def mp4_chunk(path: Path, out: Path, first: int, last: int, step: int, time: float | None = None,
              crf: int = 17, scale: int = 1) -> None:
    """Source frames first, first+step, … ≤ last as an H.264 mp4 (yuv420p, even
    size, 25 fps, near-lossless) — CVAT's original-quality video chunk. With the
    first frame's `time` ffmpeg seeks there instead of decoding from the start."""
    count = len(range(first, last + 1, step))
    if time is not None:
        head = [*_seek(time), "-i", str(path)]
        cond = f"not(mod(n\\,{step}))" if step > 1 else None
    else:
        head = ["-i", str(path)]
        cond = f"between(n\\,{first}\\,{last})" + (f"*not(mod(n-{first}\\,{step}))" if step > 1 else "")
    size = f"trunc(iw/{2 * scale})*2:trunc(ih/{2 * scale})*2"
    chain = (f"select='{cond}'," if cond else "") + f"setpts=N/25/TB,scale={size}"
    tmp = out.with_name(out.name + ".part.mp4")
    proc = _run([*head, "-an", "-sn", "-dn", "-vf", chain, "-frames:v", str(count),
                 "-fps_mode", "cfr", "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf),
                 "-pix_fmt", "yuv420p", "-movflags", "+faststart", "-r", "25", "-y", str(tmp)])
    _, err = proc.communicate()
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise MediaError(f"Can't build a video chunk of {path.name}: {err.decode(errors='replace')[-200:]}")
    tmp.replace(out)
