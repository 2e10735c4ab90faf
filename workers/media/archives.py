"""Media archives (zip, tar, tar.gz/bz2/xz) among a task's files: recognised by
name and unpacked by workers.safe_archive, whose refusals (zip slip, links,
too many members, too many bytes written) become the MediaError that fails
the data request naming the archive."""
from __future__ import annotations

from pathlib import Path

from workers import safe_archive
from workers.media.images import MediaError

SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


def is_archive(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def extract(archive: Path, dest: Path, label: str, max_members: int, max_bytes: int) -> list[str]:
    """Unpack into `dest` (created); returns the regular files' relative paths.
    On any refusal `dest` is removed and MediaError names the archive."""
    try:
        return safe_archive.extract(archive, dest, label=f"Archive {label}", max_members=max_members,
                                    max_bytes=max_bytes)
    except safe_archive.ArchiveError as e:
        raise MediaError(str(e)) from None
