"""The document store: behaviour, cross-process safety and crash safety."""
from __future__ import annotations

import multiprocessing
import os
import signal
import time

import orjson
import pytest

from storage.documents import BUCKET_SIZE, TinyDBStore


def test_crud_and_copies(tmp_path):
    store = TinyDBStore(tmp_path)
    doc = store.insert("things", {"name": "a", "tags": ["x"]})
    assert doc["id"] == 1
    copy = store.get("things", 1)
    copy["tags"].append("changed")
    assert store.get("things", 1)["tags"] == ["x"], "get() must return a private copy"
    store.update("things", 1, lambda d: d.update(name="b"))
    assert store.peek("things", 1)["name"] == "b"
    assert store.get("things", 999) is None and store.update("things", 999, lambda d: None) is None
    assert store.delete("things", [1]) == 1
    assert store.get("things", 1) is None
    assert store.insert("things", {"name": "c"})["id"] == 2, "ids are never reused"


def test_scan_spans_buckets_in_id_order(tmp_path):
    store = TinyDBStore(tmp_path)
    store.insert_many("things", [{"n": i} for i in range(BUCKET_SIZE * 2 + 5)])
    docs = store.scan("things")
    assert [d["id"] for d in docs] == list(range(1, BUCKET_SIZE * 2 + 6))
    assert len(list((tmp_path / "things").glob("b*.json"))) == 3
    assert store.scan("things") is docs, "an unchanged collection is not re-read"
    store.update("things", 7, lambda d: d.update(n=-1))
    assert store.scan("things")[6]["n"] == -1


def test_other_process_writes_are_seen(tmp_path):
    a, b = TinyDBStore(tmp_path), TinyDBStore(tmp_path)
    a.insert("things", {"v": 1})
    assert b.peek("things", 1)["v"] == 1
    a.update("things", 1, lambda d: d.update(v=2))
    assert b.peek("things", 1)["v"] == 2
    assert [d["v"] for d in b.scan("things")] == [2]


def _increment(root, rounds):
    store = TinyDBStore(root)
    for _ in range(rounds):
        store.update("counters", 1, lambda d: d.update(value=d["value"] + 1))
        store.insert("events", {"pid": os.getpid()})


def test_no_update_lost_across_processes(tmp_path):
    store = TinyDBStore(tmp_path)
    store.insert("counters", {"value": 0})
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_increment, args=(str(tmp_path), 40)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert store.get("counters", 1)["value"] == 160
    events = store.scan("events")
    assert len(events) == 160 and len({e["id"] for e in events}) == 160


def _write_forever(root):
    store = TinyDBStore(root)
    i = 0
    while True:
        i += 1
        store.insert("docs", {"payload": "x" * 2000, "i": i})
        store.update("docs", 1, lambda d: d.update(i=i))


def test_sigkill_mid_write_leaves_a_readable_store(tmp_path):
    store = TinyDBStore(tmp_path)
    store.insert("docs", {"payload": "", "i": 0})
    ctx = multiprocessing.get_context("spawn")
    for delay in (0.3, 0.45, 0.6, 0.75):
        proc = ctx.Process(target=_write_forever, args=(str(tmp_path),))
        proc.start()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        # Every file parses, and the store keeps working (the lock was released by the kill).
        for path in (tmp_path / "docs").glob("b*.json"):
            orjson.loads(path.read_bytes())
        before = len(TinyDBStore(tmp_path).scan("docs"))
        fresh = TinyDBStore(tmp_path)
        new = fresh.insert("docs", {"after": delay})
        assert fresh.peek("docs", new["id"])["after"] == delay
        assert len(fresh.scan("docs")) == before + 1
    ids = [d["id"] for d in TinyDBStore(tmp_path).scan("docs")]
    assert len(ids) == len(set(ids))


def test_failed_write_leaves_cache_and_file_unchanged(tmp_path, monkeypatch):
    store = TinyDBStore(tmp_path)
    store.insert("docs", {"v": 1})
    import storage.documents as documents

    def broken(path, data):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(documents, "write_atomic", broken)
    with pytest.raises(OSError):
        store.update("docs", 1, lambda d: d.update(v=2))
    assert store.peek("docs", 1)["v"] == 1
    assert TinyDBStore(tmp_path).peek("docs", 1)["v"] == 1
