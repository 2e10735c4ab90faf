"""Imageset chunks: a zip with exactly one stored (uncompressed) member per
frame, named {i:06d}.{ext} by position inside the chunk, in frame order — the
SDK indexes `infolist()` positionally."""
from __future__ import annotations

import os
import zipfile
from pathlib import Path

from storage import composed


_BLOCK = 1 << 20


def member_name(index: int, ext: str) -> str:
    return f"{index:06d}.{ext}"


def write_zip(path: Path, members: list[tuple[bytes | Path, str]]) -> None:
    """Write [(bytes or a file to stream, extension)] atomically (temp file + rename)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
        for i, (data, ext) in enumerate(members):
            if isinstance(data, Path):
                with open(data, "rb") as source:
                    add_member(zf, member_name(i, ext), source, os.fstat(source.fileno()).st_size)
                continue
            info = zipfile.ZipInfo(member_name(i, ext), date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, data)
    os.replace(tmp, path)


def read_member(path: Path, index: int) -> tuple[bytes, str]:
    with composed.open_chunk(path) as f, zipfile.ZipFile(f) as zf:
        info = zf.infolist()[index]
        return zf.read(info), info.filename.rsplit(".", 1)[-1]


def add_member(zf: zipfile.ZipFile, name: str, source, size: int) -> None:
    """Stream the binary file `source` of `size` bytes into `zf` as a stored
    member through one reused buffer: reading whole files of a task's worth of
    media into fresh buffers costs several times the copy itself."""
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = size  # lets zipfile decide on zip64 before it writes the header
    buffer = memoryview(bytearray(_BLOCK))
    with zf.open(info, "w") as out:
        while True:
            count = source.readinto(buffer)
            if not count:
                break
            out.write(buffer[:count])
