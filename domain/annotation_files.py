"""Files that hold one task's annotations: a snapshot plus an append-only journal.

Layout (Layout.annotations_dir(task_id)):
  snapshot.json  one header line {"version", "next_id", "job_versions"}, then the
                 body: the task's LabeledData exactly as GET answers it, so a
                 read of an unchanged task sends the file's bytes without parsing.
                 Replaced atomically (temp file, fsync, rename).
  journal.<V>.jsonl  one JSON record per change since the snapshot of version V
                 (the name ties a journal to its snapshot, so a reader's offset
                 can never point into a newer journal):
                 {"v": version, "n": next_id, "jv": {job id: version},
                  "up": {kind: [objects]}, "del": {kind: [ids]}}
                 appended and fsynced. A record is committed once its newline is
                 on disk; a torn last line (crash mid-append) is ignored by
                 readers and cut off by the next writer.
  .lock          cross-process lock held by every writer of this task.

Why a journal: a PATCH of 100 shapes on a task with 100k would otherwise
rewrite (and first parse) 20 MB; appending a record costs the same on a big
task as on an empty one. When the journal outgrows the snapshot, the next
write folds it into a new snapshot (cost amortized over the appends).

Records older than the snapshot (v <= snapshot version: a crash between writing
a snapshot and removing the journal) are skipped, so replay is idempotent.

Each process caches what it parsed, keyed by the snapshot's identity (inode,
mtime_ns, size) and the journal offset it has applied; another process's
change is picked up by reading only the new journal bytes. Cached states are
replaced, never mutated while shared: callers get a State and must not change
it outside `Writer`.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import orjson
from filelock import FileLock
from storage.documents import write_atomic


KINDS = ("tags", "shapes", "tracks")
SNAPSHOT = "snapshot.json"
MIN_COMPACT_BYTES = 1 << 20


class State:
    """One task's annotations: objects by id per kind, plus counters."""
    __slots__ = ("version", "next_id", "job_versions", "tags", "shapes", "tracks")

    def __init__(self, version=0, next_id=1, job_versions=None, tags=None, shapes=None, tracks=None):
        self.version = version
        self.next_id = next_id
        self.job_versions = job_versions or {}
        self.tags = tags if tags is not None else {}
        self.shapes = shapes if shapes is not None else {}
        self.tracks = tracks if tracks is not None else {}

    def kind(self, name: str) -> dict:
        return getattr(self, name)

    def header(self) -> dict:
        return {"version": self.version, "next_id": self.next_id, "job_versions": self.job_versions}

    def body(self) -> dict:
        return {"version": self.version, "tags": list(self.tags.values()), "shapes": list(self.shapes.values()),
                "tracks": list(self.tracks.values()), "intervals": []}

    def copy(self) -> "State":
        """New top-level dicts (objects shared): states handed out stay as they were."""
        return State(self.version, self.next_id, dict(self.job_versions),
                     dict(self.tags), dict(self.shapes), dict(self.tracks))

    def apply(self, record: dict) -> None:
        """Apply one journal record in place."""
        for kind in KINDS:
            objects = self.kind(kind)
            for oid in record.get("del", {}).get(kind, ()):
                objects.pop(oid, None)
            for obj in record.get("up", {}).get(kind, ()):
                objects[obj["id"]] = obj
        self.version = record["v"]
        self.next_id = max(self.next_id, record["n"])
        self.job_versions.update(record.get("jv", {}))


class _Meta:
    """Counters only (no objects): enough for appending new objects."""
    __slots__ = ("version", "next_id", "job_versions")

    def __init__(self, header):
        self.version = header.get("version", 0)
        self.next_id = header.get("next_id", 1)
        self.job_versions = dict(header.get("job_versions", {}))

    def copy(self) -> "_Meta":
        return _Meta(self.header())

    def header(self) -> dict:
        return {"version": self.version, "next_id": self.next_id, "job_versions": dict(self.job_versions)}

    def apply(self, record):
        self.version = record["v"]
        self.next_id = max(self.next_id, record["n"])
        self.job_versions.update(record.get("jv", {}))


class _Entry:
    __slots__ = ("snap_ident", "base", "offset", "state", "body_cache")

    def __init__(self, snap_ident, base, offset, state):
        self.snap_ident = snap_ident
        self.base = base            # version of the snapshot: names its journal
        self.offset = offset
        self.state = state          # State or _Meta
        self.body_cache = None      # (offset, bytes) of the serialized body


_cache: dict[str, _Entry] = {}
_cache_lock = threading.Lock()
# What a process keeps, least recently used going first: at most CACHE_TASKS tasks and
# CACHE_JSON_BYTES of annotation JSON held parsed or serialized (parsed objects take
# ~6x their JSON size: 48 MB of JSON is ~300 MB of memory). Counter-only entries
# (PATCH create on a task nobody read here) weigh next to nothing.
CACHE_TASKS = 64
CACHE_JSON_BYTES = 48 << 20


def _weight(entry: _Entry) -> int:
    size = entry.snap_ident[2] + entry.offset if entry.snap_ident else entry.offset
    weight = size if isinstance(entry.state, State) else 0
    if entry.body_cache is not None:
        weight += len(entry.body_cache[1])
    return weight


def _remember(key: str, entry: _Entry) -> None:
    with _cache_lock:
        _cache.pop(key, None)
        _cache[key] = entry
        total = sum(_weight(e) for e in _cache.values())
        while len(_cache) > 1 and (len(_cache) > CACHE_TASKS or total > CACHE_JSON_BYTES):
            oldest = next(iter(_cache))
            total -= _weight(_cache.pop(oldest))


