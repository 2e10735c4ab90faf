"""Several client processes write at once through ≥ 2 gunicorn workers: no
write is lost, ids are unique, and every store file is valid afterwards."""
from __future__ import annotations

import multiprocessing

import orjson
import requests


def _writer(url, key, project_id, n, worker):
    s = requests.Session()
    s.headers["Authorization"] = f"Token {key}"
    made = []
    for i in range(n):
        r = s.post(url + "/api/tasks", json={"name": f"w{worker}-{i}", "labels": [{"name": "x"}]})
        r.raise_for_status()
        made.append(r.json()["id"])
        r = s.patch(f"{url}/api/tasks/{made[-1]}", json={"subset": f"s{worker}"})
        r.raise_for_status()
        r = s.patch(f"{url}/api/projects/{project_id}", json={"labels": [{"name": f"l{worker}-{i}"}]})
        r.raise_for_status()
    return made


def test_parallel_writers_lose_nothing(stack, admin_session):
    key = admin_session.headers["Authorization"].split()[1]
    project = admin_session.post(stack.url + "/api/projects", json={"name": "shared"}).json()
    workers, per_worker = 4, 8
    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        results = pool.starmap(_writer, [(stack.url, key, project["id"], per_worker, w) for w in range(workers)])
    created = [t for made in results for t in made]
    assert len(created) == len(set(created)) == workers * per_worker
    for w, made in enumerate(results):
        for task_id in made:
            task = admin_session.get(f"{stack.url}/api/tasks/{task_id}").json()
            assert task["subset"] == f"s{w}"
    labels = admin_session.get(f"{stack.url}/api/labels?project_id={project['id']}&page_size=all").json()
    assert {l["name"] for l in labels["results"]} == {f"l{w}-{i}" for w in range(workers) for i in range(per_worker)}
    for path in (stack.storage / "db").rglob("*.json"):
        orjson.loads(path.read_bytes())
