"""Permission matrix over every endpoint family, against the real stack: a
superuser, the owner (alice), an unrelated user (bob) and an anonymous
client. Invisible objects answer 404, forbidden actions 403, anonymous 401;
requests and export archives belong to whoever made them."""
from __future__ import annotations

import time
import uuid

import pytest
import requests
from cvat_sdk import make_client, models
from PIL import Image


PASSWORD = "Matrix-pass-1"


def _user(url, name):
    s = requests.Session()
    r = s.post(url + "/api/auth/register", json={"username": name, "password1": PASSWORD, "password2": PASSWORD,
                                                "email": f"{name}@example.com"})
    assert r.status_code == 201, r.text
    key = s.post(url + "/api/auth/login", json={"username": name, "password": PASSWORD}).json()["key"]
    s.cookies.clear()
    s.headers["Authorization"] = f"Token {key}"
    s.me = s.get(url + "/api/users/self").json()
    return s


def _wait(session, url, rq_id):
    for _ in range(300):
        doc = session.get(url + "/api/requests/" + requests.utils.quote(rq_id, safe="")).json()
        if doc["status"] in ("finished", "failed"):
            return doc
        time.sleep(0.1)
    raise AssertionError("request did not end")


@pytest.fixture(scope="module")
def world(stack, admin_session, tmp_path_factory):
    tag = uuid.uuid4().hex[:6]
    alice, bob = _user(stack.url, f"alice{tag}"), _user(stack.url, f"bob{tag}")
    folder = tmp_path_factory.mktemp("matrix")
    paths = []
    for i in range(2):
        p = folder / f"m{i}.png"
        Image.new("RGB", (20, 20), (i * 100, 50, 50)).save(p)
        paths.append(p)
    with make_client(stack.url, credentials=(alice.me["username"], PASSWORD)) as client:
        client.config.status_check_period = 0.1
        project = client.projects.create(models.ProjectWriteRequest(name="alice p", labels=[{"name": "car"}]))
        task = client.tasks.create_from_data(models.TaskWriteRequest(name="alice t", project_id=project.id),
                                             resources=paths)
    url = stack.url
    job = alice.get(url + f"/api/jobs?task_id={task.id}").json()["results"][0]
    label = alice.get(url + f"/api/labels?task_id={task.id}").json()["results"][0]
    export = alice.post(url + f"/api/tasks/{task.id}/dataset/export", params={"format": "COCO 1.0"}).json()["rq_id"]
    done = _wait(alice, url, export)
    anon = requests.Session()
    return {"url": url, "alice": alice, "bob": bob, "anon": anon, "admin": admin_session,
            "p": project.id, "t": task.id, "j": job["id"], "l": label["id"], "rq": export,
            "result": done["result_url"], "alice_id": alice.me["id"]}


# (method, path template, body) -> expected status for alice, bob, anonymous, admin
MATRIX = [
    ("GET", "/api/projects/{p}", None, (200, 404, 401, 200)),
    ("PATCH", "/api/projects/{p}", {"bug_tracker": "x"}, (200, 404, 401, 200)),
    ("GET", "/api/tasks/{t}", None, (200, 404, 401, 200)),
    ("PATCH", "/api/tasks/{t}", {"subset": "s"}, (200, 404, 401, 200)),
    ("GET", "/api/jobs/{j}", None, (200, 404, 401, 200)),
    ("PATCH", "/api/jobs/{j}", {"state": "in progress"}, (200, 404, 401, 200)),
    ("GET", "/api/labels/{l}", None, (200, 404, 401, 200)),
    ("PATCH", "/api/labels/{l}", {"color": "#123456"}, (200, 404, 401, 200)),
    ("GET", "/api/tasks/{t}/annotations/", None, (200, 404, 401, 200)),
    ("PUT", "/api/tasks/{t}/annotations/", {"shapes": [], "tags": [], "tracks": []}, (200, 404, 401, 200)),
    ("GET", "/api/jobs/{j}/annotations/", None, (200, 404, 401, 200)),
    ("GET", "/api/tasks/{t}/data/?type=frame&number=0&quality=compressed", None, (200, 404, 401, 200)),
    ("GET", "/api/tasks/{t}/data/meta", None, (200, 404, 401, 200)),
    ("GET", "/api/jobs/{j}/data?type=frame&number=0&quality=compressed", None, (200, 404, 401, 200)),
    ("GET", "/api/tasks/{t}/preview", None, (200, 404, 401, 200)),
    ("GET", "/api/requests/{rq_q}", None, (200, 403, 401, 200)),
    ("GET", "{result_path}", None, (200, 404, 401, 200)),
    ("POST", "/api/tasks/{t}/dataset/export?format=YOLO+1.1", None, (202, 404, 401, 202)),
    ("POST", "/api/projects/{p}/backup/export", None, (202, 404, 401, 202)),
    ("GET", "/api/users/{alice_id}", None, (200, 200, 401, 200)),
    ("PATCH", "/api/users/{alice_id}", {"first_name": "A"}, (200, 403, 401, 200)),
    ("GET", "/api/labels?task_id={t}", None, (200, 404, 401, 200)),
    ("GET", "/api/issues?job_id={j}", None, (200, 200, 401, 200)),
]


@pytest.mark.parametrize("method,path,body,expected", MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX])
def test_matrix(world, method, path, body, expected):
    values = dict(world, rq_q=requests.utils.quote(world["rq"], safe=""),
                  result_path=world["result"].split(world["url"], 1)[1])
    target = world["url"] + path.format(**values)
    for who, want in zip(("alice", "bob", "anon", "admin"), expected):
        r = world[who].request(method, target, json=body)
        assert r.status_code == want, f"{who}: {method} {path} -> {r.status_code} {r.text[:200]}"


def test_lists_show_only_what_each_may_see(world):
    url, bob = world["url"], world["bob"]
    assert world["t"] not in {t["id"] for t in bob.get(url + "/api/tasks?page_size=all").json()["results"]}
    assert world["p"] not in {p["id"] for p in bob.get(url + "/api/projects?page_size=all").json()["results"]}
    assert world["j"] not in {j["id"] for j in bob.get(url + "/api/jobs?page_size=all").json()["results"]}
    assert world["rq"] not in {r["id"] for r in bob.get(url + "/api/requests?page_size=all").json()["results"]}
    assert world["rq"] in {r["id"] for r in world["alice"].get(url + "/api/requests?page_size=all").json()["results"]}
    for path in ("/api/tasks", "/api/projects", "/api/jobs", "/api/labels", "/api/requests", "/api/users"):
        assert world["anon"].get(url + path).status_code == 401


def test_destructive_actions(world):
    url, alice, bob = world["url"], world["alice"], world["bob"]
    assert bob.delete(url + f"/api/tasks/{world['t']}").status_code == 404
    assert bob.delete(url + f"/api/projects/{world['p']}").status_code == 404
    assert bob.delete(url + f"/api/users/{world['alice_id']}").status_code == 403
    assert world["anon"].delete(url + f"/api/tasks/{world['t']}").status_code == 401
    assert alice.delete(url + f"/api/projects/{world['p']}").status_code == 204
    assert alice.get(url + f"/api/tasks/{world['t']}").status_code == 404