def _ident(st):
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _read_snapshot(path: Path, header_only: bool):
    """(ident, header dict, body bytes or None); ident None when there is no snapshot."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return None, {}, b""
    with f:
        ident = _ident(os.fstat(f.fileno()))
        if header_only:
            return ident, orjson.loads(f.readline()), None
        data = f.read()
    cut = data.index(b"\n")
    return ident, orjson.loads(data[:cut]), data[cut + 1:]


def _journal_records(path: Path, offset: int):
    """Complete records after `offset`, and the offset after the last complete one.
    Returns None if the journal shrank below `offset` (it was replaced)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return ([], 0) if offset == 0 else None
    with f:
        size = os.fstat(f.fileno()).st_size
        if size < offset:
            return None
        if size == offset:
            return [], offset
        f.seek(offset)
        data = f.read(size - offset)
    end = data.rfind(b"\n")
    if end < 0:
        return [], offset
    return [orjson.loads(line) for line in data[:end].split(b"\n") if line], offset + end + 1


class TaskFiles:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.snapshot = self.dir / SNAPSHOT

    def lock(self) -> FileLock:
        self.dir.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.dir / ".lock"))

    # -- reading ---------------------------------------------------------------------
    def journal(self, base: int) -> Path:
        return self.dir / f"journal.{base}.jsonl"

    def _load(self, full: bool) -> _Entry:
        key = str(self.dir)
        for _attempt in range(5):
            with _cache_lock:
                entry = _cache.get(key)
            try:
                ident = _ident(os.stat(self.snapshot))
            except FileNotFoundError:
                ident = None
            if entry is None or entry.snap_ident != ident or (full and not isinstance(entry.state, State)):
                snap_ident, header, body = _read_snapshot(self.snapshot, header_only=not full)
                if full:
                    state = State(header.get("version", 0), header.get("next_id", 1),
                                  dict(header.get("job_versions", {})))
                    if body:
                        parsed = orjson.loads(body)
                        for kind in KINDS:
                            state.kind(kind).update((o["id"], o) for o in parsed.get(kind, ()))
                else:
                    state = _Meta(header)
                entry = _Entry(snap_ident, state.version, 0, state)
                if snap_ident is not None and body:
                    entry.body_cache = (0, body)
            got = _journal_records(self.journal(entry.base), entry.offset)
            if got is None:
                with _cache_lock:
                    _cache.pop(key, None)
                continue
            records, offset = got
            if records:
                state = entry.state.copy()
                for record in records:
                    if record["v"] > state.version:
                        state.apply(record)
                entry = _Entry(entry.snap_ident, entry.base, offset, state)
            _remember(key, entry)
            return entry
        raise RuntimeError(f"annotations of {self.dir} keep changing under the reader")

    def state(self) -> State:
        """Every object (shared: do not change it)."""
        return self._load(full=True).state

    def meta(self):
        """version, next_id, job_versions (objects possibly not loaded)."""
        return self._load(full=False).state

    def body(self) -> tuple[State | _Meta, bytes]:
        """(counters, serialized LabeledData) — without parsing when nothing changed
        since the snapshot."""
        entry = self._load(full=False)
        if entry.body_cache is not None and entry.body_cache[0] == entry.offset:
            return entry.state, entry.body_cache[1]
        if entry.offset == 0:
            ident, header, body = _read_snapshot(self.snapshot, header_only=False)
            if ident == entry.snap_ident:
                entry.body_cache = (0, body or _empty_body(entry.state.version))
                return entry.state, entry.body_cache[1]
        entry = self._load(full=True)
        data = orjson.dumps(entry.state.body())
        entry.body_cache = (entry.offset, data)
        return entry.state, data

    # -- writing (caller holds lock()) ---------------------------------------------
    def append(self, record: dict) -> None:
        """Commit one change record (fsync), then fold the journal into a new
        snapshot when it has grown larger than the snapshot."""
        self.dir.mkdir(parents=True, exist_ok=True)
        line = orjson.dumps(record) + b"\n"
        base = self._load(full=False).base
        fd = os.open(self.journal(base), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            size = os.fstat(fd).st_size
            if size:
                # Cut a torn last line left by a crash mid-append.
                last = os.pread(fd, 1, size - 1)
                if last != b"\n":
                    tail_start = max(0, size - (1 << 20))
                    tail = os.pread(fd, size - tail_start, tail_start)
                    cut = tail.rfind(b"\n")
                    size = tail_start + cut + 1 if cut >= 0 else 0
                    os.ftruncate(fd, size)
            view = memoryview(line)
            pos = size
            while view:
                written = os.pwrite(fd, view, pos)
                view = view[written:]
                pos += written
            os.fsync(fd)
            journal_size = pos
        finally:
            os.close(fd)
        try:
            snapshot_size = os.stat(self.snapshot).st_size
        except FileNotFoundError:
            snapshot_size = 0
        if journal_size > max(snapshot_size, MIN_COMPACT_BYTES):
            self.write_snapshot(self.state())

    def write_snapshot(self, state: State) -> bytes:
        """Replace everything with `state`; returns the serialized body."""
        return self.write_snapshot_raw(state.header(), state.body())

    def write_snapshot_raw(self, header: dict, body: dict, encode=orjson.dumps) -> bytes:
        """Replace everything with `body` (a LabeledData whose objects all carry ids)."""
        self.dir.mkdir(parents=True, exist_ok=True)
        body = encode(body)
        write_atomic(self.snapshot, [orjson.dumps(header) + b"\n", body])
        for old in self.dir.glob("journal.*.jsonl"):   # all older: a new snapshot starts clean
            old.unlink(missing_ok=True)
        return body

    def forget(self) -> None:
        with _cache_lock:
            _cache.pop(str(self.dir), None)


def _empty_body(version: int) -> bytes:
    return orjson.dumps({"version": version, "tags": [], "shapes": [], "tracks": [], "intervals": []})
