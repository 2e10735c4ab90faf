"""Who sees and changes what: owners, assignees, other users, superusers."""
from __future__ import annotations


def test_users_see_only_their_own(client, make_user):
    alice, bob = make_user("alice"), make_user("bobby")
    p = alice.post("/api/projects", json={"name": "alice's", "labels": [{"name": "a"}]}).json
    t = alice.post("/api/tasks", json={"name": "alice task", "labels": [{"name": "a"}]}).json
    assert bob.get("/api/projects").json["count"] == 0
    assert bob.get("/api/tasks").json["count"] == 0
    assert bob.get("/api/labels").json["count"] == 0
    assert bob.get(f"/api/projects/{p['id']}").status_code == 404
    assert bob.get(f"/api/tasks/{t['id']}").status_code == 404
    assert bob.patch(f"/api/tasks/{t['id']}", json={"name": "x"}).status_code == 404
    assert bob.delete(f"/api/projects/{p['id']}").status_code == 404
    assert bob.get(f"/api/labels?task_id={t['id']}").status_code == 404
    # bob cannot put a task into alice's project
    assert bob.post("/api/tasks", json={"name": "x", "project_id": p["id"]}).status_code == 400
    # superusers see everything
    assert client.get("/api/projects").json["count"] == 1
    assert client.get(f"/api/tasks/{t['id']}").status_code == 200


def test_assignee_sees_and_edits_but_cannot_delete(make_user):
    alice, bob = make_user("alice"), make_user("bobby")
    t = alice.post("/api/tasks", json={"name": "shared", "assignee_id": bob.id}).json
    assert bob.get("/api/tasks").json["count"] == 1
    assert bob.patch(f"/api/tasks/{t['id']}", json={"name": "renamed"}).status_code == 200
    assert bob.delete(f"/api/tasks/{t['id']}").status_code == 403
    assert bob.get(f"/api/tasks/{t['id']}").json["name"] == "renamed"
    p = alice.post("/api/projects", json={"name": "p", "assignee_id": bob.id}).json
    inner = alice.post("/api/tasks", json={"name": "inner", "project_id": p["id"]}).json
    assert bob.get(f"/api/tasks/{inner['id']}").status_code == 200, "project assignees see its tasks"
    assert bob.delete(f"/api/projects/{p['id']}").status_code == 403
    assert alice.delete(f"/api/projects/{p['id']}").status_code == 204


def test_user_admin_actions_need_superuser(make_user):
    alice = make_user("alice")
    assert alice.patch("/api/users/1", json={"is_active": False}).status_code == 403
    assert alice.delete("/api/users/1").status_code == 403
