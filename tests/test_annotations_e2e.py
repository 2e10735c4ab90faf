"""Annotations end to end with the official cvat-sdk 2.80 against the real stack
(gunicorn with 2 workers, Celery, redis): every shape type and every action on
tasks and jobs, task/job consistency with overlap, two processes saving at once."""
from __future__ import annotations

import multiprocessing

import pytest
import requests
from cvat_sdk import make_client
from cvat_sdk.api_client import models
from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

from tests.media_helpers import make_images
from tests.stack import ADMIN

SVG = ('<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" data-node-id="1" '
       'data-label-name="head"></circle><circle r="1.5" cx="20" cy="20" data-type="element node" '
       'data-element-id="2" data-node-id="2" data-label-name="tail"></circle>')


@pytest.fixture(scope="module")
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


@pytest.fixture(scope="module")
def task(sdk, tmp_path_factory):
    """10 images, segment 4, overlap 2: jobs (0,3) (2,5) (4,7) (6,9)."""
    paths = make_images(tmp_path_factory.mktemp("ann"), 10, size=(64, 48))
    spec = models.TaskWriteRequest(name="annotations e2e", segment_size=4, overlap=2, labels=[
        models.PatchedLabelRequest(name="car", attributes=[
            models.AttributeRequest(name="speed", mutable=True, input_type="number", values=["0", "100", "5"]),
            models.AttributeRequest(name="kind", mutable=False, input_type="select", values=["sedan", "suv"])]),
        models.PatchedLabelRequest(name="person"),
        models.PatchedLabelRequest(name="body", type="skeleton", svg=SVG, sublabels=[
            models.SublabelRequest(name="head"), models.SublabelRequest(name="tail")])])
    task = sdk.tasks.create_from_data(spec, paths)
    assert task.size == 10
    return task


@pytest.fixture
def ids(task):
    task.remove_annotations()
    labels = task.get_labels()
    out = {l.name: l.id for l in labels}
    out.update({s.name: s.id for l in labels for s in l.sublabels})
    out.update({a.name: a.id for l in labels for a in l.attributes})
    out["jobs"] = sorted((j.id for j in task.get_jobs()))
    return out


def _shape(ids, shape_type, frame=0):
    points = {"rectangle": [1.0, 2.0, 30.0, 40.0], "ellipse": [10.0, 10.0, 20.0, 5.0],
              "polygon": [1.0, 1.0, 10.0, 1.0, 5.0, 8.0], "polyline": [1.0, 1.0, 10.0, 10.0],
              "points": [3.0, 4.0, 5.0, 6.0], "cuboid": [float(i) for i in range(16)],
              # 3x2 box at (10, 20): 2 off, 3 on, 1 off
              "mask": [2.0, 3.0, 1.0, 10.0, 20.0, 12.0, 21.0], "skeleton": []}[shape_type]
    kw = {}
    label = ids["car"]
    if shape_type == "skeleton":
        label = ids["body"]
        kw["elements"] = [
            models.SubLabeledShapeRequest(type="points", label_id=ids["head"], frame=frame, points=[1.0, 1.0]),
            models.SubLabeledShapeRequest(type="points", label_id=ids["tail"], frame=frame, points=[4.0, 4.0],
                                          outside=True)]
    else:
        kw["attributes"] = [models.AttributeValRequest(spec_id=ids["speed"], value="15"),
                            models.AttributeValRequest(spec_id=ids["kind"], value="suv")]
    return models.LabeledShapeRequest(type=shape_type, label_id=label, frame=frame, points=points,
                                      rotation=30.0 if shape_type in ("rectangle", "ellipse") else 0.0,
                                      z_order=2, occluded=True, group=3, source="auto", **kw)


SHAPE_TYPES = ["rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton"]


def _plain(value):
    """SDK models → plain JSON values for comparisons."""
    return value.to_dict() if hasattr(value, "to_dict") else value


