"""Compressing uploaded images while the rest of the upload is still arriving.

The SDK uploads in ~100 MiB Upload-Multiple requests and sends image_quality
with each, so the worker can encode the compressed frames of one batch while
the next batch is on the wire; the final build then only assembles chunks.
Results are cached per (file name, quality, optimize) next to the uploads; a
claim file marks an image being encoded so the build waits for it instead of
encoding it twice. The cache is an optimisation only: anything missing or
failed is simply done (and reported) by the build."""
from __future__ import annotations

import os
import time
from pathlib import Path

import orjson

from workers.media import images
from workers.media.images import Frame, MediaError

CLAIM_TTL = 30.0


class FrameCache:
    def __init__(self, directory: Path, quality: int, optimize: bool):
        self.dir = Path(directory)
        self.key = f"q{quality}{'o' if optimize else ''}"
        self.quality, self.optimize = quality, optimize

    def _path(self, name: str, kind: str) -> Path:
        return self.dir / f"{name}.{self.key}.{kind}"

    @staticmethod
    def _identity(source: Path) -> list:
        st = source.stat()
        return [st.st_size, st.st_mtime_ns, st.st_ino]

    def get(self, name: str, source: Path) -> Frame | None:
        """The cached frame if it was made from this very file (size, mtime and
        inode survive the rename from the staging name)."""
        try:
            meta = orjson.loads(self._path(name, "json").read_bytes())
            if meta.get("source") != self._identity(source):
                return None
            compressed = self._path(name, "jpeg").read_bytes()
            original = self._path(name, "orig").read_bytes() if meta["reencoded"] else source
        except (FileNotFoundError, orjson.JSONDecodeError, KeyError):
            return None
        return Frame(meta["width"], meta["height"], compressed, original, meta["ext"])

    def put(self, name: str, source: Path, frame: Frame, identity: list | None = None) -> None:
        reencoded = frame.original_ext != (Path(name).suffix.lower().lstrip(".") or "bin")
        self._path(name, "jpeg").write_bytes(frame.compressed)
        if reencoded:
            self._path(name, "orig").write_bytes(frame.original)
        tmp = self._path(name, "json.tmp")
        tmp.write_bytes(orjson.dumps({"width": frame.width, "height": frame.height, "ext": frame.original_ext,
                                      "reencoded": reencoded, "source": identity or self._identity(source)}))
        os.replace(tmp, self._path(name, "json"))

    def claim(self, name: str) -> bool:
        try:
            self.dir.mkdir(exist_ok=True)  # not parents: a deleted task stays deleted
            os.close(os.open(self._path(name, "claim"), os.O_CREAT | os.O_EXCL | os.O_WRONLY))
            return True
        except FileExistsError:
            return False
        except OSError:
            return False

    def release(self, name: str) -> None:
        self._path(name, "claim").unlink(missing_ok=True)

    def claimed(self, name: str) -> bool:
        try:
            return time.time() - self._path(name, "claim").stat().st_mtime < CLAIM_TTL
        except FileNotFoundError:
            return False

    def wait(self, name: str, source: Path, timeout: float = CLAIM_TTL) -> Frame | None:
        """The cached frame once the claim holder is done (None if it gave up)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.get(name, source)
            if frame is not None or not self.claimed(name):
                return frame or self.get(name, source)
            time.sleep(0.01)
        return None

    def take(self, name: str, source: Path, compute) -> Frame:
        """Cached, awaited, or computed here. The build is the cache's last
        user, so a cached entry is deleted as it is read: the pages it held are
        free again for the chunk written next (on these VMs a write into
        never-touched memory costs ~10x one into recycled pages, storage/composed.py)."""
        frame = self.get(name, source)
        if frame is None and self.claimed(name):
            frame = self.wait(name, source)
        if frame is None:
            return compute()
        for kind in ("json", "jpeg", "orig"):
            self._path(name, kind).unlink(missing_ok=True)
        return frame


def _source(upload_dir: Path, name: str, staged: str | None) -> Path | None:
    """The uploaded file: its final name, or the staging name while the upload
    request is still running (os.replace makes exactly one of them exist)."""
    for candidate in (upload_dir / name, upload_dir / staged if staged else None, upload_dir / name):
        if candidate is not None and candidate.is_file():
            return candidate
    return None


def precompress(upload_dir: Path, cache_dir: Path, names: list, quality: int, optimize: bool) -> int:
    """Encode the compressed frames of uploaded `names` (each a name or a
    [name, staging name] pair); returns how many were encoded."""
    cache = FrameCache(cache_dir, quality, optimize)
    done = 0
    for entry in names:
        name, staged = (entry, None) if isinstance(entry, str) else (entry[0], entry[1])
        if not images.is_image(name) or "/" in name or (staged and "/" in staged):
            continue
        source = _source(upload_dir, name, staged)
        if source is None or not cache.claim(name):
            continue
        try:
            try:
                identity = FrameCache._identity(source)
                frame = images.process(source, name, quality, optimize, keep_original=False)
            except FileNotFoundError:  # renamed from its staging name meanwhile
                source = upload_dir / name
                identity = FrameCache._identity(source)
                frame = images.process(source, name, quality, optimize, keep_original=False)
            cache.put(name, source, frame, identity)
            done += 1
        except (MediaError, OSError):
            pass  # the build reports it
        finally:
            cache.release(name)
    return done
