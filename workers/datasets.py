"""Dataset export and annotation import as plain functions (the Celery tasks
in workers.dataset_tasks are thin wrappers; tests call these directly).

The formats themselves live in workers.formats and work on CVAT's API shapes;
this module builds that input from the store and stores what imports return.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from domain import annotations, exports, labels as label_ops, task_data, tasks
from domain.errors import Invalid, NotFound
from workers.formats import registry
from workers.formats.model import FormatError

_EXT = {"image/jpeg": "jpg", "image/png": "png", "image/bmp": "bmp", "image/webp": "webp", "image/gif": "gif",
        "image/tiff": "tif"}


def _labels(store, task: dict) -> list[dict]:
    owner = {"project_id": task["project_id"]} if task.get("project_id") is not None else {"task_id": task["id"]}
    return [label_ops.as_api(store, l) for l in label_ops.owner_labels(store, top_level_only=True, **owner)]


def _frames(layout, task: dict, lo: int, hi: int, offset: int = 0, subset: str | None = None) -> list[dict]:
    deleted = set(task_data.deleted_frames(layout, task["id"]))
    meta = task_data.frames_meta(layout, task)
    data = task.get("data") or {}
    start, step = data.get("start_frame", 0), data.get("step", 1)  # source frame numbers (video names)
    frames = []
    for number in range(lo, hi + 1):
        if number in deleted or number >= len(meta):
            continue
        m = meta[number]
        frame = {"frame": number + offset, "name": m["name"], "width": m["width"], "height": m["height"],
                 "abs_frame": start + number * step}
        if subset is not None:
            frame["subset"] = subset
        frames.append(frame)
    return frames


def _shift(data: dict, offset: int, keep: set) -> dict:
    """Annotations moved by `offset` frames, limited to frames in `keep` (tracks keep all their shapes).
    Objects are copied only when they move: a task export passes them through."""
    if offset == 0:
        return {"tags": [t for t in data["tags"] if t["frame"] in keep],
                "shapes": [s for s in data["shapes"] if s["frame"] in keep],
                "tracks": data["tracks"]}

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
    used: dict[str, set] = {}
    for task in tasks:
        size = task["data"]["size"]
        subset = task.get("subset") or "default"
        task_frames = _frames(layout, task, 0, size - 1, offset, subset)
        names = used.setdefault(subset, set())
        for f in task_frames:
            f["task_id"] = task["id"]
            f["name"] = _unique(f["name"], names)
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
               "meta": {"kind": "project", "project": {"id": project["id"], "name": project["name"]}}}
    return dataset, where


def _unique(name: str, used: set) -> str:
    """CVAT renames duplicate paths inside a subset of a project export: name_1.ext, name_2.ext …"""
    candidate, n = name, 0
    stem, ext = os.path.splitext(name)
    while candidate in used:
        n += 1
        candidate = f"{stem}_{n}{ext}"
    used.add(candidate)
    return candidate


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
                           video=data.get("media") == "video", frame_step=data.get("step", 1), stop=hi,
                           conv_mask_to_poly=operation.get("conv_mask_to_poly", True))
        except FormatError as e:
            raise Invalid(str(e)) from None
        report(0.7, "Saving annotations")
        scope = annotations.job_scope(store, job["id"]) if job else annotations.task_scope(store, task["id"])
        if operation.get("import_mode") == "append":
            annotations.patch(scope, "create", payload)
        else:
            annotations.put(scope, payload)
    finally:
        exports.drop_upload(path)


# -- project dataset import: tasks with their images, then their annotations ----------------
def _subset_and_name(rel: PurePosixPath) -> tuple[str, str]:
    """CVAT's dataset layouts keep media under images/<subset>/… (Datumaro, COCO) or
    images/… ; anything else counts as subset "default" with its path as the name."""
    parts = rel.parts
    if "images" in parts[:-1]:
        i = parts.index("images")
        rest = parts[i + 1:]
        if len(rest) > 1:
            return rest[0], "/".join(rest[1:])
        return "default", "/".join(rest)
    return "default", "/".join(parts)


def _split(payload: dict, ranges: list[tuple[int, int]]) -> list[dict]:
    """LabeledData over the combined frames → one LabeledData per task (local frames)."""
    out = [{"tags": [], "shapes": [], "tracks": []} for _ in ranges]

    def which(frame):
        for k, (lo, hi) in enumerate(ranges):
            if lo <= frame <= hi:
                return k, lo
        raise Invalid(f"Frame {frame} of the imported annotations belongs to no task")

    def local(obj, lo):
        moved = dict(obj, frame=obj["frame"] - lo)
        if "elements" in obj:
            moved["elements"] = [local(e, lo) for e in obj["elements"]]
        if "shapes" in obj:
            moved["shapes"] = [dict(s, frame=s["frame"] - lo) for s in obj["shapes"]]
        return moved
    for kind in ("tags", "shapes", "tracks"):
        for obj in payload.get(kind, []):
            k, lo = which(obj["frame"])
            out[k][kind].append(local(obj, lo))
    return out


def import_project_dataset(store, layout, settings, owner: dict, operation: dict, report) -> None:
    """Creates one task per subset of the uploaded dataset, with its images, and
    imports the annotations into them. Any failure removes the tasks created."""
    from workers import safe_archive
    from workers.data_tasks import limits
    from workers.media import build, images as image_media

    found = registry.importer(operation["format"])
    if found is None:
        raise Invalid(f"Unknown import format '{operation['format']}'")
    _, read = found
    archive = Path(operation["file"])
    project = store.peek("projects", operation["project_id"])
    if project is None:
        raise NotFound("The project no longer exists.")
    root = archive.parent / "extracted"
    created = []
    try:
        try:
            safe_archive.extract(archive, root, max_members=settings.archive_max_members,
                                 max_bytes=settings.archive_max_bytes, label=archive.name)
        except safe_archive.ArchiveError as e:
            raise Invalid(str(e)) from None
        subsets: dict[str, list[tuple[str, Path]]] = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file() and image_media.is_image(p.name)):
            subset, name = _subset_and_name(PurePosixPath(path.relative_to(root).as_posix()))
            subsets.setdefault(subset, []).append((name, path))
        if not subsets:
            raise Invalid("The dataset holds no images: export it with images (save_images) to create tasks from it")
        combined, ranges, offset = [], [], 0
        for k, (subset, members) in enumerate(sorted(subsets.items())):
            report(0.1 + 0.5 * k / len(subsets), f"Creating the task for subset '{subset}'")
            task = tasks.create_task(store, owner, {"name": subset, "project_id": project["id"],
                                                    "subset": "" if subset == "default" else subset},
                                     lambda p: True)
            created.append(task)
            files = task_data.TaskFiles(layout, task["id"])
            names = []
            for name, path in members:
                target = files.upload / name
                target.parent.mkdir(parents=True, exist_ok=True)
                os.replace(path, target)
                names.append(name)
            task_data.write_json(files.upload_order, names)
            task_data.write_json(files.pending, {**task_data.data_request.parse({"image_quality": 70}),
                                                 "client_files": names})
            build.build(store, layout, settings, task["id"], lambda progress=None, message=None: None,
                        limits(settings))
            task = store.peek("tasks", task["id"])
            size = task["data"]["size"]
            combined += _frames(layout, task, 0, size - 1, offset)
            ranges.append((offset, offset + size - 1))
            offset += size
        report(0.7, f"Reading {operation['format']}")
        labels = [label_ops.as_api(store, l)
                  for l in label_ops.owner_labels(store, project_id=project["id"], top_level_only=True)]
        try:
            payload = read(root, labels, combined, video=False, frame_step=1, stop=offset - 1,
                           conv_mask_to_poly=operation.get("conv_mask_to_poly", True))
        except FormatError as e:
            raise Invalid(str(e)) from None
        for task, part in zip(created, _split(payload, ranges)):
            annotations.put(annotations.task_scope(store, task["id"]), part)
    except BaseException:
        for task in created:
            try:
                tasks.delete_task(store, layout, task["id"])
            except NotFound:
                pass
        raise
    finally:
        exports.drop_upload(archive)
