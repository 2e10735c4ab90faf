"""Organizations: roles decide who sees and changes what (a matrix through the
API), memberships, invitations, and workspace scoping of lists."""
from __future__ import annotations

import pytest


@pytest.fixture
def team(client, make_user):
    alice, mia, sam, wes, otto = (make_user(n) for n in ("alice", "mia01", "sam01", "wes01", "otto1"))
    org = alice.post("/api/organizations", json={"slug": "acme", "name": "Acme", "contact": {"email": "a@x"}})
    assert org.status_code == 201, org.json
    org = org.json
    for member, role in ((mia, "maintainer"), (sam, "supervisor"), (wes, "worker")):
        inv = alice.post("/api/invitations", json={"email": f"{member.username}@example.com", "role": role},
                         headers={"X-Organization": "acme"})
        assert inv.status_code == 201, inv.json
        assert member.post(f"/api/invitations/{inv.json['key']}/accept").status_code == 200
    acme = {"X-Organization": "acme"}
    t_own = alice.post("/api/tasks", json={"name": "alice's", "labels": [{"name": "a"}]}, headers=acme).json
    t_wes = alice.post("/api/tasks", json={"name": "for wes", "labels": [{"name": "a"}], "assignee_id": wes.id},
                       headers=acme).json
    personal = alice.post("/api/tasks", json={"name": "personal", "labels": [{"name": "a"}]}).json
    return {"org": org, "alice": alice, "mia": mia, "sam": sam, "wes": wes, "otto": otto,
            "t_own": t_own, "t_wes": t_wes, "personal": personal}


def test_created_in_organization(team):
    assert team["t_own"]["organization"] == team["org"]["id"]
    assert team["personal"]["organization"] is None


@pytest.mark.parametrize("who,listed,see_own,patch_own,delete_own", [
    ("alice", 2, 200, 200, 204),
    ("mia", 2, 200, 200, 204),
    ("sam", 2, 200, 403, 403),
    ("wes", 1, 404, 404, 404),
    ("otto", 403, 404, 404, 404),
])
def test_role_matrix_for_tasks(team, who, listed, see_own, patch_own, delete_own):
    user, t_own = team[who], team["t_own"]
    r = user.get("/api/tasks?org=acme")
    if listed == 403:
        assert r.status_code == 403
    else:
        assert r.json["count"] == listed
    assert user.get(f"/api/tasks/{t_own['id']}").status_code == see_own
    assert user.patch(f"/api/tasks/{t_own['id']}", json={"name": "x"}).status_code == patch_own
    assert user.delete(f"/api/tasks/{t_own['id']}").status_code == delete_own


@pytest.mark.parametrize("who,status", [("alice", 201), ("mia", 201), ("sam", 201), ("wes", 403), ("otto", 403)])
def test_who_may_create_inside(team, who, status):
    r = team[who].post("/api/projects", json={"name": "p"}, headers={"X-Organization": "acme"})
    assert r.status_code == status


def test_workspace_scoping_of_lists(team):
    alice = team["alice"]
    assert alice.get("/api/tasks").json["count"] == 3
    assert {t["name"] for t in alice.get("/api/tasks?org=").json["results"]} == {"personal"}
    assert alice.get(f"/api/tasks?org_id={team['org']['id']}").json["count"] == 2
    assert alice.get(f"/api/labels?task_id={team['t_own']['id']}&org_id={team['org']['id']}").json["count"] == 1
    assert alice.get(f"/api/labels?task_id={team['t_own']['id']}&org=").json["count"] == 0
    assert alice.get("/api/tasks?org=nope").status_code == 404
    # a task cannot join a project of another workspace
    p = alice.post("/api/projects", json={"name": "personal p", "labels": [{"name": "a"}]}).json
    assert alice.patch(f"/api/tasks/{team['t_own']['id']}", json={"project_id": p["id"]}).status_code == 400


def test_worker_sees_assigned_task_only(team):
    wes = team["wes"]
    assert [t["id"] for t in wes.get("/api/tasks").json["results"]] == [team["t_wes"]["id"]]
    assert wes.get(f"/api/tasks/{team['t_wes']['id']}").status_code == 200


