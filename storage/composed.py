"""Zips laid out from byte ranges of files the server keeps anyway (chunks,
backup archives).

Writing an original chunk copies every original byte once more. Copies are
never free, and on these VMs they are dear: a MiB written into memory the
guest has not touched before costs ~2.5 ms of kernel CPU (the host backs
guest pages on first touch; a fresh server's page cache grows into such
memory), ten times a write into recycled pages. For 300 uploaded 1080p JPEGs
the copy was 0.8 s of a 4.8 s task creation, and a restore copied the whole
backup twice. A composed chunk is instead a small plan stored where the zip
would be (`N.zip.plan`): either the members of a stored zip, each a byte range
of a kept file with its CRC, or one byte range holding a whole zip (a chunk
inside a stored backup archive). The zip's bytes are laid out from the plan
when read: exactly as long as announced, the same on every read.

Paths in a plan are relative to the task's data directory (the plan's
grandparent's parent), so the build directory can be renamed into place.
"""
from __future__ import annotations

import bisect
import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import orjson

SUFFIX = ".plan"
ZIP_LIMIT = 0xFFFF_FFFF - (1 << 20)   # no zip64 here: larger chunks are written out
MEMBER_LIMIT = 0xFFFF
_DOS_DATE = ((2020 - 1980) << 9) | (1 << 5) | 1   # 2020-01-01 00:00, as chunks.write_zip stamps
_DOS_TIME = 0


def plan_path(chunk: Path) -> Path:
    return chunk.with_name(chunk.name + SUFFIX)


def _write(chunk: Path, plan: dict) -> None:
    """Atomically, and like the chunk zips without an fsync: the build
    directory only counts once it is renamed into place."""
    path = plan_path(chunk)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(plan))
    os.replace(tmp, path)


def composable(members: list[tuple[str, int]]) -> bool:
    """Whether [(name, size)] fit a plain (non-zip64) zip."""
    total = sum(size + 76 + 2 * len(name.encode()) for name, size in members) + 22
    return len(members) < MEMBER_LIMIT and total < ZIP_LIMIT


def write_zip_plan(chunk: Path, base: Path, members: list[tuple[str, Path, int, int, int]]) -> None:
    """A stored zip of [(member name, file, offset, size, crc32)]; files under `base`."""
    entries = [[name, str(Path(path).relative_to(base)), offset, size, crc]
               for name, path, offset, size, crc in members]
    _write(chunk, {"zip": entries})


def write_range_plan(chunk: Path, base: Path, path: Path, offset: int, size: int) -> None:
    """A chunk that is `size` bytes of `path` from `offset` (a zip in a stored archive)."""
    _write(chunk, {"range": [str(Path(path).relative_to(base)), offset, size]})


def exists(chunk: Path) -> bool:
    return chunk.exists() or plan_path(chunk).exists()


class Layout:
    """The segments of a composed chunk: bytes, or (file, offset, size). Plan
    paths are relative to `base`, by default the chunk's task data directory.
    `pin` holds whatever must live as long as the layout (a lock on its files)."""

    pin = None

    def __init__(self, chunk: Path, base: Path | None = None):
        self.plan = plan_path(chunk)
        self.stat = os.stat(self.plan)   # FileNotFoundError: no such chunk
        raw = orjson.loads(self.plan.read_bytes())
        base = Path(base or self.plan.parent.parent.parent).resolve()
        if "range" in raw:
            rel, offset, size = raw["range"]
            self._set([(_inside(base, rel), offset, size)])
        else:
            self._set(_zip_segments(base, raw["zip"]))

    @classmethod
    def of(cls, segments: list) -> "Layout":
        layout = cls.__new__(cls)
        layout.plan = layout.stat = None
        layout._set(segments)
        return layout

    def _set(self, segments: list) -> None:
        self.segments, self.starts, position = segments, [], 0
        for segment in segments:
            self.starts.append(position)
            position += len(segment) if isinstance(segment, bytes) else segment[2]
        self.size = position

    def single_range(self) -> tuple[Path, int, int] | None:
        return self.segments[0] if len(self.segments) == 1 and not isinstance(self.segments[0], bytes) else None

    def open_range(self):
        """The file of a single-range chunk, positioned at the chunk's first byte."""
        path, offset, _ = self.single_range()
        source = open(path, "rb")
        source.seek(offset)
        return source

    def stream(self, block: int = 1 << 20):
        """The chunk's bytes in blocks, for an HTTP response."""
        with Reader(self) as reader:
            while True:
                data = reader.read(block)
                if not data:
                    return
                yield data


def _inside(base: Path, rel: str) -> Path:
    path = (base / rel).resolve()
    if base not in path.parents:
        raise ValueError(f"a chunk plan points outside its task: {rel}")
    return path