@pytest.mark.parametrize("shape_type", SHAPE_TYPES)
def test_task_every_action(task, ids, shape_type):
    sent = _shape(ids, shape_type, frame=1)
    task.set_annotations(models.LabeledDataRequest(shapes=[sent], tags=[
        models.LabeledImageRequest(label_id=ids["person"], frame=0)]))
    data = task.get_annotations()
    (shape,) = data.shapes
    assert shape.type.value == shape_type and shape.frame == 1 and shape.label_id == sent.label_id
    assert shape.points == sent.points and shape.z_order == 2 and shape.occluded is True
    assert shape.group == 3 and shape.source == "auto" and shape.rotation == sent.rotation
    if shape_type == "skeleton":
        assert [(e.label_id, e.outside, e.points) for e in shape.elements] == [
            (ids["head"], False, [1.0, 1.0]), (ids["tail"], True, [4.0, 4.0])]
    else:
        assert [(a.spec_id, a.value) for a in shape.attributes] == [(ids["speed"], "15"), (ids["kind"], "suv")]
    assert task.get_annotations().to_dict() == data.to_dict()          # stable ids

    # update: the object keeps its id
    changed = models.LabeledShapeRequest(**dict(shape.to_dict(), frame=2, z_order=5))
    task.update_annotations(models.PatchedLabeledDataRequest(shapes=[changed]),
                            action=AnnotationUpdateAction.UPDATE)
    (after,) = task.get_annotations().shapes
    assert (after.id, after.frame, after.z_order) == (shape.id, 2, 5)

    # create adds with a new id
    task.update_annotations(models.PatchedLabeledDataRequest(shapes=[_shape(ids, shape_type, frame=7)]),
                            action=AnnotationUpdateAction.CREATE)
    shapes = task.get_annotations().shapes
    assert sorted(s.frame for s in shapes) == [2, 7] and len({s.id for s in shapes}) == 2

    # remove by ids (the SDK GETs, then PATCH-deletes the full objects)
    task.remove_annotations(ids=[shape.id])
    data = task.get_annotations()
    assert [s.frame for s in data.shapes] == [7] and len(data.tags) == 1
    task.remove_annotations(ids=[data.tags[0].id])
    assert task.get_annotations().tags == []

    task.remove_annotations()
    data = task.get_annotations()
    assert (data.shapes, data.tags, data.tracks) == ([], [], [])


@pytest.mark.parametrize("shape_type", SHAPE_TYPES)
def test_job_every_action(sdk, task, ids, shape_type):
    job = sdk.jobs.retrieve(ids["jobs"][1])                 # frames 2..5
    assert (job.start_frame, job.stop_frame) == (2, 5)
    job.set_annotations(models.LabeledDataRequest(shapes=[_shape(ids, shape_type, frame=3)]))
    (shape,) = job.get_annotations().shapes
    assert shape.type.value == shape_type and shape.frame == 3
    assert [s.id for s in task.get_annotations().shapes] == [shape.id]

    job.update_annotations(models.PatchedLabeledDataRequest(
        shapes=[models.LabeledShapeRequest(**dict(shape.to_dict(), frame=5))]))
    assert [(s.id, s.frame) for s in job.get_annotations().shapes] == [(shape.id, 5)]
    # frame 5 is an overlap frame: job 3 (4..7) sees the shape too
    assert [s.id for s in sdk.jobs.retrieve(ids["jobs"][2]).get_annotations().shapes] == [shape.id]

    job.update_annotations(models.PatchedLabeledDataRequest(shapes=[_shape(ids, shape_type, frame=2)]),
                           action=AnnotationUpdateAction.CREATE)
    assert len(job.get_annotations().shapes) == 2
    job.remove_annotations(ids=[shape.id])
    assert [s.frame for s in job.get_annotations().shapes] == [2]
    job.remove_annotations()
    assert job.get_annotations().shapes == [] and task.get_annotations().shapes == []


