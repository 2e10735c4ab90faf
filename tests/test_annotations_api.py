"""Annotations over HTTP on the in-process app: validation (every invalid case is
a 400 naming the item and stores nothing), If-Match, job windows, cascades."""
from __future__ import annotations

import orjson
import pytest

from tests.annotation_helpers import attach_frames

SVG = ('<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" data-node-id="1" '
       'data-label-name="head"></circle><circle r="1.5" cx="20" cy="20" data-type="element node" '
       'data-element-id="2" data-node-id="2" data-label-name="tail"></circle>')
LABELS = [
    {"name": "car", "attributes": [
        {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "5"]},
        {"name": "kind", "mutable": False, "input_type": "select", "values": ["sedan", "suv"]},
        {"name": "parked", "mutable": True, "input_type": "checkbox", "values": ["false"]},
        {"name": "color", "mutable": False, "input_type": "radio", "values": ["red", "blue"]},
        {"name": "note", "mutable": True, "input_type": "text", "values": [""]}]},
    {"name": "person"},
    {"name": "body", "type": "skeleton", "svg": SVG, "sublabels": [{"name": "head"}, {"name": "tail"}]},
]


class T:
    """A task with 10 frames, jobs (0,3) (2,5) (4,7) (6,9) (segment 4, overlap 2)."""

    def __init__(self, client, app, labels=LABELS, size=10, segment_size=4, overlap=2, project_id=None):
        self.c = client
        body = {"name": "annotated"}
        if project_id is None:
            body["labels"] = labels
        else:
            body["project_id"] = project_id
        r = client.post("/api/tasks", json=body)
        assert r.status_code == 201, r.json
        self.id = r.json["id"]
        self.store = app.extensions["cvat"].store
        self.layout = app.extensions["cvat"].layout
        self.jobs = [j["id"] for j in attach_frames(self.store, self.id, size, segment_size, overlap)]
        found = client.get(f"/api/labels?task_id={self.id}&page_size=all").json["results"]
        self.label = {l["name"]: l["id"] for l in found}
        self.attr = {a["name"]: a["id"] for l in found for a in l["attributes"]}
        self.sub = {s["name"]: s["id"] for l in found for s in l["sublabels"]}

    def url(self, job=None):
        return f"/api/jobs/{job}/annotations/" if job else f"/api/tasks/{self.id}/annotations/"

    def get(self, job=None):
        r = self.c.get(self.url(job))
        assert r.status_code == 200, r.json
        return r.json

    def put(self, data, job=None, **kw):
        return self.c.put(self.url(job), data=orjson.dumps(data), content_type="application/json", **kw)

    def patch(self, action, data, job=None, **kw):
        return self.c.patch(self.url(job) + f"?action={action}", data=orjson.dumps(data),
                            content_type="application/json", **kw)

    def rect(self, frame=0, **kw):
        return {"type": "rectangle", "label_id": self.label["car"], "frame": frame, "points": [1, 2, 30, 40], **kw}


@pytest.fixture
def task(client, app):
    return T(client, app)


def test_read_empty_and_both_spellings(task, client):
    for url in (f"/api/tasks/{task.id}/annotations", f"/api/tasks/{task.id}/annotations/",
                f"/api/jobs/{task.jobs[0]}/annotations", f"/api/jobs/{task.jobs[0]}/annotations/"):
        r = client.get(url)
        assert r.status_code == 200, url
        assert r.json == {"version": 0, "tags": [], "shapes": [], "tracks": [], "intervals": []}
        assert r.headers["ETag"]


def test_writes_without_the_slash(task, client):
    for base in (f"/api/tasks/{task.id}/annotations", f"/api/jobs/{task.jobs[0]}/annotations"):
        assert client.put(base, json={"shapes": [task.rect(0)]}).status_code == 200, base
        r = client.patch(base + "?action=create", json={"shapes": [task.rect(1)]})
        assert r.status_code == 200 and len(r.json["shapes"]) == 1
        assert client.delete(base).status_code == 204
        assert client.get(base).json["shapes"] == []


def test_task_without_data_is_400(client):
    r = client.post("/api/tasks", json={"name": "no data", "labels": [{"name": "a"}]})
    assert client.get(f"/api/tasks/{r.json['id']}/annotations/").status_code == 400
    assert client.get("/api/tasks/99999/annotations/").status_code == 404


