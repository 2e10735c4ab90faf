"""TUS 1.0 uploads (resumable: create, probe, append at an offset), shared by
every upload URL — task data today; annotation, dataset and backup imports
later. An upload is a file plus a small JSON record under one directory;
`target` says which upload URL it belongs to so an id cannot be replayed on
another, and `user_id` who may append to it.

File ids are `<user_id>_<uuid4>` (CVAT's form; never contain '/')."""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import orjson
from filelock import FileLock

from domain.errors import Conflict, Forbidden, Invalid, NotFound
from storage.documents import write_atomic

_ID = re.compile(r"^[0-9]+_[0-9a-f-]{36}$")
MAX_CHUNK = 100 * 2**20


class TooLarge(Exception):
    pass


class OffsetMismatch(Exception):
    def __init__(self, offset: int):
        super().__init__(offset)
        self.offset = offset


class TusUploads:
    def __init__(self, root: Path, max_bytes: int):
        self.root = Path(root)
        self.max_bytes = max_bytes

    def _paths(self, file_id: str):
        if not _ID.match(file_id or ""):
            raise NotFound()
        return self.root / f"{file_id}.bin", self.root / f"{file_id}.json"

    def create(self, user_id: int, target: str, length: int, metadata: dict) -> dict:
        if length < 0:
            raise Invalid("Upload-Length must be a non-negative integer")
        if length > self.max_bytes:
            raise TooLarge(f"File size exceeds max limit of {self.max_bytes} bytes")
        self.root.mkdir(parents=True, exist_ok=True)
        file_id = f"{user_id}_{uuid.uuid4()}"
        data, record = self._paths(file_id)
        data.touch()
        info = {"id": file_id, "user_id": user_id, "target": target, "length": length,
                "metadata": metadata, "offset": 0}
        write_atomic(record, orjson.dumps(info))
        return info

    def get(self, user_id: int, target: str, file_id: str) -> dict:
        data, record = self._paths(file_id)
        try:
            info = orjson.loads(record.read_bytes())
        except FileNotFoundError:
            raise NotFound() from None
        if info["target"] != target:
            raise NotFound()
        if info["user_id"] != user_id:
            raise Forbidden()
        info["offset"] = data.stat().st_size if data.exists() else 0
        return info

    def append(self, user_id: int, target: str, file_id: str, offset: int, stream) -> dict:
        """Write the body at `offset` (must equal the current size); returns the
        record with the new offset. OffsetMismatch → 409.

        No fsync: the offset is the file's size, which a killed process leaves
        consistent (the page cache survives it), and like every media file an
        upload is not flushed to the disk. Flushing each 10 MiB chunk cost as much
        as the whole rest of a 350 MiB upload."""
        data, _ = self._paths(file_id)
        with FileLock(str(data) + ".lock"):
            info = self.get(user_id, target, file_id)
            if offset != info["offset"]:
                raise OffsetMismatch(info["offset"])
            written = 0
            with open(data, "r+b") as out:
                out.seek(offset)
                try:
                    while True:
                        block = stream.read(1 << 20)
                        if not block:
                            break
                        if offset + written + len(block) > info["length"]:
                            raise Invalid("The chunk goes past Upload-Length")
                        out.write(block)
                        written += len(block)
                finally:
                    out.flush()
            info["offset"] = offset + written
            return info

    def take(self, user_id: int, target: str, file_id: str) -> tuple[dict, Path]:
        """A completed upload: its record and file (the caller moves the file)."""
        info = self.get(user_id, target, file_id)
        if info["offset"] != info["length"]:
            raise Conflict("Upload is not complete")
        data, record = self._paths(file_id)
        return info, data

    def discard(self, file_id: str) -> None:
        data, record = self._paths(file_id)
        for p in (data, record, Path(str(data) + ".lock")):
            p.unlink(missing_ok=True)


def parse_metadata(header: str) -> dict:
    import base64
    import binascii
    out = {}
    for pair in (header or "").split(","):
        pair = pair.strip()
        if not pair:
            continue
        key, _, value = pair.partition(" ")
        try:
            out[key] = base64.b64decode(value.strip(), validate=True).decode() if value else ""
        except (binascii.Error, UnicodeDecodeError):
            raise Invalid("Upload-Metadata is not valid base64") from None
    return out
