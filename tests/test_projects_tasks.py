"""Projects, tasks and labels through the API (in-process app)."""
from __future__ import annotations

import pytest

from tests.conftest import ADMIN

REQUIRED_TASK_KEYS = {"jobs", "labels", "url", "id", "name", "owner", "assignee", "bug_tracker", "created_date",
                      "updated_date", "overlap", "segment_size", "status", "subset", "organization",
                      "target_storage", "source_storage", "dimension", "mode"}


def test_task_read_before_data(client):
    t = client.post("/api/tasks", json={"name": "t", "labels": [{"name": "car"}]})
    assert t.status_code == 201
    body = t.json
    assert REQUIRED_TASK_KEYS <= set(body)
    assert "size" not in body and "image_quality" not in body, "non-nullable data keys are omitted before data"
    assert body["jobs"] == {"count": 0, "completed": 0, "validation": 0,
                            "url": f"http://localhost/api/jobs?task_id={body['id']}"}
    assert body["segment_size"] == 0 and body["overlap"] is None and body["owner"]["username"] == ADMIN[0]


def test_both_slash_variants_and_no_redirects(client):
    t = client.post("/api/tasks/", json={"name": "t"}).json
    for path in (f"/api/tasks/{t['id']}", f"/api/tasks/{t['id']}/", "/api/tasks", "/api/tasks/"):
        assert client.get(path).status_code == 200, path
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/nothing").json == {"detail": "Not found."}
    r = client.put(f"/api/tasks/{t['id']}", json={})
    assert r.status_code == 405 and r.is_json


def test_task_labels_patch_semantics(client):
    t = client.post("/api/tasks", json={"name": "t", "labels": [
        {"name": "car", "attributes": [{"name": "color", "mutable": False, "input_type": "select",
                                        "values": ["red", "blue"]}]},
        {"name": "tree"}]}).json
    labels = {l["name"]: l for l in client.get(f"/api/labels?task_id={t['id']}").json["results"]}
    car, tree = labels["car"], labels["tree"]
    assert car["color"] != tree["color"]
    assert car["attributes"][0]["default_value"] == "red"
    r = client.patch(f"/api/tasks/{t['id']}", json={"labels": [
        {"id": car["id"], "name": "auto", "attributes": [{"id": car["attributes"][0]["id"], "name": "color",
                                                          "mutable": True, "input_type": "select",
                                                          "values": ["red", "green"]}]},
        {"id": tree["id"], "deleted": True},
        {"name": "person", "color": "#123456"}]})
    assert r.status_code == 200, r.json
    after = {l["name"]: l for l in client.get(f"/api/labels?task_id={t['id']}").json["results"]}
    assert set(after) == {"auto", "person"}
    assert after["auto"]["id"] == car["id"]
    assert after["auto"]["attributes"][0]["values"] == ["red", "green"]
    assert after["person"]["color"] == "#123456"
    assert client.get(f"/api/labels/{tree['id']}").status_code == 404
    assert client.patch(f"/api/tasks/{t['id']}", json={"labels": [{"id": 99999, "name": "x"}]}).status_code == 404
    assert client.patch(f"/api/tasks/{t['id']}", json={"labels": [{"deleted": True, "name": "x"}]}).status_code == 400


def test_label_endpoint_update_and_delete(client):
    p = client.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}, {"name": "b"}]}).json
    a, b = sorted(client.get(f"/api/labels?project_id={p['id']}").json["results"], key=lambda l: l["name"])
    r = client.patch(f"/api/labels/{a['id']}", json={"name": "aa", "color": "#abcdef"})
    assert r.status_code == 200 and r.json["name"] == "aa" and r.json["project_id"] == p["id"]
    assert client.patch(f"/api/labels/{a['id']}", json={"name": "b"}).status_code == 400
    assert client.patch(f"/api/labels/{a['id']}", json={"deleted": True}).status_code == 400
    assert client.delete(f"/api/labels/{b['id']}").status_code == 204
    assert [l["name"] for l in client.get(f"/api/labels?project_id={p['id']}").json["results"]] == ["aa"]
    assert client.get("/api/labels?project_id=1&task_id=1").status_code == 400