def test_tracks_and_skeleton_tracks(sdk, task, ids):
    def kf(frame, points, **kw):
        return models.TrackedShapeRequest(type="rectangle", frame=frame, points=points, **kw)

    track = models.LabeledTrackRequest(label_id=ids["car"], frame=0, attributes=[
        models.AttributeValRequest(spec_id=ids["kind"], value="sedan")], shapes=[
        kf(0, [0.0, 0.0, 10.0, 10.0], attributes=[models.AttributeValRequest(spec_id=ids["speed"], value="5")]),
        kf(8, [8.0, 8.0, 18.0, 18.0]), kf(9, [8.0, 8.0, 18.0, 18.0], outside=True)])
    skeleton = models.LabeledTrackRequest(label_id=ids["body"], frame=1, shapes=[
        models.TrackedShapeRequest(type="skeleton", frame=1, points=[]),
        models.TrackedShapeRequest(type="skeleton", frame=4, points=[])], elements=[
        models.SubLabeledTrackRequest(label_id=ids["head"], frame=1, shapes=[
            models.TrackedShapeRequest(type="points", frame=1, points=[1.0, 1.0]),
            models.TrackedShapeRequest(type="points", frame=4, points=[4.0, 4.0], outside=True)])])
    task.set_annotations(models.LabeledDataRequest(tracks=[track, skeleton]))
    got = {t.label_id: t for t in task.get_annotations().tracks}
    assert [(s.frame, s.outside) for s in got[ids["car"]].shapes] == [(0, False), (8, False), (9, True)]
    assert got[ids["car"]].shapes[0].attributes[0].value == "5"
    assert [s.frame for s in got[ids["body"]].elements[0].shapes] == [1, 4]

    # Every job sees the car track; job 2 (2..5) gets it interpolated at frame 2.
    views = [sdk.jobs.retrieve(j).get_annotations() for j in ids["jobs"]]
    assert all(any(t.id == got[ids["car"]].id for t in v.tracks) for v in views)
    car2 = next(t for t in views[1].tracks if t.label_id == ids["car"])
    assert car2.shapes[0].frame == 2 and car2.shapes[0].points == [2.0, 2.0, 12.0, 12.0]

    # Update the car track through the task: the shapes list is replaced.
    new = models.LabeledTrackRequest(**dict(got[ids["car"]].to_dict(), shapes=[
        kf(0, [1.0, 1.0, 5.0, 5.0]).to_dict(), kf(3, [1.0, 1.0, 5.0, 5.0], outside=True).to_dict()]))
    task.update_annotations(models.PatchedLabeledDataRequest(tracks=[new]))
    car = next(t for t in task.get_annotations().tracks if t.label_id == ids["car"])
    assert car.id == got[ids["car"]].id and [s.frame for s in car.shapes] == [0, 3]
    assert not any(t.label_id == ids["car"] for t in sdk.jobs.retrieve(ids["jobs"][3]).get_annotations().tracks)

    task.remove_annotations(ids=[car.id])
    assert [t.label_id for t in task.get_annotations().tracks] == [ids["body"]]


def test_task_and_jobs_stay_consistent_with_overlap(sdk, task, ids):
    task.set_annotations(models.LabeledDataRequest(
        shapes=[_shape(ids, "rectangle", frame=f) for f in range(10)],
        tags=[models.LabeledImageRequest(label_id=ids["person"], frame=f) for f in (3, 6)]))
    whole = task.get_annotations()
    jobs = [sdk.jobs.retrieve(j) for j in ids["jobs"]]
    for job in jobs:
        view = job.get_annotations()
        frames = range(job.start_frame, job.stop_frame + 1)
        assert [s.to_dict() for s in view.shapes] == [s.to_dict() for s in whole.shapes if s.frame in frames]
        assert [t.id for t in view.tags] == [t.id for t in whole.tags if t.frame in frames]
    # Overlap frame 3 belongs to jobs 1 and 2; change it through job 1, see it everywhere.
    s3 = next(s for s in jobs[0].get_annotations().shapes if s.frame == 3)
    jobs[0].update_annotations(models.PatchedLabeledDataRequest(shapes=[
        models.LabeledShapeRequest(**dict(s3.to_dict(), points=[7.0, 7.0, 9.0, 9.0]))]))
    for view in (task.get_annotations(), jobs[1].get_annotations()):
        assert next(s for s in view.shapes if s.id == s3.id).points == [7.0, 7.0, 9.0, 9.0]
    # Removing everything through job 2 (2..5) leaves the other frames.
    jobs[1].remove_annotations()
    assert sorted(s.frame for s in task.get_annotations().shapes) == [0, 1, 6, 7, 8, 9]
    assert [t.frame for t in task.get_annotations().tags] == [6]
    assert sorted(s.frame for s in jobs[0].get_annotations().shapes) == [0, 1]


