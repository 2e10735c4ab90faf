"""Pagination, simple filters, search, sort and JSON Logic filters."""
from __future__ import annotations

import json


def _make_projects(client, n):
    return [client.post("/api/projects", json={"name": f"proj {i:02d}", "bug_tracker": f"b{i % 3}"}).json["id"]
            for i in range(n)]


def test_pagination_links_are_absolute_and_end(client):
    ids = _make_projects(client, 23)
    first = client.get("/api/projects").json
    assert first["count"] == 23 and len(first["results"]) == 10
    assert [p["id"] for p in first["results"]] == ids[::-1][:10], "newest first by default"
    assert first["previous"] is None and first["next"] == "http://localhost/api/projects?page=2"
    third = client.get("/api/projects?page=3").json
    assert len(third["results"]) == 3 and third["next"] is None
    assert third["previous"] == "http://localhost/api/projects?page=2"
    assert client.get("/api/projects?page=4").status_code == 404
    assert client.get("/api/projects?page=4").json == {"detail": "Invalid page."}
    assert len(client.get("/api/projects?page_size=all").json["results"]) == 23
    assert len(client.get("/api/projects?page_size=5").json["results"]) == 5
    assert len(client.get("/api/projects?page_size=x").json["results"]) == 10
    linked = client.get("/api/projects?page_size=5&name=nothing").json
    assert linked["count"] == 0 and linked["results"] == [] and linked["next"] is None
    two = client.get("/api/projects?page_size=20&sort=id").json
    assert two["next"] == "http://localhost/api/projects?page_size=20&sort=id&page=2"


def test_sdk_walks_all_pages(client):
    _make_projects(client, 12)
    seen, url = [], "/api/projects"
    while url:
        body = client.get(url.replace("http://localhost", "")).json
        seen += [p["id"] for p in body["results"]]
        url = body["next"]
    assert len(seen) == 12 == len(set(seen))


def test_simple_filters_search_and_sort(client):
    _make_projects(client, 6)
    assert client.get("/api/projects?name=proj 03").json["count"] == 1
    assert client.get("/api/projects?owner=admin").json["count"] == 6
    assert client.get("/api/projects?owner=nobody").json["count"] == 0
    assert client.get("/api/projects?search=PROJ,04").json["count"] == 1
    names = [p["name"] for p in client.get("/api/projects?sort=name").json["results"]]
    assert names == sorted(names)
    names = [p["name"] for p in client.get("/api/projects?sort=-name,unknown").json["results"]]
    assert names == sorted(names, reverse=True)


def _filter(client, rule, path="/api/projects"):
    r = client.get(path, query_string={"filter": json.dumps(rule)})
    return r


def test_json_logic_filters(client):
    ids = _make_projects(client, 8)
    assert _filter(client, {"==": [{"var": "name"}, "proj 02"]}).json["count"] == 1
    assert _filter(client, {">": [{"var": "id"}, ids[5]]}).json["count"] == 2
    assert _filter(client, {"<=": [ids[1], {"var": "id"}, ids[3]]}).json["count"] == 3
    assert _filter(client, {"in": [{"var": "id"}, ids[:3]]}).json["count"] == 3
    assert _filter(client, {"in": ["oj 0", {"var": "name"}]}).json["count"] == 8
    assert _filter(client, {"and": [{"in": [{"var": "id"}, ids[:3]]},
                                    {"!": {"==": [{"var": "name"}, "proj 00"]}}]}).json["count"] == 2
    assert _filter(client, {"or": [{"==": [{"var": "name"}, "proj 00"]},
                                   {"==": [{"var": "name"}, "proj 07"]}]}).json["count"] == 2
    assert _filter(client, {"var": "assignee"}).json["count"] == 0
    assert _filter(client, {"!!": [{"==": [{"var": "owner"}, "admin"]}]}).json["count"] == 8


def test_bad_filters_are_400(client):
    bad = client.get("/api/projects?filter={oops")
    assert bad.status_code == 400 and bad.json == {"filter": ["filter: Json syntax should be used"]}
    r = _filter(client, {"==": [{"var": "password"}, "x"]})
    assert r.status_code == 400 and "'password' term is not supported" in r.json["filter"][0]
    assert _filter(client, {"xor": [1, 2]}).status_code == 400
    assert _filter(client, {}).status_code == 400


def test_org_scoping(client):
    _make_projects(client, 2)
    assert client.get("/api/projects?org=").json["count"] == 2
    assert client.get("/api/projects?org=someorg").status_code == 404
    assert client.get("/api/projects", headers={"X-Organization": "someorg"}).status_code == 404
    assert client.get("/api/projects", headers={"X-Organization": ""}).json["count"] == 2


def test_task_filters(client):
    p = client.post("/api/projects", json={"name": "P", "labels": [{"name": "a"}]}).json
    t1 = client.post("/api/tasks", json={"name": "one", "project_id": p["id"], "subset": "train"}).json
    client.post("/api/tasks", json={"name": "two", "labels": [{"name": "b"}], "bug_tracker": "http://t/2"})
    assert [t["id"] for t in client.get(f"/api/tasks?project_id={p['id']}").json["results"]] == [t1["id"]]
    assert client.get("/api/tasks?project_name=P").json["count"] == 1
    assert client.get("/api/tasks?subset=train").json["count"] == 1
    assert client.get("/api/tasks?tracker_link=http://t/2").json["count"] == 1
    assert _filter(client, {"==": [{"var": "status"}, "annotation"]}, "/api/tasks").json["count"] == 2
    assert client.get("/api/tasks?search=train").json["count"] == 1