def test_task_in_project_uses_project_labels_and_moves(client):
    p1 = client.post("/api/projects", json={"name": "p1", "labels": [{"name": "car"}, {"name": "bus"}]}).json
    p2 = client.post("/api/projects", json={"name": "p2", "labels": [{"name": "car"}]}).json
    assert client.post("/api/tasks", json={"name": "x", "project_id": p1["id"],
                                          "labels": [{"name": "z"}]}).status_code == 400
    t = client.post("/api/tasks", json={"name": "t", "project_id": p1["id"]}).json
    assert {l["name"] for l in client.get(f"/api/labels?task_id={t['id']}").json["results"]} == {"car", "bus"}
    own = client.post("/api/tasks", json={"name": "own", "labels": [{"name": "car"}]}).json
    moved = client.patch(f"/api/tasks/{own['id']}", json={"project_id": p2["id"]})
    assert moved.status_code == 200 and moved.json["project_id"] == p2["id"]
    assert [l["project_id"] for l in client.get(f"/api/labels?task_id={own['id']}").json["results"]] == [p2["id"]]
    # p1 has "bus", p2 does not: the move is refused and nothing changes.
    refused = client.patch(f"/api/tasks/{t['id']}", json={"project_id": p2["id"]})
    assert refused.status_code == 400
    assert client.get(f"/api/tasks/{t['id']}").json["project_id"] == p1["id"]
    assert client.get(f"/api/projects/{p2['id']}").json["tasks"]["count"] == 1


def test_project_delete_cascades(client):
    p = client.post("/api/projects", json={"name": "p", "labels": [{"name": "a"}]}).json
    t = client.post("/api/tasks", json={"name": "t", "project_id": p["id"]}).json
    assert client.delete(f"/api/projects/{p['id']}").status_code == 204
    assert client.get(f"/api/tasks/{t['id']}").status_code == 404
    assert client.get("/api/labels").json["count"] == 0


def test_write_once_fields_and_assignee(client, make_user):
    worker = make_user("worker1")
    t = client.post("/api/tasks", json={"name": "t", "segment_size": 5, "overlap": 1}).json
    r = client.patch(f"/api/tasks/{t['id']}", json={"segment_size": 50, "assignee_id": worker.id})
    assert r.json["segment_size"] == 5 and r.json["overlap"] == 1
    assert r.json["assignee"]["username"] == "worker1" and r.json["assignee_updated_date"]
    assert worker.get(f"/api/tasks/{t['id']}").status_code == 200


def test_skeleton_svg_is_rewritten_to_ids(client):
    svg = ('<circle r="1.5" cx="1" cy="1" data-type="element node" data-element-id="1" data-node-id="1" '
           'data-label-name="head"></circle>')
    t = client.post("/api/tasks", json={"name": "s", "labels": [{"name": "body", "type": "skeleton", "svg": svg,
                                                                "sublabels": [{"name": "head"}]}]})
    assert t.status_code == 201, t.json
    (label,) = client.get(f"/api/labels?task_id={t.json['id']}").json["results"]
    head = label["sublabels"][0]
    assert head["type"] == "points" and head["has_parent"] is True
    assert f'data-label-id="{head["id"]}"' in label["svg"]
    bad = client.post("/api/tasks", json={"name": "s", "labels": [{
        "name": "body", "type": "skeleton", "svg": svg.replace("head", "tail"), "sublabels": [{"name": "head"}]}]})
    assert bad.status_code == 400


@pytest.mark.parametrize("path", ["/api/server/plugins", "/api/server/annotation/formats"])
def test_server_endpoints(client, path):
    assert client.get(path).status_code == 200


def test_about_is_anonymous_and_complete(app):
    body = app.test_client().get("/api/server/about").json
    assert set(body) == {"name", "description", "version", "logo_url", "subtitle"}
    assert body["version"].startswith("2.80.")


def test_share_listing_stays_inside(client, app, tmp_path):
    share = tmp_path / "share"
    (share / "images").mkdir()
    (share / "images" / "a.jpg").write_bytes(b"x")
    (share / "video.mp4").write_bytes(b"x")
    (share / "data.zip").write_bytes(b"x")
    (share / "escape").symlink_to("/etc")
    listed = client.get("/api/server/share").json
    assert listed == [{"name": "images", "type": "DIR", "mime_type": "DIR"},
                      {"name": "data.zip", "type": "REG", "mime_type": "archive"},
                      {"name": "video.mp4", "type": "REG", "mime_type": "video"}]
    assert client.get("/api/server/share?directory=/images/").json == [
        {"name": "a.jpg", "type": "REG", "mime_type": "image"}]
    for bad in ("../", "/../../etc", "escape", "images/a.jpg"):
        r = client.get("/api/server/share", query_string={"directory": bad})
        assert r.status_code == 400, bad
