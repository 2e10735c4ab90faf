"""Unpacking of untrusted archives (uploaded datasets, annotation files, backups, media).

Refused, with an ArchiveError naming the archive and the member:
  * members whose path is absolute, has a drive letter, or climbs out with `..` (zip slip);
  * symbolic links, hard links, devices and fifos (tar), symbolic links (zip, by mode bits);
  * more than `max_members` members;
  * more than `max_bytes` bytes actually written (header sizes are not trusted: bytes are
    counted while they are copied, so a zip bomb stops at the limit).
On any refusal the destination directory is removed, so a caller never sees half an archive.
"""
from __future__ import annotations

import shutil
import stat
import tarfile
import zipfile
import zlib
from pathlib import Path, PurePosixPath

DEFAULT_MAX_MEMBERS = 100_000
DEFAULT_MAX_BYTES = 8 << 30
_BLOCK = 1 << 20


class ArchiveError(ValueError):
    """An archive that must not be unpacked; the message names the problem."""


def safe_member_path(name: str, label: str = "archive") -> PurePosixPath:
    """The member's path relative to the extraction root; raises on anything that could escape."""
    clean = name.replace("\\", "/")
    if clean.startswith("/") or (len(clean) > 1 and clean[1] == ":"):
        raise ArchiveError(f"{label}: member '{name}' has an absolute path")
    path = PurePosixPath(clean)
    if ".." in path.parts:
        raise ArchiveError(f"{label}: member '{name}' points outside the archive (zip slip)")
    parts = [p for p in path.parts if p not in ("", ".")]
    return PurePosixPath(*parts) if parts else PurePosixPath()


class _Budget:
    def __init__(self, label: str, max_members: int, max_bytes: int):
        self.label, self.max_members, self.max_bytes = label, max_members, max_bytes
        self.members = 0
        self.bytes = 0

    def member(self) -> None:
        self.members += 1
        if self.members > self.max_members:
            raise ArchiveError(f"{self.label}: more than {self.max_members} members")

    def copy(self, source, target: Path) -> None:
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise ArchiveError(f"{self.label}: member '{target.name}' appears twice")
        with open(target, "xb") as out:
            while True:
                block = source.read(_BLOCK)
                if not block:
                    break
                self.bytes += len(block)
                if self.bytes > self.max_bytes:
                    raise ArchiveError(f"{self.label}: unpacks to more than {self.max_bytes} bytes")
                out.write(block)


def _checked_members(zf: zipfile.ZipFile, budget: _Budget):
    """(info, safe relative path) of every regular file member; refuses the
    whole archive on the first member that could escape or is a link."""
    infos = zf.infolist()
    if len(infos) > budget.max_members:
        raise ArchiveError(f"{budget.label}: more than {budget.max_members} members")
    members = []
    for info in infos:
        budget.member()
        rel = safe_member_path(info.filename, budget.label)
        if stat.S_ISLNK(info.external_attr >> 16):
            raise ArchiveError(f"{budget.label}: member '{info.filename}' is a symbolic link")
        if not info.is_dir() and rel.parts:
            members.append((info, rel))
    return members


def open_zip(archive: str | Path, *, label: str | None = None, max_members: int = DEFAULT_MAX_MEMBERS,
             max_bytes: int = DEFAULT_MAX_BYTES) -> zipfile.ZipFile:
    """An untrusted ZIP to read in place: every member is checked as extract()
    checks it, and the declared sizes must stay within max_bytes (zipfile never
    returns more than a member declares, and checks its CRC at the end)."""
    archive = Path(archive)
    label = label or f"Archive {archive.name}"
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArchiveError(f"{label}: not a ZIP archive, or a damaged one ({e})") from None
    try:
        members = _checked_members(zf, _Budget(label, max_members, max_bytes))
        if sum(info.file_size for info, _ in members) > max_bytes:
            raise ArchiveError(f"{label}: unpacks to more than {max_bytes} bytes")
    except BaseException:
        zf.close()
        raise
    return zf


def _extract_zip(archive: Path, dest: Path, budget: _Budget, names: list[str]) -> None:
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as e:
        raise ArchiveError(f"{budget.label}: not a readable ZIP archive ({e})") from None
    with zf:
        for info, rel in _checked_members(zf, budget):
            try:
                with zf.open(info) as source:
                    budget.copy(source, dest.joinpath(*rel.parts))
            except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError,
                    RuntimeError) as e:
                raise ArchiveError(f"{budget.label}: member '{info.filename}' is damaged ({e})") from None
            names.append(str(rel))


def _extract_tar(archive: Path, dest: Path, budget: _Budget, names: list[str]) -> None:
    try:
        tf = tarfile.open(archive)
    except (tarfile.TarError, OSError) as e:
        raise ArchiveError(f"{budget.label}: not a readable TAR archive ({e})") from None
    with tf:
        for member in tf:
            budget.member()
            rel = safe_member_path(member.name, budget.label)
            if member.issym() or member.islnk():
                raise ArchiveError(f"{budget.label}: member '{member.name}' is a link")
            if member.isdir() or not rel.parts:
                continue
            if not member.isfile():
                raise ArchiveError(f"{budget.label}: member '{member.name}' is not a regular file")
            source = tf.extractfile(member)
            budget.copy(source, dest.joinpath(*rel.parts))
            names.append(str(rel))


def extract(archive: str | Path, dest: str | Path, *, label: str | None = None,
            max_members: int = DEFAULT_MAX_MEMBERS, max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """Unpack a ZIP or TAR archive into `dest` (created, must not exist).
    Returns the relative POSIX paths of the regular files written."""
    archive, dest = Path(archive), Path(dest)
    label = label or f"Archive {archive.name}"
    dest.mkdir(parents=True, exist_ok=False)
    budget = _Budget(label, max_members, max_bytes)
    names: list[str] = []
    try:
        if zipfile.is_zipfile(archive):
            _extract_zip(archive, dest, budget, names)
        elif tarfile.is_tarfile(archive):
            _extract_tar(archive, dest, budget, names)
        else:
            raise ArchiveError(f"{label}: not a ZIP or TAR archive")
    except (OSError, zipfile.BadZipFile, tarfile.TarError, EOFError, RuntimeError, zlib.error) as e:
        # a truncated or damaged archive, an encrypted member, a full disk
        shutil.rmtree(dest, ignore_errors=True)
        raise ArchiveError(f"{label}: can't be unpacked ({e})") from None
    except BaseException:
        shutil.rmtree(dest, ignore_errors=True)
        raise
    return names
