"""Faults injected into the real stack: Redis killed with requests queued, a
web worker killed mid-write, a full disk. The store stays valid, nothing
acknowledged is lost, requests end finished or failed, and the stack recovers
without manual steps."""
from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest
import requests
from cvat_sdk import make_client, models
from PIL import Image

from tests.stack import ADMIN, Stack

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fault_stack():
    stack = Stack(beat=True, extra_env={"CVAT_REQUEUE_AFTER": "2"})
    stack.start()
    yield stack
    stack.close()


def _wait_request(session, url, rq_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = session.get(url + "/api/requests/" + requests.utils.quote(rq_id, safe="")).json()
        if doc["status"] in ("finished", "failed"):
            return doc
        time.sleep(0.2)
    raise AssertionError(f"request {rq_id} still {doc['status']} after {timeout} s")


def _task_with_data(url, tmp_path) -> int:
    paths = []
    for i in range(3):
        p = tmp_path / f"f{i}.png"
        Image.new("RGB", (16, 16), (i * 80, 0, 0)).save(p)
        paths.append(p)
    with make_client(url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        return client.tasks.create_from_data(models.TaskWriteRequest(name="faults", labels=[{"name": "a"}]),
                                             resources=paths).id


def test_redis_killed_with_requests_queued(fault_stack, tmp_path):
    s = requests.Session()
    s.auth = ADMIN
    url = fault_stack.url
    task_id = _task_with_data(url, tmp_path)
    fault_stack.stop("worker")
    r = s.post(f"{url}/api/tasks/{task_id}/dataset/export", params={"format": "COCO 1.0"})
    assert r.status_code == 202
    rq_id = r.json()["rq_id"]
    assert s.get(f"{url}/api/requests/{requests.utils.quote(rq_id, safe='')}").json()["status"] == "queued"
    fault_stack.stop("redis", sig=signal.SIGKILL)       # the queued message dies with Redis
    fault_stack.start_redis()                            # back, empty
    fault_stack.start_worker()
    assert _wait_request(s, url, rq_id)["status"] == "finished"

    # Redis down while a request is made: it fails with a message, nothing hangs.
    fault_stack.stop("redis", sig=signal.SIGKILL)
    r = s.post(f"{url}/api/tasks/{task_id}/dataset/export", params={"format": "YOLO 1.1"})
    assert r.status_code == 202
    failed = _wait_request(s, url, r.json()["rq_id"])
    assert failed["status"] == "failed" and "Redis" in failed["message"]
    fault_stack.start_redis()
    r = s.post(f"{url}/api/tasks/{task_id}/dataset/export", params={"format": "YOLO 1.1"})
    assert _wait_request(s, url, r.json()["rq_id"])["status"] == "finished", "recovered without manual steps"


def _writer(url, key, seconds, out):
    s = requests.Session()
    s.headers["Authorization"] = f"Token {key}"
    acked = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = s.post(url + "/api/projects", json={"name": f"w{os.getpid()}-{len(acked)}"}, timeout=10)
        except requests.RequestException:
            continue  # the worker serving it was killed: not acknowledged
        if r.status_code == 201:
            acked.append(r.json()["id"])
    out.put(acked)


def test_web_worker_killed_mid_write(stack, admin_session):
    key = admin_session.headers["Authorization"].split()[1]
    master = stack.procs["web"].pid
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    writers = [ctx.Process(target=_writer, args=(stack.url, key, 4.0, out)) for _ in range(3)]
    for w in writers:
        w.start()
    for _ in range(3):
        time.sleep(1.0)
        children = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
        if children:
            os.kill(int(children[0]), signal.SIGKILL)
    acked = [pid for _ in writers for pid in out.get(timeout=60)]
    for w in writers:
        w.join(30)
    assert acked, "writers made progress"
    listed = {p["id"] for p in admin_session.get(stack.url + "/api/projects?page_size=all").json()["results"]}
    assert set(acked) <= listed, "every acknowledged write survived"
    for path in (stack.storage / "db").rglob("*.json"):
        orjson.loads(path.read_bytes())
    assert admin_session.post(stack.url + "/api/projects", json={"name": "after"}).status_code == 201


FULL_DISK = """
import os, resource, signal, sys
sys.path.insert(0, {root!r})
from storage.documents import TinyDBStore
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
store = TinyDBStore({db!r})
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
try:
    for i in range(1000):
        store.insert("docs", {{"payload": "x" * 4000, "i": i}})
except OSError as e:
    print("OSError", e.errno)
"""


def test_full_disk_ends_with_an_error_not_a_corrupt_file(tmp_path):
    from storage.documents import TinyDBStore
    db = tmp_path / "db"
    out = subprocess.run([sys.executable, "-c", FULL_DISK.format(root=str(ROOT), db=str(db))],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout.startswith("OSError"), out.stdout + out.stderr
    store = TinyDBStore(db)
    docs = store.scan("docs")
    assert docs and [d["i"] for d in docs] == list(range(len(docs))), "the last good state, in order"
    for path in db.rglob("*.json"):
        orjson.loads(path.read_bytes())
    assert store.insert("docs", {"after": True})["id"] > docs[-1]["id"]
