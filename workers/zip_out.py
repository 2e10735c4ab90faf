"""Two ways to produce a stored zip from small members and byte ranges of files.

A backup is mostly bytes the server already keeps (original files, chunks).
`WrittenZip` copies them into a zip file; `PlannedZip` instead pins each
source file with a hard link in a parts folder and records a composed-zip
plan (`storage/composed.py`), so the archive is laid out only when it
is downloaded. On these VMs a MiB written into never-touched memory costs
~2.5 ms of kernel CPU (storage/composed.py): for the bench's 562 MiB
backup the copy was most of its export's 1.34 s.
Links keep the bytes even when the task is deleted before the download,
since the server never rewrites a file in place.
"""
from __future__ import annotations

import os
import zipfile
import zlib
from pathlib import Path

from storage import composed
from workers.media import chunks


class NotPlannable(Exception):
    """The archive cannot be a plan (too large for a plain zip, no hard links)."""


class WrittenZip:
    """The members copied into a zip at `path` (closed through `.zf`)."""

    def __init__(self, path: Path):
        self.zf = zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True)

    def writestr(self, name: str, data: bytes) -> None:
        self.zf.writestr(name, data)

    def add_range(self, name: str, path: Path, offset: int, size: int, crc: int | None = None) -> None:
        with composed.open_range(path, offset, size) as source:
            chunks.add_member(self.zf, name, source, size)


class PlannedZip:
    """Members recorded in `parts` (a fresh folder): small ones appended to
    parts/inline, ranges of hard-linked files; `close` writes the plan."""

    def __init__(self, parts: Path):
        self.parts = Path(parts)
        self.parts.mkdir(parents=True)
        self.inline = open(self.parts / "inline", "wb")
        self.inline_size = 0
        self.links: dict[tuple[int, int], str] = {}
        self.entries: list[tuple[str, Path, int, int, int]] = []

    def writestr(self, name: str, data: bytes) -> None:
        self.inline.write(data)
        self.entries.append((name, self.parts / "inline", self.inline_size, len(data), zlib.crc32(data)))
        self.inline_size += len(data)

    def add_range(self, name: str, path: Path, offset: int, size: int, crc: int | None = None) -> None:
        pinned = self._pin(path)
        if crc is None:
            crc = composed.crc(pinned, offset, size)
        self.entries.append((name, pinned, offset, size, crc))

    def _pin(self, path: Path) -> Path:
        st = os.stat(path)
        key = (st.st_dev, st.st_ino)
        if key not in self.links:
            name = str(len(self.links))
            try:
                os.link(path, self.parts / name)
            except OSError as e:
                raise NotPlannable(f"cannot link {Path(path).name}: {e}") from None
            self.links[key] = name
        return self.parts / self.links[key]

    def close(self) -> None:
        self.inline.close()
        if not composed.composable([(name, size) for name, _, _, size, _ in self.entries]):
            raise NotPlannable("too large for a plain zip")

    def write_plan(self, plan_target: Path) -> None:
        composed.write_zip_plan(plan_target, self.parts, self.entries)
