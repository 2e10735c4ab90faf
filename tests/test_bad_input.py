"""Bad input on every write endpoint: a 4xx JSON error that names the problem,
and the store exactly as it was (byte for byte)."""
from __future__ import annotations

from pathlib import Path

import pytest

from domain import jobs as job_ops

HUGE = "x" * 100_000


def snapshot(app) -> dict:
    root = Path(app.extensions["cvat"].store.root)
    return {p: p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".lock"}


@pytest.fixture
def world(app, client):
    p = client.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json
    t = client.post("/api/tasks", json={"name": "t", "labels": [
        {"name": "b", "attributes": [{"name": "n", "mutable": True, "input_type": "number",
                                      "values": ["0", "10", "1"]}]}]}).json
    label = client.get(f"/api/labels?task_id={t['id']}").json["results"][0]
    store = app.extensions["cvat"].store
    (job,) = job_ops.create_jobs(store, t["id"], [(0, 4)])
    me = client.get("/api/users/self").json
    return {"project": p["id"], "task": t["id"], "label": label["id"], "attr": label["attributes"][0]["id"],
            "job": job["id"], "user": me["id"]}


CASES = [
    # (method, path template, body, field expected in the error body or None for a detail error)
    ("post", "/api/projects", {}, "name"),
    ("post", "/api/projects", {"name": 12}, "name"),
    ("post", "/api/projects", {"name": HUGE}, "name"),
    ("post", "/api/projects", {"name": "p", "labels": "car"}, "labels"),
    ("post", "/api/projects", {"name": "p", "labels": [{"name": "a"}, {"name": "a"}]}, "labels"),
    ("post", "/api/projects", {"name": "p", "labels": [{"name": "a", "color": "red"}]}, "labels"),
    ("post", "/api/projects", {"name": "p", "labels": [{"name": "a", "attributes": [
        {"name": "x", "mutable": True, "input_type": "wrong", "values": []}]}]}, "labels"),
    ("post", "/api/projects", {"name": "p", "labels": [{"name": "a", "attributes": [
        {"name": "x", "mutable": True, "input_type": "number", "values": ["a", "b"]}]}]}, "labels"),
    ("post", "/api/projects", {"name": "p", "owner_id": 424242}, "owner_id"),
    ("post", "/api/projects", {"name": "p", "assignee_id": "me"}, "assignee_id"),
    ("patch", "/api/projects/{project}", {"name": ""}, "name"),
    ("patch", "/api/projects/{project}", {"assignee_id": 424242}, "assignee_id"),
    ("patch", "/api/projects/{project}", {"labels": [{"id": 424242, "name": "z"}]}, None),
    ("patch", "/api/projects/{project}", {"labels": [{"name": "new"}, {"name": "a"}]}, "labels"),
    ("patch", "/api/projects/424242", {"name": "x"}, None),
    ("post", "/api/tasks", {"name": "t", "project_id": 424242}, "project_id"),
    ("post", "/api/tasks", {"name": "t", "project_id": "{project}", "labels": [{"name": "x"}]}, "non_field_errors"),
    ("post", "/api/tasks", {"name": "t", "segment_size": -1}, "segment_size"),
    ("post", "/api/tasks", {"name": "t", "overlap": 1.5}, "overlap"),
    ("post", "/api/tasks", {"name": "t", "subset": HUGE}, "subset"),
    ("post", "/api/tasks", {"name": None}, "name"),
    ("patch", "/api/tasks/{task}", {"labels": [{"id": "{label}", "attributes": [
        {"id": "{attr}", "name": "n", "mutable": True, "input_type": "number", "values": ["5", "1", "1"]}]}]},
     "labels"),
    ("patch", "/api/tasks/{task}", {"project_id": 424242}, "project_id"),
    ("patch", "/api/tasks/{task}", {"bug_tracker": HUGE}, "bug_tracker"),
    ("patch", "/api/labels/{label}", {"color": "#12"}, "color"),
    ("patch", "/api/labels/{label}", {"name": HUGE}, "name"),
    ("patch", "/api/jobs/{job}", {"stage": "done"}, "stage"),
    ("patch", "/api/jobs/{job}", {"state": 3}, "state"),
    ("patch", "/api/jobs/{job}", {"assignee": 424242}, "assignee"),
    ("patch", "/api/jobs/424242", {"stage": "validation"}, None),
    ("patch", "/api/users/{user}", {"email": "not an email"}, "email"),
    ("patch", "/api/users/{user}", {"username": "bad name!"}, "username"),
    ("post", "/api/auth/access_tokens", {"name": ""}, "name"),
    ("post", "/api/auth/access_tokens", {"name": "n", "read_only": "maybe"}, "read_only"),
    ("post", "/api/auth/password/change", {"new_password1": "a"}, "new_password2"),
    ("post", "/api/auth/register", {"username": "someone", "password1": "Passw0rd-x", "password2": HUGE},
     "password2"),
]


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, str):
        return value.format(**ids) if "{" in value and "}" in value and len(value) < 100 else value
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


@pytest.mark.parametrize("method,path,body,field", CASES)
def test_bad_input_is_refused_and_changes_nothing(app, client, world, method, path, body, field):
    before = snapshot(app)
    r = getattr(client, method)(path.format(**world), json=_fill(body, world))
    assert 400 <= r.status_code < 500, (r.status_code, r.get_data(as_text=True))
    assert r.is_json
    if field is not None:
        assert r.status_code == 400 and field in r.json, r.json
    else:
        assert "detail" in r.json
    assert snapshot(app) == before


def test_malformed_and_non_object_json(app, client, world):
    before = snapshot(app)
    for raw in ("{", "[1, 2]", "null", '"text"'):
        r = client.post("/api/projects", data=raw, content_type="application/json")
        assert r.status_code == 400 and r.is_json, raw
    assert snapshot(app) == before
