"""Dataset export and annotation import end to end through cvat-sdk and cvat-cli."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction
from PIL import Image

from tests.stack import ADMIN

CLI = str(Path(sys.executable).parent / "cvat-cli")


@pytest.fixture(scope="module")
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


def _images(folder: Path, n=4, size=(64, 48)) -> list[Path]:
    folder.mkdir(exist_ok=True)
    out = []
    for i in range(n):
        path = folder / f"frame_{i:02d}.png"
        Image.new("RGB", size, (i * 50 % 255, 80, 160)).save(path)
        out.append(path)
    return out


def _rect(label_id, frame, x=4.0, attrs=()):
    return {"type": "rectangle", "label_id": label_id, "frame": frame, "points": [x, 5.0, x + 20.0, 30.0],
            "attributes": list(attrs)}


@pytest.fixture
def annotated(sdk, tmp_path):
    task = sdk.tasks.create_from_data(
        models.TaskWriteRequest(name="ds task", labels=[{"name": "car"}, {"name": "person"}], segment_size=2),
        resources=_images(tmp_path / "imgs"))
    labels = {l.name: l.id for l in task.get_labels()}
    task.set_annotations(models.LabeledDataRequest(shapes=[
        models.LabeledShapeRequest(**_rect(labels["car"], 0)),
        models.LabeledShapeRequest(**_rect(labels["person"], 1, x=10.0)),
        models.LabeledShapeRequest(type="polygon", label_id=labels["car"], frame=3,
                                   points=[1.0, 1.0, 30.0, 2.0, 15.0, 25.0]),
    ], tags=[models.LabeledImageRequest(label_id=labels["person"], frame=2)]))
    return task, labels


def _shape_summary(data):
    return sorted((s.type.value, s.frame, [round(p, 1) for p in s.points]) for s in data.shapes)


def test_formats_listing_matches_registry(sdk):
    formats = sdk.api_client.server_api.retrieve_annotation_formats()[0]
    exporters = {f.name for f in formats.exporters}
    importers = {f.name for f in formats.importers}
    assert {"CVAT for images 1.1", "COCO 1.0", "YOLO 1.1", "Datumaro 1.0"} <= exporters
    assert {"CVAT 1.1", "COCO 1.0"} <= importers and "CVAT for images 1.1" not in importers
    assert all(f.dimension == "2d" and f.enabled for f in formats.exporters)


@pytest.mark.parametrize("export_format,import_format", [("COCO 1.0", "COCO 1.0"),
                                                          ("CVAT for images 1.1", "CVAT 1.1")])
def test_export_then_import_round_trip(sdk, annotated, tmp_path, export_format, import_format):
    task, labels = annotated
    before = task.get_annotations()
    archive = tmp_path / "export.zip"
    task.export_dataset(export_format, archive, include_images=False)
    with zipfile.ZipFile(archive) as z:
        names = z.namelist()
    if export_format == "COCO 1.0":
        assert "annotations/instances_default.json" in names
        with zipfile.ZipFile(archive) as z:
            coco = json.loads(z.read("annotations/instances_default.json"))
        assert {c["name"] for c in coco["categories"]} == {"car", "person"}
        assert len(coco["images"]) == 4 and len(coco["annotations"]) == 3
    else:
        assert "annotations.xml" in names
    task.remove_annotations()
    assert task.get_annotations().shapes == []
    task.import_annotations(import_format, archive)
    after = task.get_annotations()
    assert _shape_summary(after) == _shape_summary(before)


def test_export_with_images_and_reuse(sdk, annotated, tmp_path, stack):
    task, labels = annotated
    first = tmp_path / "a.zip"
    task.export_dataset("Datumaro 1.0", first, include_images=True)
    with zipfile.ZipFile(first) as z:
        images = [n for n in z.namelist() if n.startswith("images/") and not n.endswith("/")]
    assert len(images) == 4
    archives = sorted((stack.storage / "exports").glob("*.zip"))
    task.export_dataset("Datumaro 1.0", tmp_path / "b.zip", include_images=True)
    assert sorted((stack.storage / "exports").glob("*.zip")) == archives, "unchanged task: archive reused"
    task.update_annotations(models.PatchedLabeledDataRequest(shapes=[
        models.LabeledShapeRequest(**_rect(labels["car"], 2))]), action=AnnotationUpdateAction.CREATE)
    task.export_dataset("Datumaro 1.0", tmp_path / "c.zip", include_images=True)
    assert len(sorted((stack.storage / "exports").glob("*.zip"))) == len(archives) + 1


def test_job_and_project_export(sdk, tmp_path):
    project = sdk.projects.create(models.ProjectWriteRequest(name="ds project", labels=[{"name": "car"}]))
    task = sdk.tasks.create_from_data(models.TaskWriteRequest(name="in project", project_id=project.id,
                                                              segment_size=2, subset="train"),
                                      resources=_images(tmp_path / "p"))
    label = task.get_labels()[0].id
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(**_rect(label, f))
                                                           for f in range(4)]))
    job = task.get_jobs()[1]
    job_zip = tmp_path / "job.zip"
    sdk.jobs.retrieve(job.id).export_dataset("COCO 1.0", job_zip, include_images=False)
    with zipfile.ZipFile(job_zip) as z:
        coco = json.loads(z.read("annotations/instances_default.json"))
    assert len(coco["images"]) == 2 and len(coco["annotations"]) == 2
    project_zip = tmp_path / "project.zip"
    project.export_dataset("COCO 1.0", project_zip, include_images=False)
    with zipfile.ZipFile(project_zip) as z:
        assert "annotations/instances_train.json" in z.namelist()


def test_failed_import_leaves_annotations(sdk, annotated, tmp_path, stack):
    task, labels = annotated
    before = _shape_summary(task.get_annotations())
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip file")
    with pytest.raises(Exception):
        task.import_annotations("COCO 1.0", garbage)
    unknown = tmp_path / "unknown.json"
    unknown.write_text(json.dumps({"images": [{"id": 1, "file_name": "frame_00.png", "width": 64, "height": 48}],
                                   "categories": [{"id": 1, "name": "tree"}],
                                   "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [1, 1, 5, 5],
                                                    "area": 25, "iscrowd": 0, "segmentation": []}]}))
    with pytest.raises(Exception) as failure:
        task.import_annotations("COCO 1.0", unknown)
    assert "tree" in str(failure.value)
    assert _shape_summary(task.get_annotations()) == before


def test_unknown_formats_are_400(stack, admin_session, annotated):
    task, _ = annotated
    r = admin_session.post(f"{stack.url}/api/tasks/{task.id}/dataset/export?format=Nope+1.0")
    assert r.status_code == 400
    r = admin_session.post(f"{stack.url}/api/tasks/{task.id}/annotations/?format=CVAT+for+images+1.1",
                           files={"annotation_file": ("a.xml", b"<x/>")})
    assert r.status_code == 400
    assert admin_session.get(f"{stack.url}/api/tasks/{task.id}/dataset").status_code == 410


def test_cli_export_and_import(stack, annotated, tmp_path):
    task, _ = annotated
    env = {**os.environ, "HOME": str(tmp_path), "PASS": ADMIN[1]}
    base = [CLI, "--server-host", stack.url, "--auth", ADMIN[0]]
    out = subprocess.run(base + ["task", "export-dataset", str(task.id), "--format", "CVAT for images 1.1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    (archive,) = list(tmp_path.glob("*.zip"))
    assert archive.name.startswith(f"task_{task.id}_annotations_")
    task.remove_annotations()
    out = subprocess.run(base + ["task", "import-dataset", str(task.id), str(archive), "--format", "CVAT 1.1"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert len(task.get_annotations().shapes) == 3


@pytest.mark.parametrize("fmt,import_fmt", [("Datumaro 1.0", "Datumaro 1.0"), ("COCO 1.0", "COCO 1.0"),
                                            ("CVAT for images 1.1", "CVAT 1.1")])
def test_project_create_from_dataset(sdk, tmp_path, fmt, import_fmt):
    project = sdk.projects.create(models.ProjectWriteRequest(name="source", labels=[{"name": "car"}]))
    for subset in ("train", "val"):
        task = sdk.tasks.create_from_data(
            models.TaskWriteRequest(name=subset, project_id=project.id, subset=subset),
            resources=_images(tmp_path / subset, n=2 if subset == "val" else 3))
        label = task.get_labels()[0].id
        task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(**_rect(label, f))
                                                               for f in range(task.size)]))
    # the two subsets hold files of the same names in different folders: make them unique
    archive = tmp_path / "dataset.zip"
    project.export_dataset(fmt, archive, include_images=True)
    created = sdk.projects.create_from_dataset(models.ProjectWriteRequest(name="copy", labels=[{"name": "car"}]),
                                               dataset_path=str(archive), dataset_format=import_fmt)
    tasks = created.get_tasks()
    assert sum(t.size for t in tasks) == 5
    assert sum(len(t.get_annotations().shapes) for t in tasks) == 5


def test_masks_kept_or_converted_as_the_format_says(sdk, annotated, tmp_path):
    """conv_mask_to_poly applies to the formats CVAT converts (VOC, LabelMe, …), not to COCO."""
    task, labels = annotated
    mask = [0.0, 4.0, 2.0, 2.0, 8.0, 10.0, 11.0, 11.0]   # CVAT RLE: runs, then left, top, right, bottom
    task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
        type="mask", label_id=labels["car"], frame=0, points=mask)]))
    coco = tmp_path / "coco.zip"
    task.export_dataset("COCO 1.0", coco, include_images=False)
    task.import_annotations("COCO 1.0", coco)
    assert [s.type.value for s in task.get_annotations().shapes] == ["mask"]
    labelme = tmp_path / "labelme.zip"
    task.export_dataset("LabelMe 3.0", labelme, include_images=False)
    task.import_annotations("LabelMe 3.0", labelme)
    assert {s.type.value for s in task.get_annotations().shapes} == {"polygon"}
