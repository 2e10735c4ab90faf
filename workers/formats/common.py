"""Helpers every format module uses: the output archive and the input location."""
from __future__ import annotations

import io
import os
import posixpath
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from workers import safe_archive
from workers.formats.model import FormatError, image_name

ImageSource = Callable[[dict], "tuple[bytes, str]"]

# Limits for untrusted import archives; read at each call, so a deployment (or a test) can set
# them on this module.
MAX_MEMBERS = 200_000
MAX_BYTES = 16 << 30


class Archive:
    """The output ZIP: members are streamed to disk one by one (stored, like CVAT)."""

    def __init__(self, path: str | Path):
        self.zf = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self.names: set[str] = set()

    def _name(self, name: str) -> str:
        name = name.replace("\\", "/").lstrip("/")
        if ".." in name.split("/"):
            raise FormatError(f"Refusing to write member outside the archive: {name}")
        return name

    def write(self, name: str, data: bytes | str) -> None:
        name = self._name(name)
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.zf.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), data)
        self.names.add(name)

    @contextmanager
    def open(self, name: str, text: bool = True):
        """A writable stream for a member written piece by piece."""
        name = self._name(name)
        info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
        with self.zf.open(info, "w", force_zip64=True) as raw:
            if text:
                buf = io.BufferedWriter(raw, buffer_size=1 << 20)
                stream = io.TextIOWrapper(buf, encoding="utf-8", newline="")
                yield stream
                stream.flush()
                buf.flush()
                stream.detach()
            else:
                buf = io.BufferedWriter(raw, buffer_size=1 << 20)
                yield buf
                buf.flush()
        self.names.add(name)

    def close(self) -> None:
        self.zf.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def write_image(archive: Archive, member_dir: str, frame: dict, image_bytes: ImageSource | None,
                video: bool, name: str | None = None) -> str:
    """Copy one frame's stored original into the archive; returns the member path.
    Video frames are PNG (`frame_%06d.PNG`), images keep their path and extension."""
    if image_bytes is None:
        raise FormatError("save_images needs an image source")
    data, ext = image_bytes(frame)
    if name is None:
        name = image_name(frame, video)
        if video:
            name = posixpath.splitext(name)[0] + ".PNG"
    member = posixpath.join(member_dir, name) if member_dir else name
    archive.write(member, data)
    return member


@contextmanager
def open_input(path: str | Path, *, max_members: int | None = None, max_bytes: int | None = None,
               label: str = "Annotation file") -> Iterator[Path]:
    """A directory holding the import input: a directory as is, a ZIP/TAR unpacked safely into
    a temporary directory (removed afterwards), a bare file inside a directory of its own."""
    path = Path(path)
    max_members = MAX_MEMBERS if max_members is None else max_members
    max_bytes = MAX_BYTES if max_bytes is None else max_bytes
    if path.is_dir():
        yield path
        return
    if not path.is_file():
        raise FormatError(f"{label} not found")
    tmp = Path(tempfile.mkdtemp(prefix="cvat-import-"))
    try:
        if zipfile.is_zipfile(path):
            try:
                safe_archive.extract(path, tmp / "root", label=f"{label} {path.name}",
                                     max_members=max_members, max_bytes=max_bytes)
            except safe_archive.ArchiveError as e:
                raise FormatError(str(e)) from None
            yield tmp / "root"
        else:
            (tmp / "root").mkdir()
            shutil.copyfile(path, tmp / "root" / path.name)
            yield tmp / "root"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def files(root: Path, suffix: str | tuple = "") -> list[Path]:
    """Regular files under root whose name ends with suffix (case-insensitive), sorted."""
    suffixes = (suffix,) if isinstance(suffix, str) else suffix
    out = []
    for dirpath, dirs, names in os.walk(root):
        dirs.sort()
        for n in sorted(names):
            if any(n.lower().endswith(s.lower()) for s in suffixes):
                p = Path(dirpath) / n
                if p.is_file() and not p.is_symlink():
                    out.append(p)
    return out


def inside(root: Path, *parts: str) -> Path:
    """root/parts…, refusing any file name from the input that would leave the unpacked tree
    (absolute names, `..`, symlinks)."""
    base = Path(root).resolve()
    target = Path(root).joinpath(*parts).resolve()
    if target != base and base not in target.parents:
        raise FormatError(f"'{'/'.join(parts)}' points outside the dataset")
    return target


def read_text(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise FormatError(f"{what} is not UTF-8 text") from None


def parse_float(text, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise FormatError(f"{what}: '{text}' is not a number") from None
    if v != v or v in (float("inf"), float("-inf")):
        raise FormatError(f"{what}: '{text}' is not a finite number")
    return v
