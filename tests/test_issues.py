"""Review issues and comments on job frames."""
from __future__ import annotations

import pytest

from domain import jobs as job_ops


@pytest.fixture
def job_world(app, client, make_user):
    t = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "a"}]}).json
    store = app.extensions["cvat"].store
    jobs = job_ops.create_jobs(store, t["id"], [(0, 4), (5, 9)])
    return {"task": t, "jobs": jobs, "store": store}


def test_issue_lifecycle(client, job_world):
    job = job_world["jobs"][1]
    r = client.post("/api/issues", json={"job": job["id"], "frame": 6, "position": [1, 2, 30.5, 40],
                                         "message": "box is too small"})
    assert r.status_code == 201, r.json
    issue = r.json
    assert issue["comments"]["count"] == 1 and issue["resolved"] is False and issue["position"] == [1.0, 2.0, 30.5, 40.0]
    assert client.get(f"/api/jobs/{job['id']}").json["issues"]["count"] == 1
    assert client.get(f"/api/jobs/{job_world['jobs'][0]['id']}").json["issues"]["count"] == 0
    c = client.post("/api/comments", json={"issue": issue["id"], "message": "fixed?"})
    assert c.status_code == 201
    listed = client.get(f"/api/comments?issue_id={issue['id']}").json
    assert [x["message"] for x in listed["results"]] == ["box is too small", "fixed?"]
    assert client.patch(f"/api/comments/{c.json['id']}", json={"message": "fixed!"}).json["message"] == "fixed!"
    assert client.patch(f"/api/issues/{issue['id']}", json={"resolved": True}).json["resolved"] is True
    assert client.get(f"/api/issues?job_id={job['id']}&resolved=true").json["count"] == 1
    assert client.get(f"/api/issues?task_id={job_world['task']['id']}").json["count"] == 1
    assert client.delete(f"/api/issues/{issue['id']}").status_code == 204
    assert client.get(f"/api/comments/{c.json['id']}").status_code == 404
    assert client.get(f"/api/jobs/{job['id']}").json["issues"]["count"] == 0


def test_bad_issues(client, job_world):
    job = job_world["jobs"][0]
    cases = [
        ({"job": job["id"], "frame": 7, "position": [1, 2], "message": "m"}, "frame"),
        ({"job": job["id"], "frame": 1, "position": [1], "message": "m"}, "position"),
        ({"job": job["id"], "frame": 1, "position": [1, 2, 3], "message": "m"}, "position"),
        ({"job": 424242, "frame": 1, "position": [1, 2], "message": "m"}, "job"),
        ({"job": job["id"], "frame": 1, "position": [1, 2], "message": ""}, "message"),
        ({"job": job["id"], "frame": 1, "position": [1, 2]}, "message"),
    ]
    for body, field in cases:
        r = client.post("/api/issues", json=body)
        assert r.status_code == 400 and field in r.json, (body, r.json)
    assert client.get("/api/issues").json["count"] == 0
    assert client.post("/api/comments", json={"issue": 424242, "message": "x"}).status_code == 400


def test_issues_follow_job_visibility(client, job_world, make_user):
    job = job_world["jobs"][0]
    issue = client.post("/api/issues", json={"job": job["id"], "frame": 0, "position": [0, 0], "message": "m"}).json
    bob = make_user("bobby")
    assert bob.get(f"/api/issues/{issue['id']}").status_code == 404
    assert bob.get("/api/issues").json["count"] == 0
    assert bob.post("/api/issues", json={"job": job["id"], "frame": 0, "position": [0, 0],
                                        "message": "m"}).status_code == 400
    client.patch(f"/api/jobs/{job['id']}", json={"assignee": bob.id})
    assert bob.get(f"/api/issues/{issue['id']}").status_code == 200
    assert bob.post("/api/comments", json={"issue": issue["id"], "message": "on it"}).status_code == 201
    mine = client.get(f"/api/comments?issue_id={issue['id']}").json["results"][0]
    assert bob.patch(f"/api/comments/{mine['id']}", json={"message": "x"}).status_code == 403
    assert bob.delete(f"/api/issues/{issue['id']}").status_code == 403


def test_deleting_task_deletes_issues(client, job_world):
    job = job_world["jobs"][0]
    client.post("/api/issues", json={"job": job["id"], "frame": 0, "position": [0, 0], "message": "m"})
    assert client.delete(f"/api/tasks/{job_world['task']['id']}").status_code == 204
    assert job_world["store"].scan("issues") == [] and job_world["store"].scan("comments") == []