def test_non_members_see_nothing(team):
    otto = team["otto"]
    assert otto.get("/api/organizations").json["count"] == 0
    assert otto.get(f"/api/organizations/{team['org']['id']}").status_code == 404
    assert otto.get("/api/memberships").json["count"] == 0
    assert otto.get("/api/tasks").json["count"] == 0


def test_membership_rules(team):
    alice, mia, sam, wes = team["alice"], team["mia"], team["sam"], team["wes"]
    members = {m["user"]["username"]: m for m in alice.get("/api/memberships?org=acme").json["results"]}
    assert {u: m["role"] for u, m in members.items()} == {
        "alice": "owner", "mia01": "maintainer", "sam01": "supervisor", "wes01": "worker"}
    assert sam.patch(f"/api/memberships/{members['wes01']['id']}", json={"role": "supervisor"}).status_code == 403
    assert mia.patch(f"/api/memberships/{members['alice']['id']}", json={"role": "worker"}).status_code == 403
    assert mia.patch(f"/api/memberships/{members['wes01']['id']}", json={"role": "owner"}).status_code == 403
    r = mia.patch(f"/api/memberships/{members['wes01']['id']}", json={"role": "supervisor"})
    assert r.status_code == 200 and r.json["role"] == "supervisor"
    assert wes.get("/api/tasks?org=acme").json["count"] == 2, "a supervisor sees everything in the org"
    assert alice.delete(f"/api/memberships/{members['alice']['id']}").status_code == 403
    assert wes.delete(f"/api/memberships/{members['wes01']['id']}").status_code == 204, "members may leave"
    assert wes.get("/api/tasks?org=acme").status_code == 403
    assert sam.delete(f"/api/memberships/{members['mia01']['id']}").status_code == 403
    assert alice.delete(f"/api/memberships/{members['mia01']['id']}").status_code == 204


def test_invitations(team):
    alice, otto, sam = team["alice"], team["otto"], team["sam"]
    acme = {"X-Organization": "acme"}
    assert sam.post("/api/invitations", json={"email": "otto1@example.com", "role": "worker"},
                    headers=acme).status_code == 403
    assert alice.post("/api/invitations", json={"email": "nobody@example.com", "role": "worker"},
                      headers=acme).status_code == 400
    inv = alice.post("/api/invitations", json={"email": "otto1@example.com", "role": "worker"}, headers=acme).json
    assert inv["organization_info"]["slug"] == "acme" and inv["accepted"] is False
    assert [i["key"] for i in otto.get("/api/invitations").json["results"]] == [inv["key"]]
    assert otto.get("/api/tasks?org=acme").status_code == 403, "an invitation is not a membership"
    assert otto.post(f"/api/invitations/{inv['key']}/decline").status_code == 204
    assert otto.get("/api/invitations").json["count"] == 0
    inv = alice.post("/api/invitations", json={"email": "otto1@example.com", "role": "worker"}, headers=acme).json
    assert sam.post(f"/api/invitations/{inv['key']}/accept").status_code == 403
    assert otto.post(f"/api/invitations/{inv['key']}/accept").json["is_active"] is True
    assert otto.get("/api/organizations").json["count"] == 1


def test_organization_update_and_delete(team):
    alice, mia, sam = team["alice"], team["mia"], team["sam"]
    org_id = team["org"]["id"]
    assert sam.patch(f"/api/organizations/{org_id}", json={"name": "x"}).status_code == 403
    assert mia.patch(f"/api/organizations/{org_id}", json={"name": "Acme 2"}).json["name"] == "Acme 2"
    assert alice.post("/api/organizations", json={"slug": "acme"}).status_code == 400
    assert alice.post("/api/organizations", json={"slug": "bad slug!"}).status_code == 400
    assert mia.delete(f"/api/organizations/{org_id}").status_code == 403
    assert alice.delete(f"/api/organizations/{org_id}").status_code == 204
    assert alice.get(f"/api/tasks/{team['t_own']['id']}").status_code == 404
    assert alice.get(f"/api/tasks/{team['personal']['id']}").status_code == 200
    assert mia.get("/api/memberships").json["count"] == 0
