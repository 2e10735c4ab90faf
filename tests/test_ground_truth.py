"""Ground-truth jobs through cvat-sdk: creation by each frame selection
method, the task's validation layout, separate annotations, deletion."""
from __future__ import annotations

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.api_client import exceptions
from PIL import Image

from tests.stack import ADMIN


@pytest.fixture(scope="module")
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


@pytest.fixture
def task(sdk, tmp_path):
    paths = []
    for i in range(6):
        p = tmp_path / f"g{i}.png"
        Image.new("RGB", (20, 20), (i * 40, 0, 0)).save(p)
        paths.append(p)
    return sdk.tasks.create_from_data(models.TaskWriteRequest(name="gt", labels=[{"name": "car"}], segment_size=3),
                                      resources=paths)


def _gt(sdk, task_id, **kw):
    return sdk.api_client.jobs_api.create(models.JobWriteRequest(type="ground_truth", task_id=task_id, **kw))[0]


def test_ground_truth_job_lifecycle(sdk, task):
    job = _gt(sdk, task.id, frame_selection_method="random_uniform", frame_count=3, random_seed=7)
    assert (job.type, job.start_frame, job.stop_frame, job.frame_count) == ("ground_truth", 0, 5, 3)
    task.fetch()
    assert task.validation_mode == "gt" and task.jobs.count == 3
    layout = sdk.api_client.tasks_api.retrieve_validation_layout(task.id)[0]
    frames = layout.validation_frames
    assert layout.mode.value == "gt" and len(frames) == 3 and frames == sorted(frames)
    assert sdk.jobs.retrieve(job.id).get_meta().included_frames == frames
    with pytest.raises(exceptions.ApiException) as second:
        _gt(sdk, task.id, frame_selection_method="manual", frames=[0])
    assert second.value.status == 400

    label = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", label_id=label, frame=0, points=[1.0, 1.0, 5.0, 5.0])]))
    gt = sdk.jobs.retrieve(job.id)
    gt.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="rectangle", label_id=label, frame=frames[0], points=[2.0, 2.0, 6.0, 6.0])]))
    assert len(gt.get_annotations().shapes) == 1
    assert [s.points for s in task.get_annotations().shapes] == [[1.0, 1.0, 5.0, 5.0]], "GT stays out of the task"

    annotation_job = next(j for j in task.get_jobs() if j.type == "annotation")
    with pytest.raises(exceptions.ApiException) as refused:
        sdk.api_client.jobs_api.destroy(annotation_job.id)
    assert refused.value.status == 400
    sdk.api_client.jobs_api.destroy(job.id)
    task.fetch()
    assert task.validation_mode is None and task.jobs.count == 2
    again = _gt(sdk, task.id, frame_selection_method="random_uniform", frame_count=3, random_seed=7)
    assert sdk.api_client.tasks_api.retrieve_validation_layout(task.id)[0].validation_frames == frames, \
        "the same seed picks the same frames"
    assert sdk.jobs.retrieve(again.id).get_annotations().shapes == [], "annotations went with the deleted job"


@pytest.mark.parametrize("kw,count", [({"frame_selection_method": "random_per_job", "frames_per_job_count": 2}, 4),
                                      ({"frame_selection_method": "manual", "frames": [5, 0, 3]}, 3),
                                      ({"frame_selection_method": "random_uniform", "frame_share": 0.5}, 3)])
def test_selection_methods(sdk, task, kw, count):
    assert _gt(sdk, task.id, **kw).frame_count == count


@pytest.mark.parametrize("kw", [{"frame_selection_method": "manual", "frames": [9]},
                                {"frame_selection_method": "random_uniform", "frame_count": 99},
                                {"frame_selection_method": "random_uniform"}])
def test_bad_ground_truth_requests(sdk, task, kw):
    with pytest.raises(exceptions.ApiException) as e:
        _gt(sdk, task.id, **kw)
    assert e.value.status == 400
    task.fetch()
    assert task.validation_mode is None and task.jobs.count == 2


def test_ground_truth_needs_data(sdk):
    bare = sdk.tasks.create(models.TaskWriteRequest(name="bare", labels=[{"name": "a"}]))
    with pytest.raises(exceptions.ApiException) as e:
        _gt(sdk, bare.id, frame_selection_method="manual", frames=[0])
    assert e.value.status == 400
    assert sdk.api_client.tasks_api.retrieve_validation_layout(bare.id)[0].mode is None
