"""Archives (zip, tar, tar.gz/bz2/xz) unpacked safely: members with absolute
paths or `..` (zip slip), symlinks, hard links and devices are refused, and the
number of members and the bytes actually written are limited (the sizes in the
headers are not trusted)."""
from __future__ import annotations

import os
import shutil
import stat
import tarfile
import zipfile
from pathlib import Path, PurePosixPath

from workers.media.images import MediaError

SUFFIXES = (".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")
_COPY_BLOCK = 1 << 20


def is_archive(name: str) -> bool:
    return name.lower().endswith(SUFFIXES)


def _safe_member(name: str, label: str) -> PurePosixPath:
    clean = name.replace("\\", "/")
    path = PurePosixPath(clean)
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":") or ".." in path.parts:
        raise MediaError(f"Archive {label} contains an unsafe path: {name}")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else PurePosixPath()


class _Budget:
    def __init__(self, label, max_members, max_bytes):
        self.label, self.max_members, self.max_bytes = label, max_members, max_bytes
        self.members = 0
        self.bytes = 0

    def member(self):
        self.members += 1
        if self.members > self.max_members:
            raise MediaError(f"Archive {self.label} has more than {self.max_members} members")

    def copy(self, source, target: Path):
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(target, "xb") as out:
            while True:
                block = source.read(_COPY_BLOCK)
                if not block:
                    break
                self.bytes += len(block)
                if self.bytes > self.max_bytes:
                    raise MediaError(f"Archive {self.label} unpacks to more than {self.max_bytes} bytes")
                out.write(block)


def extract(archive: Path, dest: Path, label: str, max_members: int, max_bytes: int) -> list[str]:
    """Unpack into `dest` (created); returns the regular files' relative paths.
    On any refusal `dest` is removed and MediaError names the archive."""
    dest.mkdir(parents=True, exist_ok=False)
    budget = _Budget(label, max_members, max_bytes)
    names: list[str] = []
    try:
        if zipfile.is_zipfile(archive):
            with zipfile.ZipFile(archive) as zf:
                for info in zf.infolist():
                    budget.member()
                    rel = _safe_member(info.filename, label)
                    mode = info.external_attr >> 16
                    if stat.S_ISLNK(mode):
                        raise MediaError(f"Archive {label} contains a symbolic link: {info.filename}")
                    if info.is_dir() or not rel.parts:
                        continue
                    with zf.open(info) as source:
                        budget.copy(source, dest.joinpath(*rel.parts))
                    names.append(str(rel))
        elif tarfile.is_tarfile(archive):
            with tarfile.open(archive) as tf:
                for member in tf:
                    budget.member()
                    rel = _safe_member(member.name, label)
                    if member.issym() or member.islnk():
                        raise MediaError(f"Archive {label} contains a link: {member.name}")
                    if member.isdir() or not rel.parts:
                        continue
                    if not member.isfile():
                        raise MediaError(f"Archive {label} contains a special file: {member.name}")
                    source = tf.extractfile(member)
                    budget.copy(source, dest.joinpath(*rel.parts))
                    names.append(str(rel))
        else:
            raise MediaError(f"Archive {label} is not a zip or tar archive")
    except MediaError:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    except FileExistsError as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise MediaError(f"Archive {label} contains a member twice: {os.path.basename(str(e.filename))}") from None
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, RuntimeError) as e:
        shutil.rmtree(dest, ignore_errors=True)
        raise MediaError(f"Can't unpack archive {label}: {e}") from None
    return names
