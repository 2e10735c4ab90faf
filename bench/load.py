"""Mixed read/write load from many client processes against a running stack,
then a check that every acknowledged write is there (none lost, none doubled).

Each client owns a few tasks it writes to (renames, annotation PATCH-creates,
new tasks) and reads shared lists and other clients' tasks. Bounded: N clients
for T seconds, loopback only.

    .venv/bin/python bench/load.py                      # starts its own stack (2 web workers + worker)
    .venv/bin/python bench/load.py --url http://localhost:8080 --user admin --password …   # make run's stack

Prints p50 / p99 latency per endpoint, then `errors: E, lost writes: L, requests: N`.
"""
from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _client(url, auth, seconds, seed, out):
    rng = random.Random(seed)
    s = _session(url, auth)
    lat = defaultdict(list)
    errors = []
    expected = {}          # task id -> {"name": last acknowledged name, "shapes": acknowledged count}

    def call(name, method, path, **kw):
        start = time.perf_counter()
        try:
            r = s.request(method, url + path, timeout=30, **kw)
        except requests.RequestException as e:
            errors.append(f"{name}: {e}")
            return None
        lat[name].append(time.perf_counter() - start)
        if r.status_code >= 400:
            errors.append(f"{name}: {r.status_code} {r.text[:200]}")
            return None
        return r

    def new_task():
        r = call("POST /tasks", "POST", "/api/tasks", json={"name": f"load {seed}", "labels": [{"name": "car"}]})
        if r is None:
            return None
        task = r.json()
        label = call("GET /labels", "GET", f"/api/labels?task_id={task['id']}")
        _attach_frames(task["id"])
        expected[task["id"]] = {"name": task["name"], "shapes": 0,
                                "label": label.json()["results"][0]["id"] if label else None}
        return task["id"]

    def _attach_frames(task_id):
        # Media processing is not what this load measures: frames are attached
        # directly, as the annotation tests do, when the store is reachable.
        if STORE_DIR:
            from storage.documents import TinyDBStore
            from tests.annotation_helpers import attach_frames
            attach_frames(TinyDBStore(STORE_DIR), task_id, 100, segment_size=50)

    mine = [t for t in (new_task() for _ in range(2)) if t]
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        n += 1
        roll = rng.random()
        task_id = rng.choice(mine) if mine else None
        if roll < 0.25:
            call("GET /tasks (page)", "GET", "/api/tasks?page=1")
        elif roll < 0.40 and task_id:
            call("GET /tasks/{id}", "GET", f"/api/tasks/{task_id}")
        elif roll < 0.50:
            call("GET /projects", "GET", "/api/projects")
        elif roll < 0.60 and task_id:
            call("GET /jobs?task_id", "GET", f"/api/jobs?task_id={task_id}")
        elif roll < 0.72 and task_id:
            call("GET /annotations", "GET", f"/api/tasks/{task_id}/annotations/")
        elif roll < 0.84 and task_id:
            name = f"load {seed} #{n}"
            if call("PATCH /tasks/{id}", "PATCH", f"/api/tasks/{task_id}", json={"name": name}):
                expected[task_id]["name"] = name
        elif roll < 0.97 and task_id and STORE_DIR:
            shape = {"type": "rectangle", "label_id": expected[task_id]["label"], "frame": n % 100,
                     "points": [1.0, 2.0, 30.0, 40.0]}
            if call("PATCH /annotations create", "PATCH", f"/api/tasks/{task_id}/annotations/?action=create",
                    json={"shapes": [shape]}):
                expected[task_id]["shapes"] += 1
        else:
            t = new_task()
            if t:
                mine.append(t)
    out.put({"lat": dict(lat), "errors": errors, "expected": expected})


STORE_DIR = None


def _init(store_dir):
    global STORE_DIR
    STORE_DIR = store_dir


def run_load(url, auth, clients: int, seconds: float, store_dir=None) -> dict:
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_run_client, args=(url, auth, seconds, seed, out, store_dir))
             for seed in range(clients)]
    for p in procs:
        p.start()
    results = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join(30)
    lat, errors, expected = defaultdict(list), [], {}
    for r in results:
        for k, v in r["lat"].items():
            lat[k] += v
        errors += r["errors"]
        expected.update(r["expected"])
    lost = verify(url, auth, expected)
    return {"lat": lat, "errors": errors, "lost": lost, "requests": sum(len(v) for v in lat.values()),
            "tasks": len(expected)}


def _run_client(url, auth, seconds, seed, out, store_dir):
    _init(store_dir)
    _client(url, auth, seconds, seed, out)


def _session(url, auth) -> requests.Session:
    """Logs in once and sends the token, as the SDK does (Basic auth would pay
    the password hash on every request)."""
    s = requests.Session()
    key = s.post(url + "/api/auth/login", json={"username": auth[0], "password": auth[1]}).json()["key"]
    s.cookies.clear()
    s.headers["Authorization"] = f"Token {key}"
    return s


def verify(url, auth, expected: dict) -> list[str]:
    """Every acknowledged task, name and annotation is there, exactly once."""
    s = _session(url, auth)
    lost = []
    listed = s.get(url + "/api/tasks?page_size=all").json()["results"]
    by_id = {t["id"]: t for t in listed}
    if len(by_id) != len(listed):
        lost.append("a task is listed twice")
    for task_id, want in expected.items():
        task = by_id.get(task_id)
        if task is None:
            lost.append(f"task {task_id} is missing")
            continue
        if task["name"] != want["name"]:
            lost.append(f"task {task_id} is named {task['name']!r}, last acknowledged {want['name']!r}")
        shapes = s.get(url + f"/api/tasks/{task_id}/annotations/").json()["shapes"]
        if len(shapes) != want["shapes"] or len({sh["id"] for sh in shapes}) != len(shapes):
            lost.append(f"task {task_id} has {len(shapes)} shapes, {want['shapes']} acknowledged")
    return lost


def report(result: dict) -> None:
    print(f"{'endpoint':28} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}")
    for name, values in sorted(result["lat"].items()):
        values = sorted(values)
        p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
        print(f"{name:28} {len(values):6d} {statistics.median(values) * 1e3:8.1f} {p99 * 1e3:8.1f}")
    for e in result["errors"][:10]:
        print("error:", e)
    for l in result["lost"][:10]:
        print("lost:", l)
    print(f"errors: {len(result['errors'])}, lost writes: {len(result['lost'])}, requests: {result['requests']}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--storage", help="the stack's CVAT_STORAGE_DIR/db, to attach frames for annotation writes")
    args = parser.parse_args()
    if args.url:
        result = run_load(args.url, (args.user, args.password), args.clients, args.seconds, args.storage)
        report(result)
        return
    from tests.stack import ADMIN, Stack
    stack = Stack().start()
    try:
        result = run_load(stack.url, ADMIN, args.clients, args.seconds, str(stack.storage / "db"))
        report(result)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
