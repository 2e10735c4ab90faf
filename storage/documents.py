"""The document store: JSON documents in collections, shared by every process.

Why it looks like this (measured on the project's machines, see README):
TinyDB's stock JSONStorage rewrites the whole file on every write, so inserting
2,000 small documents took 52 s. Here each collection is split into TinyDB files
("buckets") of at most BUCKET_SIZE documents chosen by id, so a write rewrites
one bounded file whatever the collection's size. Every file is replaced
atomically (temp file, fsync, rename) and every read-modify-write runs under one
cross-process file lock, so several gunicorn and Celery processes can share the
store and a process killed mid-write leaves the last good file behind. Parsed
files are cached in-process, keyed by the file's identity (inode, mtime, size):
an unchanged file is never re-parsed, a file replaced by another process is.

The rest of the code talks to the small `DocumentStore` interface; replacing
TinyDB with a document database means writing one other implementation of it.
"""
from __future__ import annotations

import os
import threading
from itertools import chain
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Protocol

import orjson
from filelock import FileLock
from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

BUCKET_SIZE = 128
_TABLE = "_default"


class DocumentStore(Protocol):
    """What the rest of the server may ask of a store."""

    def insert(self, collection: str, doc: dict) -> dict: ...
    def insert_many(self, collection: str, docs: list[dict]) -> list[dict]: ...
    def get(self, collection: str, doc_id: int) -> dict | None: ...
    def replace(self, collection: str, doc: dict) -> dict: ...
    def update(self, collection: str, doc_id: int, change: Callable[[dict], None]) -> dict | None: ...
    def delete(self, collection: str, doc_ids) -> int: ...
    def scan(self, collection: str) -> list[dict]: ...
    def filtered(self, collection: str, key, predicate: Callable[[dict], bool]) -> list[dict]: ...
    def version(self, collection: str) -> tuple: ...
    def reserve_ids(self, collection: str, count: int) -> range: ...
    def transaction(self): ...


def _copy(doc):
    """A deep copy of a JSON value (orjson round trip: far faster than deepcopy)."""
    return orjson.loads(orjson.dumps(doc))


