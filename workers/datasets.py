"""Dataset export and annotation import as plain functions (the Celery tasks
in workers.dataset_tasks are thin wrappers; tests call these directly).

The formats themselves live in workers.formats and work on CVAT's API shapes;
this module builds that input from the store and stores what imports return.
"""
from __future__ import annotations

from pathlib import Path

from domain import annotations, exports, labels as label_ops, task_data
from domain.errors import Invalid, NotFound
from workers.formats import geometry, registry
from workers.formats.model import FormatError

_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/bmp": "bmp", "image/webp": "webp", "image/gif": "gif",
        "image/tiff": "tif"}


def _labels(store, task: dict) -> list[dict]:
    owner = {"project_id": task["project_id"]} if task.get("project_id") is not None else {"task_id": task["id"]}
    return [label_ops.as_api(store, l) for l in label_ops.owner_labels(store, top_level_only=True, **owner)]


def _frames(layout, task: dict, lo: int, hi: int, offset: int = 0, subset: str | None = None) -> list[dict]:
    deleted = set(task_data.deleted_frames(layout, task["id"]))
    meta = task_data.frames_meta(layout, task)
    frames = []
    for number in range(lo, hi + 1):
        if number in deleted or number >= len(meta):
            continue
        m = meta[number]
        frame = {"frame": number + offset, "name": m["name"], "width": m["width"], "height": m["height"]}
        if subset is not None:
            frame["subset"] = subset
        frames.append(frame)
    return frames


def _shift(data: dict, offset: int, keep: set) -> dict:
    """Annotations moved by `offset` frames, limited to frames in `keep` (tracks keep all their shapes)."""
    def moved(obj):
        out = dict(obj, frame=obj["frame"] + offset)
        if "elements" in obj:
            out["elements"] = [moved(e) for e in obj["elements"]]
        if "shapes" in obj:
            out["shapes"] = [dict(s, frame=s["frame"] + offset) for s in obj["shapes"]]
        return out
    return {
        "tags": [moved(t) for t in data["tags"] if t["frame"] in keep],
        "shapes": [moved(s) for s in data["shapes"] if s["frame"] in keep],
        "tracks": [moved(t) for t in data["tracks"]],
    }


def _require_data(task: dict) -> dict:
    if not task.get("data"):
        raise Invalid(f"Task {task['id']} has no data to export.")
    return task["data"]


def task_dataset(store, layout, task: dict, job: dict | None = None) -> dict:
    data = _require_data(task)
    lo, hi = (job["start_frame"], job["stop_frame"]) if job else (0, data["size"] - 1)
    scope = annotations.job_scope(store, job["id"]) if job else annotations.task_scope(store, task["id"])
    frames = _frames(layout, task, lo, hi)
    return {
        "labels": _labels(store, task),
        "frames": frames,
        "annotations": _shift(annotations.read_data(scope), 0, {f["frame"] for f in frames}),
        "video": data.get("media") == "video",
        "frame_step": data.get("step", 1),
        "stop_frame": hi,
        "meta": {"task": {"id": task["id"], "name": task["name"], "size": data["size"], "mode": data["mode"]}},
    }


def project_dataset(store, layout, project: dict) -> tuple[dict, dict]:
    """All tasks of the project with data, frames renumbered one after the other;
    returns the dataset and {global frame: (task, task frame)}."""
    tasks = [t for t in store.scan("tasks") if t.get("project_id") == project["id"] and t.get("data")]
    labels = [label_ops.as_api(store, l)
              for l in label_ops.owner_labels(store, project_id=project["id"], top_level_only=True)]
    frames, objects, where = [], {"tags": [], "shapes": [], "tracks": []}, {}
    offset = 0
    for task in tasks:
        size = task["data"]["size"]
        task_frames = _frames(layout, task, 0, size - 1, offset, task.get("subset") or "default")
        frames += task_frames
        part = _shift(annotations.read_data(annotations.task_scope(store, task["id"])), offset,
                      {f["frame"] - offset for f in task_frames})
        for key in objects:
            objects[key] += part[key]
        for f in task_frames:
            where[f["frame"]] = (task, f["frame"] - offset)
        offset += size
    dataset = {"labels": labels, "frames": frames, "annotations": objects, "video": False,
               "frame_step": 1, "stop_frame": max(offset - 1, 0),
               "meta": {"project": {"id": project["id"], "name": project["name"]}}}
    return dataset, where