def _zip_segments(base: Path, entries: list) -> list:
    segments, central, offset = [], [], 0
    for name, rel, start, size, crc in entries:
        encoded = name.encode()
        header = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, _DOS_TIME, _DOS_DATE, crc, size, size,
                             len(encoded), 0) + encoded
        central.append(struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, _DOS_TIME, _DOS_DATE, crc,
                                   size, size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded)
        segments += [header, (_inside(base, rel), start, size)]
        offset += len(header) + size
    directory = b"".join(central)
    segments.append(directory + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries),
                                            len(directory), offset, 0))
    return segments


class Reader(io.RawIOBase):
    """A read-only, seekable file over a Layout: zipfile opens it like the zip."""

    def __init__(self, layout: Layout):
        self.layout, self.position, self.fds = layout, 0, {}

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=os.SEEK_SET):
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.position, os.SEEK_END: self.layout.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def readinto(self, buffer) -> int:
        view, done = memoryview(buffer).cast("B"), 0
        while done < len(view) and self.position < self.layout.size:
            i = bisect.bisect_right(self.layout.starts, self.position) - 1
            segment, within = self.layout.segments[i], self.position - self.layout.starts[i]
            if isinstance(segment, bytes):
                count = min(len(view) - done, len(segment) - within)
                view[done:done + count] = segment[within:within + count]
            else:
                path, start, size = segment
                count = os.preadv(self._fd(path), [view[done:done + min(len(view) - done, size - within)]],
                                  start + within)
                if count <= 0:
                    raise OSError(f"{path.name} is shorter than its chunk plan says")
            done += count
            self.position += count
        return done

    def _fd(self, path: Path) -> int:
        if path not in self.fds:
            self.fds[path] = os.open(path, os.O_RDONLY)
        return self.fds[path]

    def close(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds = {}
        super().close()


def open_chunk(chunk: Path):
    """A binary file of the chunk: the zip itself, or one laid out from its plan."""
    try:
        return open(chunk, "rb")
    except FileNotFoundError:
        return io.BufferedReader(Reader(Layout(chunk)), 1 << 16)


def open_range(path: Path, offset: int, size: int):
    """A binary file of `size` bytes of `path` from `offset`."""
    return io.BufferedReader(Reader(Layout.of([(Path(path), offset, size)])), 1 << 16)


def members(chunk: Path) -> list[tuple[str, Path, int, int, int]]:
    """[(name, file, offset, size, crc)] of a stored zip chunk's members, from
    its plan or from the zip's own headers."""
    if not chunk.exists():
        base = plan_path(chunk).parent.parent.parent.resolve()
        return [(name, _inside(base, rel), offset, size, crc)
                for name, rel, offset, size, crc in orjson.loads(plan_path(chunk).read_bytes())["zip"]]
    out = []
    with open(chunk, "rb") as f, zipfile.ZipFile(f) as zf:
        for info in zf.infolist():
            found = stored_span(f.fileno(), info)
            if found is None:
                raise ValueError(f"{chunk.name} holds a compressed member")
            out.append((info.filename, chunk, *found, info.CRC))
    return out


def stored_span(fd: int, info: zipfile.ZipInfo) -> tuple[int, int] | None:
    """(offset, size) of a member's bytes in the zip open at `fd` when they
    are stored as they are; None when compressed or encrypted."""
    if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 1:
        return None
    head = os.pread(fd, 30, info.header_offset)
    if len(head) < 30 or head[:4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no local header for {info.filename}")
    name_length, extra_length = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_length + extra_length, info.compress_size


def crc(path: Path, offset: int, size: int, buffer: memoryview | None = None) -> int:
    """CRC-32 of `size` bytes of `path` from `offset`, read through one buffer."""
    buffer = buffer if buffer is not None else memoryview(bytearray(1 << 20))
    value, end = 0, offset + size
    fd = os.open(path, os.O_RDONLY)
    try:
        while offset < end:
            count = os.preadv(fd, [buffer[:min(len(buffer), end - offset)]], offset)
            if count <= 0:
                raise OSError(f"{Path(path).name} is shorter than {end} bytes")
            value = zlib.crc32(buffer[:count], value)
            offset += count
    finally:
        os.close(fd)
    return value


def span(chunk: Path) -> tuple[Path, int, int]:
    """(file, offset, size) holding a chunk's bytes: the chunk itself, or the
    one byte range its plan names."""
    if chunk.exists():
        return chunk, 0, chunk.stat().st_size
    found = Layout(chunk).single_range()
    if found is None:
        raise ValueError(f"{chunk.name} is laid out from several files")
    return found