def test_put_fills_defaults_assigns_ids_and_keeps_them(task):
    r = task.put({"shapes": [task.rect(0), task.rect(5, type="ellipse", rotation=45.5)],
                  "tags": [{"label_id": task.label["person"], "frame": 2}]})
    assert r.status_code == 200, r.json
    got = task.get()
    assert r.json == got
    shape = got["shapes"][0]
    assert shape == {"id": shape["id"], "label_id": task.label["car"], "frame": 0, "group": 0, "source": "manual",
                     "type": "rectangle", "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
                     "points": [1, 2, 30, 40], "attributes": []}
    ids = [s["id"] for s in got["shapes"]] + [t["id"] for t in got["tags"]]
    assert len(set(ids)) == 3
    assert task.get() == got    # stable across reads
    # A PUT replaces everything and never reuses ids.
    task.put({"shapes": [task.rect(1)]})
    again = task.get()
    assert len(again["shapes"]) == 1 and again["shapes"][0]["id"] not in ids


def test_attribute_values_are_normalized(task):
    a = task.attr
    r = task.put({"shapes": [task.rect(0, attributes=[
        {"spec_id": a["speed"], "value": "15"}, {"spec_id": a["kind"], "value": "suv"},
        {"spec_id": a["parked"], "value": "True"}, {"spec_id": a["color"], "value": "blue"},
        {"spec_id": a["note"], "value": "any text"}])]})
    assert r.status_code == 200, r.json
    values = {v["spec_id"]: v["value"] for v in task.get()["shapes"][0]["attributes"]}
    assert values == {a["speed"]: "15", a["kind"]: "suv", a["parked"]: "true", a["color"]: "blue",
                      a["note"]: "any text"}