def write_atomic(path: Path, data) -> None:
    """Replace `path` with `data` (bytes, or a list of buffers written one after
    the other without joining them) so that readers and crashes see old or new,
    never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        parts = [data] if isinstance(data, (bytes, bytearray, memoryview)) else data
        views = [memoryview(p) for p in parts if p]
        while views:
            written = os.writev(fd, views)
            while views and written >= len(views[0]):
                written -= len(views[0])
                views.pop(0)
            if views and written:
                views[0] = views[0][written:]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class _FileCache:
    """Parsed JSON files of this process, valid while the file's identity holds."""

    def __init__(self):
        self._entries: dict[str, tuple[tuple, object]] = {}
        self._lock = threading.Lock()

    def load(self, path: Path):
        """The parsed file (shared: callers must not mutate it), or None if absent."""
        key = str(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            self._entries.pop(key, None)
            return None, None
        ident = (st.st_ino, st.st_mtime_ns, st.st_size)
        hit = self._entries.get(key)
        if hit is not None and hit[0] == ident:
            return hit[1], ident
        with open(path, "rb") as f:
            data = orjson.loads(f.read())
        with self._lock:
            self._entries[key] = (ident, data)
        return data, ident

    def forget(self, path: Path):
        self._entries.pop(str(path), None)


class _BucketStorage(Storage):
    """TinyDB storage for one bucket file: orjson, atomic replace, cached parse."""

    def __init__(self, path: Path, cache: _FileCache):
        self.path = path
        self.cache = cache

    def read(self):
        data, _ = self.cache.load(self.path)
        # TinyDB mutates what read() returns while it updates: hand it a copy so
        # a failed write cannot leave changed data in the shared cache.
        return None if data is None else _copy(data)

    def write(self, data) -> None:
        table = data.get(_TABLE, {})
        if not table:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.cache.forget(self.path)
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(self.path, orjson.dumps(data))

    def close(self) -> None:
        pass


class TinyDBStore:
    """`DocumentStore` on TinyDB bucket files under `root`."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = FileLock(str(self.root / ".lock"))
        self._cache = _FileCache()
        self._counters = self.root / "counters.json"
        self._scans: dict[str, tuple[tuple, list[dict]]] = {}
        self._derived: dict[tuple, tuple] = {}
        self._sorted: dict[Path, tuple[tuple, list[dict]]] = {}
        self._filtered: dict[tuple, dict] = {}

    # -- layout ---------------------------------------------------------------
    def _dir(self, collection: str) -> Path:
        if not collection.isidentifier():
            raise ValueError(f"bad collection name {collection!r}")
        return self.root / collection

    def _bucket_path(self, collection: str, doc_id: int) -> Path:
        return self._dir(collection) / f"b{doc_id // BUCKET_SIZE:06d}.json"

    def _table(self, collection: str, doc_id: int):
        db = TinyDB(self._bucket_path(collection, doc_id), storage=_BucketStorage, cache=self._cache)
        return db.table(_TABLE, cache_size=0)

    # -- writes ---------------------------------------------------------------
    @contextmanager
    def transaction(self):
        """Hold the store's write lock: read-modify-write sequences inside are atomic
        with respect to other writers (re-entrant in the same thread)."""
        with self._lock:
            yield

    def reserve_ids(self, collection: str, count: int = 1) -> range:
        """Allocate `count` new ids. The counter is saved before any document that
        uses the ids, so ids are never reused, even after a crash."""
        self._dir(collection)
        with self._lock:
            counters, _ = self._cache.load(self._counters)
            counters = dict(counters or {})
            first = counters.get(collection, 0) + 1
            counters[collection] = first + count - 1
            write_atomic(self._counters, orjson.dumps(counters))
        return range(first, first + count)

    def insert(self, collection: str, doc: dict) -> dict:
        with self._lock:
            doc = dict(doc)
            if doc.get("id") is None:
                doc["id"] = self.reserve_ids(collection)[0]
            self._table(collection, doc["id"]).insert(Document(doc, doc_id=doc["id"]))
        return doc

    def insert_many(self, collection: str, docs: list[dict]) -> list[dict]:
        """Insert several documents with one write per bucket."""
        with self._lock:
            docs = [dict(d) for d in docs]
            missing = [d for d in docs if d.get("id") is None]
            for doc, doc_id in zip(missing, self.reserve_ids(collection, len(missing)) if missing else []):
                doc["id"] = doc_id
            by_bucket: dict[Path, list[dict]] = {}
            for doc in docs:
                by_bucket.setdefault(self._bucket_path(collection, doc["id"]), []).append(doc)
            for group in by_bucket.values():
                self._table(collection, group[0]["id"]).insert_multiple(
                    Document(d, doc_id=d["id"]) for d in group)
        return docs

    def replace(self, collection: str, doc: dict) -> dict:
        """Store `doc` (which carries its id) in place of the stored one."""
        def swap(stored):
            stored.clear()
            stored.update(doc)

        with self._lock:
            if not self._table(collection, doc["id"]).update(swap, doc_ids=[doc["id"]]):
                raise KeyError(f"{collection} {doc['id']} does not exist")
        return doc

    def update(self, collection: str, doc_id: int, change: Callable[[dict], None]) -> dict | None:
        """Apply `change` to a private copy of the document and store it; the
        latest stored version is read under the lock, so no update is lost."""
        with self._lock:
            doc = self.get(collection, doc_id)
            if doc is None:
                return None
            change(doc)
            doc["id"] = doc_id
            return self.replace(collection, doc)

    def delete(self, collection: str, doc_ids) -> int:
        by_bucket: dict[Path, list[int]] = {}
        for doc_id in doc_ids:
            by_bucket.setdefault(self._bucket_path(collection, doc_id), []).append(doc_id)
        removed = 0
        with self._lock:
            for ids in by_bucket.values():
                removed += len(self._table(collection, ids[0]).remove(doc_ids=ids))
        return removed

    # -- reads ----------------------------------------------------------------
    def _raw(self, collection: str, doc_id: int):
        data, _ = self._cache.load(self._bucket_path(collection, doc_id))
        if data is None:
            return None
        return data.get(_TABLE, {}).get(str(doc_id))

    def get(self, collection: str, doc_id: int) -> dict | None:
        """A private copy of one document (the caller may change it)."""
        if not isinstance(doc_id, int) or doc_id < 0:
            return None
        raw = self._raw(collection, doc_id)
        return None if raw is None else _copy(raw)

    def peek(self, collection: str, doc_id: int) -> dict | None:
        """One document, shared with the cache: read it, never change it."""
        if not isinstance(doc_id, int) or doc_id < 0:
            return None
        return self._raw(collection, doc_id)

    def _buckets(self, collection: str) -> list[Path]:
        directory = self._dir(collection)
        try:
            names = os.listdir(directory)
        except FileNotFoundError:
            return []
        return [directory / n for n in sorted(names) if n.startswith("b") and n.endswith(".json")]

    def version(self, collection: str) -> tuple:
        """Changes whenever any document of the collection changes."""
        return tuple(self._cache.load(p)[1] for p in self._buckets(collection))

    def _parts(self, collection: str) -> list[tuple[tuple, list[dict]]]:
        """Each bucket's documents in id order with the bucket file's identity;
        a bucket is re-parsed and re-sorted only when its file changed."""
        parts = []
        for path in self._buckets(collection):
            data, ident = self._cache.load(path)
            if data is None:
                continue
            hit = self._sorted.get(path)
            if hit is None or hit[0] != ident:
                table = data.get(_TABLE, {})
                hit = (ident, [table[k] for k in sorted(table, key=int)])
                self._sorted[path] = hit
            parts.append(hit)
        return parts

    def scan(self, collection: str) -> list[dict]:
        """Every document of the collection in id order, shared with the cache
        (read, never change). Re-parses only the buckets other processes wrote."""
        parts = self._parts(collection)
        key = tuple(ident for ident, _ in parts)
        hit = self._scans.get(collection)
        if hit is not None and hit[0] == key:
            return hit[1]
        docs = list(chain.from_iterable(part for _, part in parts))
        self._scans[collection] = (key, docs)
        return docs

    def filtered(self, collection: str, key, predicate: Callable[[dict], bool]) -> list[dict]:
        """The documents passing `predicate`, in id order. `key` must change
        whenever the predicate's answer could (e.g. user id plus the versions of
        other collections it reads); per bucket, results are reused while the
        bucket and the key are unchanged, so one write re-checks one bucket."""
        if len(self._filtered) > 512:
            self._filtered.clear()
        memo = self._filtered.setdefault((collection, key), {})
        out = []
        for ident, docs in self._parts(collection):
            hit = memo.get(ident)
            if hit is None:
                hit = memo[ident] = [d for d in docs if predicate(d)]
            out.extend(hit)
        return out

    def iter_ids(self, collection: str) -> Iterator[int]:
        return (d["id"] for d in self.scan(collection))

    def derived(self, collection: str, name: str, build: Callable[[list[dict]], object]):
        """`build(scan(collection))`, recomputed only when the collection changed:
        indexes such as "jobs by task" cost one pass per change, not per request."""
        docs = self.scan(collection)
        memo_key = (collection, name)
        hit = self._derived.get(memo_key)
        if hit is not None and hit[0] is docs:
            return hit[1]
        value = build(docs)
        self._derived[memo_key] = (docs, value)
        return value