def _image_source(layout, locate):
    def image_bytes(frame: dict):
        task, number = locate(frame["frame"])
        body, media_type = task_data.frame_bytes(layout, task, number, "original")
        return body, _EXT.get(media_type, "jpg")
    return image_bytes


def export(store, layout, settings, operation: dict, report) -> str:
    """Builds (or finds) the archive the request asks for; returns its key."""
    found = registry.exporter(operation["format"])
    if found is None:
        raise Invalid(f"Unknown export format '{operation['format']}'")
    _, write = found
    target = operation["target"]
    key = exports.dataset_key(store, layout, operation)
    if target == "project":
        project = store.peek("projects", operation["project_id"])
    else:
        task = store.peek("tasks", operation["task_id"])
        job = store.peek("jobs", operation["job_id"]) if target == "job" else None
    archives = exports.Archives(layout, settings.export_ttl)
    if archives.fresh(key):
        return key
    report(0.1, "Collecting annotations")
    if target == "project":
        dataset, where = project_dataset(store, layout, project)
        locate = where.__getitem__
    else:
        dataset = task_dataset(store, layout, task, job)
        locate = lambda number: (task, number)  # noqa: E731
    report(0.3, f"Writing {operation['format']}")
    tmp = archives.writing(key)
    try:
        write(dataset, tmp, save_images=operation["save_images"], image_bytes=_image_source(layout, locate))
    except FormatError as e:
        tmp.unlink(missing_ok=True)
        raise Invalid(str(e)) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    archives.commit(tmp, key)
    return key


def masks_to_polygons(payload: dict) -> dict:
    """CVAT's conv_mask_to_poly: every mask shape becomes one polygon per region."""
    def convert(shapes):
        out = []
        for shape in shapes:
            if shape.get("type") != "mask":
                out.append(shape)
                continue
            for polygon in geometry.mask_polygons(geometry.decode_cvat_mask(shape["points"])):
                out.append(dict(shape, type="polygon", points=polygon))
        return out
    result = dict(payload, shapes=convert(payload.get("shapes", [])))
    result["tracks"] = [dict(t, shapes=convert(t.get("shapes", []))) for t in payload.get("tracks", [])]
    return result


def import_annotations(store, layout, operation: dict, report) -> None:
    """Reads the uploaded file in the given format and replaces the task's (or
    job's) annotations with it: all or nothing."""
    found = registry.importer(operation["format"])
    if found is None:
        raise Invalid(f"Unknown import format '{operation['format']}'")
    _, read = found
    path = Path(operation["file"])
    try:
        task = store.peek("tasks", operation["task_id"])
        job = store.peek("jobs", operation["job_id"]) if operation.get("job_id") is not None else None
        if task is None or (operation.get("job_id") is not None and job is None):
            raise NotFound("The task or job no longer exists.")
        data = _require_data(task)
        lo, hi = (job["start_frame"], job["stop_frame"]) if job else (0, data["size"] - 1)
        report(0.1, f"Reading {operation['format']}")
        try:
            payload = read(path, _labels(store, task), _frames(layout, task, lo, hi),
                           video=data.get("media") == "video", frame_step=data.get("step", 1), stop=hi)
        except FormatError as e:
            raise Invalid(str(e)) from None
        if operation.get("conv_mask_to_poly", True):
            payload = masks_to_polygons(payload)
        report(0.7, "Saving annotations")
        scope = annotations.job_scope(store, job["id"]) if job else annotations.task_scope(store, task["id"])
        if operation.get("import_mode") == "append":
            annotations.patch(scope, "create", payload)
        else:
            annotations.put(scope, payload)
    finally:
        exports.drop_upload(path)