def test_status_follows_jobs(sdk, task, ids):
    assert sdk.tasks.retrieve(task.id).status == "annotation"
    jobs = [sdk.jobs.retrieve(j) for j in ids["jobs"]]
    jobs[0].update(models.PatchedJobWriteRequest(stage="validation"))
    assert sdk.tasks.retrieve(task.id).status == "validation"
    for job in jobs:
        job.update(models.PatchedJobWriteRequest(stage="acceptance", state="completed"))
    assert sdk.tasks.retrieve(task.id).status == "completed"
    for job in jobs:
        job.update(models.PatchedJobWriteRequest(stage="annotation"))
    assert sdk.tasks.retrieve(task.id).status == "annotation"


SHAPES_PER_PATCH = 4000


def _patcher(url, key, task_id, label_id, worker, rounds, queue):
    http = requests.Session()
    http.headers["Authorization"] = f"Token {key}"
    created = []
    for i in range(rounds):
        # 4000 shapes a request: checking them inside the task lock takes longer than
        # touching updated_date after it, so the two workers really overlap (with 5 or
        # 400 shapes the store lock of that touch put them in lockstep: no test of the lock).
        body = {"shapes": [{"type": "rectangle", "label_id": label_id, "frame": (worker * 5 + i) % 10,
                            "points": [worker, i, worker + 10.0, i + 10.0]} for _ in range(SHAPES_PER_PATCH)]}
        r = http.patch(f"{url}/api/tasks/{task_id}/annotations/?action=create", json=body)
        if r.status_code != 200:
            queue.put(("error", r.status_code, r.text))
            return
        created.extend(s["id"] for s in r.json()["shapes"])
    queue.put(("ok", created))


def test_two_processes_patching_at_once_lose_nothing(stack, sdk, task, ids, admin_session):
    key = admin_session.headers["Authorization"].split()[1]
    queue = multiprocessing.get_context("spawn").Queue()
    ctx = multiprocessing.get_context("spawn")
    rounds = 4
    procs = [ctx.Process(target=_patcher, args=(stack.url, key, task.id, ids["car"], w, rounds, queue))
             for w in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(r[0] == "ok" for r in results), results
    created = results[0][1] + results[1][1]
    assert len(created) == len(set(created)) == 2 * rounds * SHAPES_PER_PATCH
    shapes = task.get_annotations().shapes
    assert sorted(s.id for s in shapes) == sorted(created)


def test_etags_hold_across_server_processes(stack, task, ids, admin_session):
    url = f"{stack.url}/api/tasks/{task.id}/annotations/"
    shape = {"type": "rectangle", "label_id": ids["car"], "frame": 0, "points": [1, 2, 3, 4]}
    for _ in range(6):                      # 2 gunicorn workers: reads and writes land on both
        r = admin_session.get(url)
        tag, count = r.headers["ETag"], len(r.json()["shapes"])
        assert admin_session.get(url, headers={"If-None-Match": tag}).status_code == 304
        r = admin_session.patch(url + "?action=create", json={"shapes": [shape]}, headers={"If-Match": tag})
        assert r.status_code == 200, r.text
        assert r.headers["ETag"] != tag
        stale = admin_session.patch(url + "?action=create", json={"shapes": [shape]}, headers={"If-Match": tag})
        assert stale.status_code == 412
        assert len(admin_session.get(url).json()["shapes"]) == count + 1