def _invalid_cases(t: T):
    """(name, payload, expected error fragment (key path))."""
    a, L, S = t.attr, t.label, t.sub
    rect = t.rect
    skel = {"type": "skeleton", "label_id": L["body"], "frame": 0, "points": [], "elements": [
        {"type": "points", "label_id": S["head"], "frame": 0, "points": [1, 1]}]}
    track = {"label_id": L["car"], "frame": 0, "shapes": [
        {"type": "rectangle", "frame": 0, "points": [1, 2, 3, 4]}]}
    return [
        ("unknown label", {"shapes": [rect(), rect(label_id=999999)]}, ("shapes", 1, "label_id")),
        ("sublabel at top level", {"shapes": [rect(label_id=S["head"])]}, ("shapes", 0, "label_id")),
        ("tag unknown label", {"tags": [{"label_id": 999999, "frame": 0}]}, ("tags", 0, "label_id")),
        ("spec of another label", {"shapes": [rect(label_id=L["person"], attributes=[
            {"spec_id": a["speed"], "value": "5"}])]}, ("shapes", 0, "attributes", 0, "spec_id")),
        ("number above max", {"shapes": [rect(attributes=[{"spec_id": a["speed"], "value": "105"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("number off step", {"shapes": [rect(attributes=[{"spec_id": a["speed"], "value": "7"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("number not a number", {"shapes": [rect(attributes=[{"spec_id": a["speed"], "value": "fast"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("checkbox", {"shapes": [rect(attributes=[{"spec_id": a["parked"], "value": "maybe"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("select", {"shapes": [rect(attributes=[{"spec_id": a["kind"], "value": "truck"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("radio", {"shapes": [rect(attributes=[{"spec_id": a["color"], "value": "green"}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("text too long", {"shapes": [rect(attributes=[{"spec_id": a["note"], "value": "x" * 5000}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("value not a string", {"shapes": [rect(attributes=[{"spec_id": a["note"], "value": ["x"]}])]},
         ("shapes", 0, "attributes", 0, "value")),
        ("attribute twice", {"shapes": [rect(attributes=[{"spec_id": a["note"], "value": "x"},
                                                         {"spec_id": a["note"], "value": "y"}])]},
         ("shapes", 0, "attributes", 1, "spec_id")),
        ("frame past the end", {"shapes": [rect(10)]}, ("shapes", 0, "frame")),
        ("negative frame", {"tags": [{"label_id": L["car"], "frame": -1}]}, ("tags", 0, "frame")),
        ("float frame", {"shapes": [rect(1.0)]}, ("shapes", 0, "frame")),
        ("rectangle 3 numbers", {"shapes": [rect(points=[1, 2, 3])]}, ("shapes", 0, "points")),
        ("ellipse 6 numbers", {"shapes": [rect(type="ellipse", points=[1, 2, 3, 4, 5, 6])]}, ("shapes", 0, "points")),
        ("cuboid 14 numbers", {"shapes": [rect(type="cuboid", points=list(range(14)))]}, ("shapes", 0, "points")),
        ("polygon 4 numbers", {"shapes": [rect(type="polygon", points=[1, 2, 3, 4])]}, ("shapes", 0, "points")),
        ("polygon odd", {"shapes": [rect(type="polygon", points=[1, 2, 3, 4, 5, 6, 7])]}, ("shapes", 0, "points")),
        ("polyline 2 numbers", {"shapes": [rect(type="polyline", points=[1, 2])]}, ("shapes", 0, "points")),
        ("points odd", {"shapes": [rect(type="points", points=[1, 2, 3])]}, ("shapes", 0, "points")),
        ("mask too short", {"shapes": [rect(type="mask", points=[1, 2, 3, 4])]}, ("shapes", 0, "points")),
        ("mask runs do not cover the box", {"shapes": [rect(type="mask", points=[3, 2, 0, 0, 2, 1])]},
         ("shapes", 0, "points")),
        ("mask negative run", {"shapes": [rect(type="mask", points=[-1, 7, 0, 0, 2, 1])]}, ("shapes", 0, "points")),
        ("point is a string", {"shapes": [rect(points=[1, 2, "3", 4])]}, ("shapes", 0, "points")),
        ("point is null", {"shapes": [rect(points=[1, 2, None, 4])]}, ("shapes", 0, "points")),
        ("unknown type", {"shapes": [rect(type="circle")]}, ("shapes", 0, "type")),
        ("rotation above 360", {"shapes": [rect(rotation=361)]}, ("shapes", 0, "rotation")),
        ("rotation negative", {"shapes": [rect(rotation=-1)]}, ("shapes", 0, "rotation")),
        ("occluded not bool", {"shapes": [rect(occluded="yes")]}, ("shapes", 0, "occluded")),
        ("z_order float", {"shapes": [rect(z_order=1.5)]}, ("shapes", 0, "z_order")),
        ("negative group", {"shapes": [rect(group=-2)]}, ("shapes", 0, "group")),
        ("unknown source", {"shapes": [rect(source="magic")]}, ("shapes", 0, "source")),
        ("score above 1", {"shapes": [rect(score=1.5)]}, ("shapes", 0, "score")),
        ("id on create", {"shapes": [rect(id=5)]}, ("shapes", 0, "id")),
        ("skeleton with points", {"shapes": [dict(skel, points=[1, 2])]}, ("shapes", 0, "points")),
        ("skeleton without elements", {"shapes": [dict(skel, elements=[])]}, ("shapes", 0, "elements")),
        ("skeleton element of another label", {"shapes": [dict(skel, elements=[
            {"type": "points", "label_id": L["person"], "frame": 0, "points": [1, 1]}])]},
         ("shapes", 0, "elements", 0, "label_id")),
        ("skeleton element not points", {"shapes": [dict(skel, elements=[
            {"type": "rectangle", "label_id": S["head"], "frame": 0, "points": [1, 1, 2, 2]}])]},
         ("shapes", 0, "elements", 0, "type")),
        ("skeleton label as rectangle", {"shapes": [rect(label_id=L["body"])]}, ("shapes", 0, "type")),
        ("elements on a rectangle", {"shapes": [rect(elements=skel["elements"])]}, ("shapes", 0, "elements")),
        ("track without shapes", {"tracks": [dict(track, shapes=[])]}, ("tracks", 0, "shapes")),
        ("track two shapes on a frame", {"tracks": [dict(track, shapes=track["shapes"] * 2)]},
         ("tracks", 0, "shapes", 1, "frame")),
        ("track of mixed types", {"tracks": [dict(track, shapes=track["shapes"] + [
            {"type": "polygon", "frame": 3, "points": [1, 2, 3, 4, 5, 6]}])]}, ("tracks", 0, "shapes", 1, "type")),
        ("track shape past the end", {"tracks": [dict(track, shapes=track["shapes"] + [
            {"type": "rectangle", "frame": 12, "points": [1, 2, 3, 4]}])]}, ("tracks", 0, "shapes", 1, "frame")),
        ("track shape bad attribute", {"tracks": [dict(track, shapes=[dict(track["shapes"][0], attributes=[
            {"spec_id": a["speed"], "value": "-5"}])])]}, ("tracks", 0, "shapes", 0, "attributes", 0, "value")),
        ("tracks not a list", {"tracks": {"a": 1}}, ("tracks",)),
    ]


def _dig(body, path):
    node = body
    for key in path:
        assert isinstance(node, (dict, list)), (body, path)
        if isinstance(key, int):
            assert isinstance(node, list) and len(node) > key, (body, path)
            assert all(item == {} for item in node[:key]), (body, path)
        node = node[key]
    assert node, (body, path)


def test_every_invalid_case_is_400_naming_the_item_and_stores_nothing(task, client):
    task.put({"shapes": [task.rect(0)], "tags": [{"label_id": task.label["person"], "frame": 1}]})
    before = task.get()
    etag = client.get(task.url()).headers["ETag"]
    for name, payload, path in _invalid_cases(task):
        for send in (lambda p: task.put(p), lambda p: task.patch("create", p)):
            r = send(payload)
            assert r.status_code == 400, (name, r.json)
            _dig(r.json, path)
        assert task.get() == before, name
    assert client.get(task.url()).headers["ETag"] == etag


def test_non_finite_numbers_and_bad_json_are_400(task):
    task.put({"shapes": [task.rect(0)]})
    before = task.get()
    label = task.label["car"]
    for raw in (b'{"shapes": [{"type": "rectangle", "label_id": %d, "frame": 0, "points": [1, 2, 1e999, 4]}]}' % label,
                b'{"shapes": [{"type": "rectangle", "label_id": %d, "frame": 0, "points": [1, 2, NaN, 4]}]}' % label,
                b'{"shapes": [', b'[1, 2]'):
        r = task.c.put(task.url(), data=raw, content_type="application/json")
        assert r.status_code == 400, raw
    assert task.get() == before


def test_job_writes_stay_inside_the_job(task):
    job = task.jobs[1]                       # frames 2..5
    r = task.put({"shapes": [task.rect(6)]}, job=job)
    assert r.status_code == 400 and "frame" in r.json["shapes"][0]
    r = task.patch("create", {"tracks": [{"label_id": task.label["car"], "frame": 2, "shapes": [
        {"type": "rectangle", "frame": 2, "points": [1, 2, 3, 4]},
        {"type": "rectangle", "frame": 7, "points": [1, 2, 3, 4]}]}]}, job=job)
    assert r.status_code == 400 and r.json["tracks"][0]["shapes"][1]["frame"]
    assert task.get()["shapes"] == []


def test_patch_actions_and_errors(task):
    r = task.patch("bogus", {})
    assert r.status_code == 400 and r.json == ["Please specify a correct 'action' for the request"]
    assert task.c.patch(task.url(), json={}).status_code == 400
    created = task.patch("create", {"shapes": [task.rect(0), task.rect(1)]}).json
    assert [s["frame"] for s in created["shapes"]] == [0, 1]
    first, second = created["shapes"]
    r = task.patch("update", {"shapes": [dict(first, id=999999)]})
    assert r.status_code == 400 and r.json["shapes"][0]["id"]
    r = task.patch("delete", {"shapes": [dict(first, id=None)]})
    assert r.status_code == 400 and r.json["shapes"][0]["id"] == ["must be present and not null"]
    r = task.patch("update", {"shapes": [dict(first, points=[5, 5, 6, 6]), task.rect(3)]})
    assert r.status_code == 200
    assert r.json["shapes"][0]["id"] == first["id"] and r.json["shapes"][0]["points"] == [5, 5, 6, 6]
    shapes = {s["id"]: s for s in task.get()["shapes"]}
    assert shapes[first["id"]]["points"] == [5, 5, 6, 6] and len(shapes) == 3
    r = task.patch("delete", {"shapes": [second, dict(second, id=123456)]})
    assert r.status_code == 200 and [s["id"] for s in r.json["shapes"]] == [second["id"]]
    assert second["id"] not in {s["id"] for s in task.get()["shapes"]}


def test_if_match(task, client):
    r = client.get(task.url())
    stale = r.headers["ETag"]
    assert task.put({"shapes": [task.rect(0)]}, headers={"If-Match": stale}).status_code == 200
    fresh = client.get(task.url()).headers["ETag"]
    assert fresh != stale
    before = task.get()
    assert task.put({"shapes": []}, headers={"If-Match": stale}).status_code == 412
    assert task.patch("create", {"shapes": [task.rect(1)]}, headers={"If-Match": stale}).status_code == 412
    assert client.delete(task.url(), headers={"If-Match": stale}).status_code == 412
    assert task.get() == before
    r = task.patch("create", {"shapes": [task.rect(1)]}, headers={"If-Match": fresh})
    assert r.status_code == 200 and r.headers["ETag"] != fresh
    assert r.headers["ETag"] == client.get(task.url()).headers["ETag"]     # the tag of what it stored
    r = client.delete(task.url(), headers={"If-Match": r.headers["ETag"]})
    assert r.status_code == 204 and r.headers["ETag"] == client.get(task.url()).headers["ETag"]
    assert task.put({"shapes": []}, headers={"If-Match": "*"}).status_code == 200
    # If-None-Match on reads, and an empty create changes nothing.
    tag = client.get(task.url()).headers["ETag"]
    assert client.get(task.url(), headers={"If-None-Match": tag}).status_code == 304
    assert task.patch("create", {}).status_code == 200
    assert client.get(task.url(), headers={"If-None-Match": tag}).status_code == 304
    assert client.get(task.url(), headers={"If-None-Match": stale}).status_code == 200
    # Job tags: a change on frames 8..9 (job 4 only) leaves job 1's tag as it was.
    job_tags = {j: client.get(task.url(j)).headers["ETag"] for j in task.jobs}
    assert task.patch("create", {"shapes": [task.rect(9)]}, job=task.jobs[3],
                      headers={"If-Match": job_tags[task.jobs[3]]}).status_code == 200
    assert client.get(task.url(task.jobs[0])).headers["ETag"] == job_tags[task.jobs[0]]
    assert task.patch("create", {"shapes": [task.rect(0)]}, job=task.jobs[0],
                      headers={"If-Match": job_tags[task.jobs[0]]}).status_code == 200
    assert task.patch("create", {"shapes": [task.rect(9)]}, job=task.jobs[3],
                      headers={"If-Match": job_tags[task.jobs[3]]}).status_code == 412


def test_job_views_with_overlap(task):
    task.put({"shapes": [task.rect(f) for f in range(10)],
              "tags": [{"label_id": task.label["person"], "frame": 3}]})
    whole = task.get()
    by_frame = {s["frame"]: s for s in whole["shapes"]}
    for job, (a, b) in zip(task.jobs, [(0, 3), (2, 5), (4, 7), (6, 9)]):
        view = task.get(job)
        assert [s["frame"] for s in view["shapes"]] == list(range(a, b + 1))
        assert all(s == by_frame[s["frame"]] for s in view["shapes"])
        assert [t["frame"] for t in view["tags"]] == ([3] if a <= 3 <= b else [])
    # A change through job 2 on overlap frame 3 is a change to the task and to job 1.
    shape3 = by_frame[3]
    assert task.patch("update", {"shapes": [dict(shape3, points=[9, 9, 19, 19])]}, job=task.jobs[1]).status_code == 200
    for view in (task.get(), task.get(task.jobs[0]), task.get(task.jobs[1])):
        assert next(s for s in view["shapes"] if s["id"] == shape3["id"])["points"] == [9, 9, 19, 19]
    # Updating through a job an object outside it is refused.
    r = task.patch("update", {"shapes": [by_frame[9]]}, job=task.jobs[0])
    assert r.status_code == 400
    # A job PUT replaces only its frames.
    assert task.put({"shapes": [task.rect(4)]}, job=task.jobs[1]).status_code == 200
    frames = sorted(s["frame"] for s in task.get()["shapes"])
    assert frames == [0, 1, 4, 6, 7, 8, 9]
    assert task.get()["tags"] == []
    # DELETE on a job removes what it shows, nothing else.
    assert task.c.delete(task.url(task.jobs[3])).status_code == 204
    assert sorted(s["frame"] for s in task.get()["shapes"]) == [0, 1, 4]


def _track(task, frames, outside_last=False, label="car"):
    shapes = [{"type": "rectangle", "frame": f, "points": [f, f, f + 10, f + 10]} for f in frames]
    if outside_last:
        shapes[-1]["outside"] = True
    return {"label_id": task.label[label], "frame": frames[0], "shapes": shapes}


def test_tracks_across_jobs(task):
    task.put({"tracks": [_track(task, [1, 8, 9], outside_last=True)]})
    (track,) = task.get()["tracks"]
    views = [task.get(j)["tracks"] for j in task.jobs]
    # Job 1 (0..3): keyframe 1. Job 2 (2..5): enters visible, interpolated at 2.
    assert [s["frame"] for s in views[0][0]["shapes"]] == [1]
    assert [(s["frame"], s["points"]) for s in views[1][0]["shapes"]] == [(2, [2.0, 2.0, 12.0, 12.0])]
    assert "id" not in views[1][0]["shapes"][0] and views[1][0]["id"] == track["id"]
    assert [s["frame"] for s in views[3][0]["shapes"]] == [6, 8, 9]
    # Update the track through job 2: its frames there change, the rest stays.
    new = dict(views[1][0], shapes=[{"type": "rectangle", "frame": 3, "points": [0, 0, 5, 5]}])
    assert task.patch("update", {"tracks": [new]}, job=task.jobs[1]).status_code == 200
    (after,) = task.get()["tracks"]
    assert after["id"] == track["id"]
    frames = [(s["frame"], s["outside"]) for s in after["shapes"]]
    assert frames == [(1, False), (3, False), (6, False), (8, False), (9, True)]
    assert next(s for s in after["shapes"] if s["frame"] == 6)["points"] == [6.0, 6.0, 16.0, 16.0]
    # Job 1 still sees its keyframe 1 untouched.
    assert task.get(task.jobs[0])["tracks"][0]["shapes"][0]["points"] == [1, 1, 11, 11]
    # Delete through job 4 (6..9): the track ends before 6, parts elsewhere stay.
    view4 = task.get(task.jobs[3])["tracks"][0]
    assert task.patch("delete", {"tracks": [view4]}, job=task.jobs[3]).status_code == 200
    (cut,) = task.get()["tracks"]
    assert [(s["frame"], s["outside"]) for s in cut["shapes"]] == [(1, False), (3, False), (6, True)]
    assert task.get(task.jobs[3])["tracks"] == []
    # Deleting it through job 1 and job 2 leaves nothing visible: the track is gone.
    for job in task.jobs[:2]:
        views = task.get(job)["tracks"]
        assert task.patch("delete", {"tracks": views}, job=job).status_code == 200
    assert task.get()["tracks"] == []


def test_track_created_in_a_job_ends_with_it(task):
    r = task.patch("create", {"tracks": [_track(task, [2, 4])]}, job=task.jobs[1])
    assert r.status_code == 200
    (track,) = task.get()["tracks"]
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [(2, False), (4, False), (6, True)]
    assert [s["frame"] for s in task.get(task.jobs[2])["tracks"][0]["shapes"]] == [4, 6]


def test_skeleton_shapes_and_tracks(task):
    S, L = task.sub, task.label
    skeleton = {"type": "skeleton", "label_id": L["body"], "frame": 2, "points": [], "elements": [
        {"type": "points", "label_id": S["head"], "frame": 2, "points": [1, 1]},
        {"type": "points", "label_id": S["tail"], "frame": 2, "points": [5, 5], "outside": True}]}
    strack = {"label_id": L["body"], "frame": 0, "shapes": [
        {"type": "skeleton", "frame": 0, "points": []}, {"type": "skeleton", "frame": 5, "points": []}],
        "elements": [{"label_id": S["head"], "frame": 0, "shapes": [
            {"type": "points", "frame": 0, "points": [1, 1]}, {"type": "points", "frame": 5, "points": [6, 6]}]}]}
    assert task.put({"shapes": [skeleton], "tracks": [strack]}).status_code == 200
    got = task.get()
    (shape,) = got["shapes"]
    assert [(e["label_id"], e["outside"], e["frame"]) for e in shape["elements"]] == [
        (S["head"], False, 2), (S["tail"], True, 2)]
    ids = {shape["id"], *(e["id"] for e in shape["elements"])}
    (track,) = got["tracks"]
    ids |= {track["id"], track["elements"][0]["id"], *(s["id"] for s in track["shapes"]),
            *(s["id"] for s in track["elements"][0]["shapes"])}
    assert len(ids) == 9
    view = task.get(task.jobs[1])["tracks"][0]      # frames 2..5
    assert [s["frame"] for s in view["elements"][0]["shapes"]] == [2, 5]


def test_mask_round_trip(task):
    # A 3x2 box at (10, 20): runs 2 zeros, 3 ones, 1 zero.
    mask = {"type": "mask", "label_id": task.label["car"], "frame": 0, "points": [2, 3, 1, 10, 20, 12, 21]}
    assert task.put({"shapes": [mask]}).status_code == 200
    assert task.get()["shapes"][0]["points"] == [2, 3, 1, 10, 20, 12, 21]


def test_deleting_a_label_deletes_its_annotations(task, client):
    task.put({"shapes": [task.rect(0), task.rect(1, label_id=task.label["person"])],
              "tags": [{"label_id": task.label["car"], "frame": 2}]})
    assert client.delete(f"/api/labels/{task.label['car']}").status_code == 204
    got = task.get()
    assert got["tags"] == [] and [s["label_id"] for s in got["shapes"]] == [task.label["person"]]


def test_deleting_a_label_through_task_patch(task, client):
    task.put({"shapes": [task.rect(0), task.rect(1, label_id=task.label["person"])]})
    r = client.patch(f"/api/tasks/{task.id}", json={"labels": [{"id": task.label["person"], "deleted": True}]})
    assert r.status_code == 200
    assert [s["label_id"] for s in task.get()["shapes"]] == [task.label["car"]]


def test_moving_a_task_into_a_project_remaps_labels(task, client, app):
    project = client.post("/api/projects", json={"name": "p", "labels": [
        {"name": "person"}, {"name": "car", "attributes": [
            {"name": "speed", "mutable": True, "input_type": "number", "values": ["0", "100", "5"]}]},
        {"name": "body", "type": "skeleton", "svg": SVG, "sublabels": [{"name": "head"}, {"name": "tail"}]}]}).json
    task.put({"shapes": [task.rect(0, attributes=[{"spec_id": task.attr["speed"], "value": "10"},
                                                  {"spec_id": task.attr["note"], "value": "gone"}])]})
    r = client.patch(f"/api/tasks/{task.id}", json={"project_id": project["id"]})
    assert r.status_code == 200, r.json
    labels = client.get(f"/api/labels?project_id={project['id']}&page_size=all").json["results"]
    car = next(l for l in labels if l["name"] == "car")
    (shape,) = task.get()["shapes"]
    assert shape["label_id"] == car["id"]
    assert shape["attributes"] == [{"spec_id": car["attributes"][0]["id"], "value": "10"}]
    # And the project's labels are what the task's annotations are checked against now.
    assert task.put({"shapes": [task.rect(0, label_id=car["id"])]}).status_code == 200


def test_updated_date_and_task_deletion(task, client):
    before = client.get(f"/api/tasks/{task.id}").json["updated_date"]
    task.put({"shapes": [task.rect(0)]})
    assert client.get(f"/api/tasks/{task.id}").json["updated_date"] > before
    job_before = client.get(f"/api/jobs/{task.jobs[3]}").json["updated_date"]
    task.patch("create", {"shapes": [task.rect(0)]}, job=task.jobs[0])
    assert client.get(f"/api/jobs/{task.jobs[3]}").json["updated_date"] == job_before
    directory = task.layout.annotations_dir(task.id)
    assert directory.exists()
    assert client.delete(f"/api/tasks/{task.id}").status_code == 204
    assert not directory.exists()
    assert client.get(task.url()).status_code == 404


def test_permissions(task, client, make_user):
    other = make_user("stranger")
    assert other.get(task.url()).status_code == 404
    assert other.put(task.url(), json={}).status_code == 404
    worker = make_user("worker")
    client.patch(f"/api/jobs/{task.jobs[0]}", json={"assignee": worker.id})
    assert worker.get(task.url(task.jobs[0])).status_code == 200
    r = worker.patch(task.url(task.jobs[0]) + "?action=create", json={"shapes": [task.rect(0)]})
    assert r.status_code == 200
    assert worker.patch(task.url(task.jobs[2]) + "?action=create", json={"shapes": [task.rect(5)]}).status_code == 403
    assert worker.put(task.url(), json={"shapes": []}).status_code == 403
    assert len(task.get()["shapes"]) == 1


def test_legacy_params_are_gone(task, client):
    assert client.get(task.url() + "?format=CVAT+1.1").status_code == 410
    assert client.put(task.url() + "?format=CVAT+1.1&rq_id=x", json={}).status_code == 410


def test_deleting_an_attribute_drops_its_values(task, client):
    a = task.attr
    values = [{"spec_id": a["speed"], "value": "10"}, {"spec_id": a["note"], "value": "n"}]
    task.put({"shapes": [task.rect(0, attributes=values)], "tracks": [{
        "label_id": task.label["car"], "frame": 0, "attributes": values,
        "shapes": [{"type": "rectangle", "frame": 0, "points": [1, 2, 3, 4], "attributes": values}]}]})
    r = client.patch(f"/api/labels/{task.label['car']}", json={"attributes": [
        {"id": a["note"], "name": "note", "mutable": True, "input_type": "text", "values": [""], "deleted": True}]})
    assert r.status_code == 200, r.json
    got = task.get()
    kept = [{"spec_id": a["speed"], "value": "10"}]
    assert got["shapes"][0]["attributes"] == kept
    assert got["tracks"][0]["attributes"] == kept and got["tracks"][0]["shapes"][0]["attributes"] == kept
    # what the SDK's remove_annotations(ids=...) sends back is valid again
    assert task.patch("delete", {"shapes": got["shapes"], "tracks": got["tracks"]}).status_code == 200
    assert task.get()["shapes"] == []


def test_etag_of_a_task_without_data(client, app):
    """Exports ask for the annotation version of every task, with data or not."""
    from domain import annotations as ann
    r = client.post("/api/tasks", json={"name": "no data", "labels": [{"name": "a"}]})
    store = app.extensions["cvat"].store
    assert ann.current_etag(ann.task_scope(store, r.json["id"])) == f'"t{r.json["id"]}.0"'
    for call in (lambda: client.get(f"/api/tasks/{r.json['id']}/annotations/"),
                 lambda: client.put(f"/api/tasks/{r.json['id']}/annotations/", json={}),
                 lambda: client.delete(f"/api/tasks/{r.json['id']}/annotations/"),
                 lambda: client.patch(f"/api/tasks/{r.json['id']}/annotations/?action=create", json={})):
        assert call().status_code == 400


def test_deleting_a_project_label_cleans_every_task_of_the_project(client, app):
    project = client.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}, {"name": "person"}]}).json
    tasks = [T(client, app, project_id=project["id"]) for _ in range(2)]
    for t in tasks:
        t.put({"shapes": [t.rect(0), t.rect(1, label_id=t.label["person"])]})
    assert client.delete(f"/api/labels/{tasks[0].label['car']}").status_code == 204
    for t in tasks:
        assert [s["label_id"] for s in t.get()["shapes"]] == [t.label["person"]]


def test_skeleton_track_updated_through_a_job(task):
    S, L = task.sub, task.label
    track = {"label_id": L["body"], "frame": 0, "shapes": [
        {"type": "skeleton", "frame": 0, "points": []}, {"type": "skeleton", "frame": 8, "points": []}],
        "elements": [{"label_id": S[name], "frame": 0, "shapes": [
            {"type": "points", "frame": 0, "points": [0, 0]}, {"type": "points", "frame": 8, "points": [8, 8]}]}
            for name in ("head", "tail")]}
    assert task.put({"tracks": [track]}).status_code == 200
    view = task.get(task.jobs[1])["tracks"][0]                     # frames 2..5
    assert [s["frame"] for s in view["elements"][0]["shapes"]] == [2]
    head = next(e for e in view["elements"] if e["label_id"] == S["head"])
    new_head = dict(head, shapes=[{"type": "points", "frame": 3, "points": [30, 30]}])
    new = dict(view, shapes=[{"type": "skeleton", "frame": 3, "points": []}], elements=[new_head])
    assert task.patch("update", {"tracks": [new]}, job=task.jobs[1]).status_code == 200
    (stored,) = task.get()["tracks"]
    elements = {e["label_id"]: e for e in stored["elements"]}
    assert [(s["frame"], s["points"]) for s in elements[S["head"]]["shapes"]] == [
        (0, [0, 0]), (3, [30, 30]), (6, [6.0, 6.0]), (8, [8, 8])]
    # the tail was not sent: its part on the job's frames is cut, the rest stays
    assert [(s["frame"], s["outside"]) for s in elements[S["tail"]]["shapes"]] == [
        (0, False), (2, True), (6, False), (8, False)]
    assert [s["frame"] for s in stored["shapes"]] == [0, 3, 6, 8]


def test_big_delete_and_repeated_nested_ids(task):
    import time
    task.put({"shapes": [task.rect(i % 10) for i in range(20000)]})
    shapes = task.get()["shapes"]
    t0 = time.perf_counter()
    assert task.patch("delete", {"shapes": shapes}).status_code == 200
    assert time.perf_counter() - t0 < 20
    assert task.get()["shapes"] == []
    task.put({"tracks": [_track(task, [0, 2, 4])]})
    (track,) = task.get()["tracks"]
    first = track["shapes"][0]["id"]
    repeated = dict(track, shapes=[dict(s, id=first) for s in track["shapes"]])
    assert task.patch("update", {"tracks": [repeated]}).status_code == 200
    ids = [s["id"] for s in task.get()["tracks"][0]["shapes"]]
    assert ids[0] == first and len(set(ids)) == 3


def test_ground_truth_jobs_keep_their_own_annotations(task, client):
    from domain import annotations as ann
    from domain import clock
    now = clock.now()
    gt = task.store.insert("jobs", {
        "task_id": task.id, "start_frame": 0, "stop_frame": 9, "frame_count": 3, "stage": "annotation",
        "state": "new", "type": "ground_truth", "assignee_id": None, "assignee_updated_date": None,
        "parent_job_id": None, "created_date": now, "updated_date": now})
    task.put({"shapes": [task.rect(0)]})
    assert task.put({"shapes": [task.rect(5), task.rect(6, label_id=task.label["person"])]}, job=gt["id"]).status_code == 200
    assert [s["frame"] for s in task.get()["shapes"]] == [0]                 # not part of the task
    assert [s["frame"] for s in task.get(gt["id"])["shapes"]] == [5, 6]       # not a window on it
    assert [s["frame"] for s in task.get(task.jobs[0])["shapes"]] == [0]
    # cascades reach it
    assert client.delete(f"/api/labels/{task.label['person']}").status_code == 204
    assert [s["frame"] for s in task.get(gt["id"])["shapes"]] == [5]
    # deleting the job deletes its annotations
    ann.delete_job_annotations(task.store, gt)
    assert task.get(gt["id"])["shapes"] == []
    assert not (task.layout.annotations_dir(task.id) / f"job-{gt['id']}").exists()
    assert [s["frame"] for s in task.get()["shapes"]] == [0]
