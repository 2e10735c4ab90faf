"""Store scaling: latency of create + retrieve + list-page through the API with
10, 1,000 and 10,000 tasks stored. The last line compares 10,000 with 10.

Runs the real app in-process (Flask test client: routing, auth, validation,
store, presentation) on a fresh storage directory per size; the stored tasks
are written in bulk first, then each operation is timed many times and the
median taken, so one slow fsync does not decide the result.

    python bench/store.py
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings as settings_module  # noqa: E402
from domain import tasks as task_ops  # noqa: E402
from server import create_app  # noqa: E402

SIZES = (10, 1_000, 10_000)
ROUNDS = 60
TARGET = 2.0


def _app(root: Path):
    env = {**os.environ, "CVAT_STORAGE_DIR": str(root / "storage"), "CVAT_SHARE_DIR": str(root),
           "CVAT_ADMIN_USER": "", "CVAT_ADMIN_PASSWORD": ""}
    return create_app(settings_module.load(env))


def _populate(app, count: int) -> dict:
    client = app.test_client()
    client.post("/api/auth/register", json={"username": "bencher", "password1": "Bench-pass-1",
                                           "password2": "Bench-pass-1"})
    key = client.post("/api/auth/login", json={"username": "bencher", "password": "Bench-pass-1"}).json["key"]
    client.delete_cookie("sessionid")
    headers = {"Authorization": f"Token {key}"}
    store = app.extensions["cvat"].store
    me = client.get("/api/users/self", headers=headers).json
    template = task_ops.create_task(store, me, {"name": "template", "labels": [{"name": "car"}]}, lambda p: True)
    docs = [dict(template, id=None, name=f"task {i}") for i in range(count - 1)]
    store.insert_many("tasks", docs)
    return headers


def _measure(client, headers) -> dict:
    times = {"create": [], "retrieve": [], "list": []}
    for i in range(ROUNDS):
        t0 = time.perf_counter()
        r = client.post("/api/tasks", json={"name": f"new {i}", "labels": [{"name": "car"}]}, headers=headers)
        t1 = time.perf_counter()
        assert r.status_code == 201, r.json
        assert client.get(f"/api/tasks/{r.json['id']}", headers=headers).status_code == 200
        t2 = time.perf_counter()
        page = client.get("/api/tasks?page=1", headers=headers)
        t3 = time.perf_counter()
        assert page.status_code == 200 and len(page.json["results"]) == 10
        times["create"].append(t1 - t0)
        times["retrieve"].append(t2 - t1)
        times["list"].append(t3 - t2)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    results = {}
    for size in SIZES:
        with tempfile.TemporaryDirectory() as tmp:
            app = _app(Path(tmp))
            headers = _populate(app, size)
            client = app.test_client()
            _measure(client, headers)  # warm caches the way a running server has them
            results[size] = _measure(client, headers)
        r = results[size]
        print(f"{size:>6} tasks: create {r['create'] * 1e3:6.2f} ms  retrieve {r['retrieve'] * 1e3:6.2f} ms  "
              f"list page {r['list'] * 1e3:6.2f} ms  total {sum(r.values()) * 1e3:6.2f} ms")
    ratio = sum(results[SIZES[-1]].values()) / sum(results[SIZES[0]].values())
    print(f"ratio: {ratio:.2f} (target <= {TARGET:g})")


if __name__ == "__main__":
    main()
