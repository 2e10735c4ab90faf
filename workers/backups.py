"""Task and project backups in CVAT's archive layout, as plain functions (the
Celery tasks in workers.backup_tasks are thin wrappers).

A task backup holds task.json (definition, data settings, jobs), one
annotations.json entry per job (label and attribute names instead of ids),
and data/ with the task's original media plus data/manifest.jsonl. A project
backup holds project.json and one task_<k>/ folder per task with data.
Restoring creates everything anew for the restoring user; any problem removes
what was created, so a bad archive leaves nothing behind.
"""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import orjson

from domain import annotations, exports, jobs as job_ops, labels as label_ops, projects, task_data, tasks
from domain.errors import Invalid, NotFound
from domain.task_data import TaskFiles, write_json
from workers import backup_media, safe_archive, zip_out
from workers.media import build
from workers.media.images import MediaError

VERSION = "1.0"
_STATUS_TO_JOB = {"annotation": ("annotation", "new"), "validation": ("validation", "new"),
                  "completed": ("acceptance", "completed")}
_OBJECT_KEYS = ("type", "occluded", "outside", "z_order", "points", "rotation", "frame", "group", "source",
                "keyframe")


class BackupError(Invalid):
    """A backup that cannot be restored; the message says why."""

    def __init__(self, message: str):
        super().__init__(message)


# -- labels ---------------------------------------------------------------------------------
def _label_entry(store, label: dict) -> dict:
    def attrs(doc):
        return [{"name": a["name"], "mutable": a["mutable"], "input_type": a["input_type"],
                 "default_value": a["default_value"], "values": a["values"]} for a in doc["attributes"]]
    subs = label_ops.sublabels_of(store, label["id"])
    entry = {"name": label["name"], "color": label["color"], "type": label["type"], "attributes": attrs(label),
             "sublabels": [{"name": s["name"], "color": s["color"], "type": s["type"], "attributes": attrs(s)}
                           for s in subs]}
    if label["type"] == "skeleton":
        svg = label.get("svg") or ""
        for sub in subs:
            svg = svg.replace(f'data-label-id="{sub["id"]}"', f'data-label-name="{sub["name"]}"')
        entry["svg"] = svg
    return entry


def _label_specs(entries) -> list[dict]:
    """task.json / project.json labels → label specs for domain.labels (validated there)."""
    if not isinstance(entries, list):
        raise BackupError("The backup's labels must be a list")
    specs = []
    for e in entries:
        if not isinstance(e, dict) or not isinstance(e.get("name"), str):
            raise BackupError("Every label in the backup needs a name")
        spec = {k: e[k] for k in ("name", "color", "type", "svg") if e.get(k) is not None}
        spec["attributes"] = [_attribute_spec(a) for a in e.get("attributes") or []]
        spec["sublabels"] = [{"name": s["name"], "color": s.get("color"), "type": s.get("type") or "points",
                              "attributes": [_attribute_spec(a) for a in s.get("attributes") or []]}
                             for s in e.get("sublabels") or []]
        specs.append(spec)
    return specs


def _attribute_spec(a) -> dict:
    if not isinstance(a, dict) or not {"name", "input_type"} <= set(a):
        raise BackupError("Every attribute in the backup needs a name and an input_type")
    return {"name": a["name"], "mutable": bool(a.get("mutable", False)), "input_type": a["input_type"],
            "values": [str(v) for v in a.get("values") or []], "default_value": a.get("default_value")}


class _LabelNames:
    """Label and attribute names ↔ ids for one task's labels."""

    def __init__(self, store, task: dict):
        owner = {"project_id": task["project_id"]} if task.get("project_id") is not None else {"task_id": task["id"]}
        self.labels = {l["id"]: l for l in label_ops.owner_labels(store, **owner)}
        self.top = {l["name"]: l for l in self.labels.values() if l.get("parent_id") is None}
        self.subs = {(l["parent_id"], l["name"]): l for l in self.labels.values() if l.get("parent_id") is not None}
        # per label, built once: 50,000 shapes each rebuilt them (a fifth of the conversion)
        self.attr_names = {i: {a["id"]: a["name"] for a in l["attributes"]} for i, l in self.labels.items()}
        self.attr_ids = {i: {a["name"]: a["id"] for a in l["attributes"]} for i, l in self.labels.items()}

    def to_names(self, obj: dict) -> dict:
        label = self.labels[obj["label_id"]]
        spec = self.attr_names[label["id"]]
        out = {k: obj[k] for k in _OBJECT_KEYS if k in obj}
        out["label"] = label["name"]
        out["attributes"] = [{"name": spec[a["spec_id"]], "value": a["value"]}
                             for a in obj.get("attributes", []) if a["spec_id"] in spec]
        if "shapes" in obj:
            out["shapes"] = [self._shape_names(s, spec) for s in obj["shapes"]]
        if "elements" in obj:
            out["elements"] = [self.to_names(e) for e in obj["elements"]]
        return out

    @staticmethod
    def _shape_names(shape: dict, spec: dict) -> dict:
        out = {k: shape[k] for k in _OBJECT_KEYS if k in shape}
        out["attributes"] = [{"name": spec[a["spec_id"]], "value": a["value"]}
                             for a in shape.get("attributes", []) if a["spec_id"] in spec]
        return out

    def to_ids(self, obj: dict, parent: dict | None = None) -> dict:
        name = obj.get("label")
        label = self.subs.get((parent["id"], name)) if parent else self.top.get(name)
        if label is None:
            raise BackupError(f"annotations.json uses the label '{name}' that task.json does not define")
        spec = self.attr_ids[label["id"]]
        out = {k: obj[k] for k in _OBJECT_KEYS if k in obj}
        out["label_id"] = label["id"]
        out["attributes"] = self._attr_ids(obj, spec, name)
        if "shapes" in obj:
            out["shapes"] = [dict({k: s[k] for k in _OBJECT_KEYS if k in s},
                                  attributes=self._attr_ids(s, spec, name)) for s in obj["shapes"]]
        if "elements" in obj:
            out["elements"] = [self.to_ids(e, label) for e in obj["elements"]]
        return out

    @staticmethod
    def _attr_ids(obj: dict, spec: dict, label: str) -> list[dict]:
        out = []
        for a in obj.get("attributes") or []:
            if a.get("name") not in spec:
                raise BackupError(f"annotations.json uses the attribute '{a.get('name')}' unknown to label '{label}'")
            out.append({"spec_id": spec[a["name"]], "value": str(a.get("value", ""))})
        return out


# -- export -----------------------------------------------------------------------------------
def _job_status(job: dict) -> str:
    return tasks.job_status(job)


def write_task(store, layout, task: dict, zf, prefix: str = "") -> None:
    """Adds one task's backup (task.json, annotations.json, data/) to a
    workers.zip_out writer."""
    data = task.get("data")
    if not data:
        raise Invalid(f"Task {task['id']} has no data; only tasks with data can be backed up.")
    jobs = sorted((j for j in store.scan("jobs") if j["task_id"] == task["id"]), key=lambda j: j["id"])
    names = _LabelNames(store, task)
    frames = task_data.frames_meta(layout, task)
    video_path = Path(data["video_path"]) if data.get("media") == "video" else None
    task_json = {
        "name": task["name"], "bug_tracker": task.get("bug_tracker", ""), "status": tasks.task_status(jobs),
        "subset": task.get("subset", ""),
        "labels": [] if task.get("project_id") is not None else
        [_label_entry(store, l) for l in names.labels.values() if l.get("parent_id") is None],
        "version": VERSION,
        "data": {"chunk_size": data["chunk_size"], "image_quality": data["image_quality"],
                 # Images keep only the selected frames, so the restored range is all of them.
                 "start_frame": data["start_frame"] if video_path else 0,
                 "stop_frame": data["stop_frame"] if video_path else data["size"] - 1,
                 "chunk_type": data["compressed_chunk_type"], "storage_method": data.get("storage_method", "cache"),
                 "storage": "local", "sorting_method": data.get("sorting_method", "lexicographical"),
                 "deleted_frames": task_data.deleted_frames(layout, task["id"])},
        "jobs": [{"start_frame": j["start_frame"], "stop_frame": j["stop_frame"], "status": _job_status(j),
                  "type": j.get("type", "annotation")} for j in jobs],
    }
    if video_path and data.get("frame_filter"):
        task_json["data"]["frame_filter"] = data["frame_filter"]
    zf.writestr(prefix + "task.json", orjson.dumps(task_json))
    per_job = []
    for job in jobs:
        view = annotations.read_data(annotations.job_scope(store, job["id"]))
        per_job.append({"version": 0, **{kind: [names.to_names(o) for o in view[kind]]
                                         for kind in ("tags", "shapes", "tracks")}})
    zf.writestr(prefix + "annotations.json", orjson.dumps(per_job))
    backup_media.write(zf, prefix, layout, task, frames)


def export_task(store, layout, task_id: int, zf) -> None:
    task = store.peek("tasks", task_id)
    if task is None:
        raise NotFound("The task no longer exists.")
    write_task(store, layout, task, zf)


def export_project(store, layout, project_id: int, zf) -> None:
    project = store.peek("projects", project_id)
    if project is None:
        raise NotFound("The project no longer exists.")
    project_tasks = [t for t in store.scan("tasks") if t.get("project_id") == project_id and t.get("data")]
    labels = [l for l in label_ops.owner_labels(store, project_id=project_id, top_level_only=True)]
    zf.writestr("project.json", orjson.dumps({
        "name": project["name"], "bug_tracker": project.get("bug_tracker", ""),
        "status": tasks.project_status(store, project_id),
        "labels": [_label_entry(store, l) for l in labels], "version": VERSION}))
    for k, task in enumerate(project_tasks):
        write_task(store, layout, task, zf, prefix=f"task_{k}/")


# -- restore ---------------------------------------------------------------------------------
class _Folder:
    """One task's members in an opened backup ('' or 'task_<k>/'), by their
    safe relative paths. Nothing is unpacked: members are read in place."""

    def __init__(self, zf: zipfile.ZipFile, prefix: str = ""):
        self.zf = zf
        self.members: dict[str, zipfile.ZipInfo] = {}
        for info in zf.infolist():
            rel = str(safe_archive.safe_member_path(info.filename))
            if info.is_dir() or not rel.startswith(prefix):
                continue
            if rel[len(prefix):] in self.members:
                raise BackupError(f"The backup holds {rel} twice")
            self.members[rel[len(prefix):]] = info

    def info(self, rel: str) -> zipfile.ZipInfo | None:
        return self.members.get(rel)

    def read(self, rel: str) -> bytes:
        return self.zf.read(self.members[rel])

    def open(self, rel: str):
        return self.zf.open(self.members[rel])

    def json(self, rel: str):
        if rel not in self.members:
            raise BackupError(f"The backup has no {rel}")
        try:
            return orjson.loads(self.read(rel))
        except orjson.JSONDecodeError:
            raise BackupError(f"{rel} in the backup is not valid JSON") from None
        except zipfile.BadZipFile as e:
            raise BackupError(f"{rel} in the backup is damaged ({e})") from None


def _data_files(folder: _Folder) -> tuple[list[str], bytes | None]:
    """Media names under data/ (relative, sorted) and the manifest's bytes."""
    files = sorted(rel[5:] for rel in folder.members
                   if rel.startswith("data/") and rel[5:] not in ("manifest.jsonl", "index.json"))
    if not files:
        raise BackupError("The backup has no data/ folder with media")
    return files, folder.read("data/manifest.jsonl") if folder.info("data/manifest.jsonl") else None


def _check_task_json(meta) -> dict:
    if not isinstance(meta, dict):
        raise BackupError("task.json must be a JSON object")
    if meta.get("version") != VERSION:
        raise BackupError(f"Unsupported backup version {meta.get('version')!r} (expected \"1.0\")")
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        raise BackupError("task.json has no task name")
    if not isinstance(meta.get("data"), dict):
        raise BackupError("task.json has no data section")
    jobs = meta.get("jobs")
    if not isinstance(jobs, list) or not jobs or not all(
            isinstance(j, dict) and isinstance(j.get("start_frame"), int) and isinstance(j.get("stop_frame"), int)
            for j in jobs):
        raise BackupError("task.json must list the task's jobs with start_frame and stop_frame")
    return meta


def _segmenting(jobs: list[dict]) -> tuple[int, int]:
    """segment_size and overlap as CVAT derives them from the stored jobs."""
    work = [j for j in jobs if j.get("type", "annotation") == "annotation"] or jobs
    seg = work[0]["stop_frame"] - work[0]["start_frame"] + 1
    overlap = work[0]["stop_frame"] - work[1]["start_frame"] + 1 if len(work) > 1 else 0
    return seg, max(0, overlap)


def restore_task(store, layout, settings, owner: dict, folder: _Folder, report, project_id=None,
                 org_id=None) -> dict:
    """Creates a task from one task's members of a backup; returns the task."""
    meta = _check_task_json(folder.json("task.json"))
    per_job = folder.json("annotations.json")
    if not isinstance(per_job, list) or len(per_job) != len(meta["jobs"]):
        raise BackupError("annotations.json must hold one entry per job listed in task.json")
    media, manifest = _data_files(folder)
    seg, overlap = _segmenting(meta["jobs"])
    spec = {"name": meta["name"], "bug_tracker": meta.get("bug_tracker") or "", "subset": meta.get("subset") or "",
            "segment_size": seg, "overlap": overlap, "project_id": project_id}
    if project_id is None:
        spec["labels"] = _label_specs(meta.get("labels") or [])
    org = {"id": org_id} if org_id is not None and project_id is None else None
    task = tasks.create_task(store, owner, spec, lambda p: True, org)
    try:
        _restore_data(store, layout, settings, task, meta, folder, media, manifest, report)
        task = store.peek("tasks", task["id"])
        _restore_jobs_and_annotations(store, task, meta, per_job)
        return store.peek("tasks", task["id"])
    except BaseException:
        try:
            tasks.delete_task(store, layout, task["id"])
        except NotFound:
            pass
        raise


def _data_params(meta: dict, media: list[str], manifest: bytes | None) -> dict:
    """The data request a restore builds with: the stored settings, and the
    manifest's order where the task's order was not a plain sort."""
    d = meta["data"]
    ordered = media
    sorting = d.get("sorting_method") or "lexicographical"
    if manifest is not None and sorting in ("predefined", "random"):
        known = set(media)
        try:
            listed = [n for n in build.manifest_names(manifest, "data/manifest.jsonl") if n in known]
        except MediaError as e:
            raise BackupError(str(e)) from None
        ordered = listed + [n for n in media if n not in set(listed)]
        sorting = "predefined"
    body = {"image_quality": d.get("image_quality", 70), "chunk_size": d.get("chunk_size"),
            "start_frame": d.get("start_frame", 0), "stop_frame": d.get("stop_frame"),
            "frame_filter": d.get("frame_filter") or "", "sorting_method": sorting,
            "use_zip_chunks": d.get("chunk_type") == "imageset",
            "storage_method": d.get("storage_method") if d.get("storage_method") in ("cache", "file_system")
            else "file_system",
            "upload_file_order": ordered if sorting == "predefined" else None}
    try:
        params = task_data.data_request.parse(body)
    except Invalid as e:
        raise BackupError(f"task.json has invalid data settings: {e.detail}") from None
    return {**params, "client_files": ordered}


def _restore_data(store, layout, settings, task, meta, folder: _Folder, media, manifest, report) -> None:
    params = _data_params(meta, media, manifest)
    files = TaskFiles(layout, task["id"])
    files.root.mkdir(parents=True, exist_ok=True)
    def media_report(progress=None, message=None):
        report(0.1 + 0.7 * (progress or 0), message)

    summary = backup_media.adopt(folder, files, params, params["client_files"], build.Progress(media_report))
    if summary is not None:
        build.commit_build(store, files, params, summary, media_report)
    else:
        files.upload.mkdir(parents=True, exist_ok=True)
        backup_media.extract_data(folder, params["client_files"], files.upload)
        write_json(files.upload_order, params["client_files"])
        write_json(files.pending, params)
        from workers.data_tasks import limits
        build.build(store, layout, settings, task["id"], media_report, limits(settings))
    deleted = meta["data"].get("deleted_frames") or []
    if deleted:
        task_data.set_deleted_frames(store, layout, store.peek("tasks", task["id"]), deleted)


def _restore_jobs_and_annotations(store, task, meta, per_job) -> None:
    jobs = sorted((j for j in store.scan("jobs") if j["task_id"] == task["id"]), key=lambda j: j["id"])
    stored = [j for j in meta["jobs"] if j.get("type", "annotation") == "annotation"]
    if [(j["start_frame"], j["stop_frame"]) for j in jobs] != [(j["start_frame"], j["stop_frame"]) for j in stored]:
        raise BackupError("The jobs in task.json do not match the task's frames and segment size")
    names = _LabelNames(store, task)
    for job, saved, objects in zip(jobs, stored, per_job):
        if not isinstance(objects, dict):
            raise BackupError("Every annotations.json entry must be an object with tags, shapes and tracks")
        payload = {kind: [names.to_ids(o) for o in objects.get(kind) or []] for kind in ("tags", "shapes", "tracks")}
        if any(payload.values()):
            annotations.put(annotations.job_scope(store, job["id"]), payload)
        stage, state = _STATUS_TO_JOB.get(saved.get("status"), ("annotation", "new"))
        if (stage, state) != ("annotation", "new"):
            job_ops.update_job(store, job["id"], {"stage": stage, "state": state})


def _open(settings, archive: Path) -> zipfile.ZipFile:
    try:
        return safe_archive.open_zip(archive, max_members=settings.archive_max_members,
                                     max_bytes=settings.archive_max_bytes, label=archive.name)
    except safe_archive.ArchiveError as e:
        raise BackupError(str(e)) from None


def restore_task_archive(store, layout, settings, owner: dict, archive: Path, report, org_id=None) -> int:
    with _open(settings, archive) as zf:
        report(0.05, "Restoring the task")
        return restore_task(store, layout, settings, owner, _Folder(zf), report, org_id=org_id)["id"]


def restore_project_archive(store, layout, settings, owner: dict, archive: Path, report, org_id=None) -> int:
    with _open(settings, archive) as zf:
        meta = _Folder(zf).json("project.json")
        if not isinstance(meta, dict) or meta.get("version") != VERSION or not meta.get("name"):
            raise BackupError("project.json must be an object with a name and version \"1.0\"")
        org = {"id": org_id} if org_id is not None else None
        project = projects.create_project(store, owner, {"name": meta["name"], "bug_tracker": meta.get("bug_tracker"),
                                                         "labels": _label_specs(meta.get("labels") or [])}, org)
        try:
            numbers = sorted({int(top[5:]) for top in (str(safe_archive.safe_member_path(n)).split("/", 1)[0]
                                                        for n in zf.namelist())
                              if top.startswith("task_") and top[5:].isdigit()})
            for k, number in enumerate(numbers):
                report(0.05 + 0.9 * k / max(1, len(numbers)), f"Restoring task {k + 1} of {len(numbers)}")
                restore_task(store, layout, settings, owner, _Folder(zf, f"task_{number}/"),
                             lambda p=None, m=None: None, project_id=project["id"])
            return project["id"]
        except BaseException:
            projects.delete_project(store, layout, project["id"])
            raise



# -- what the backup requests run ------------------------------------------------------------
def export(store, layout, settings, operation: dict, report) -> str:
    """Builds (or finds) the backup archive the request asks for; returns its
    key. The archive is a plan over hard links when it can be (see
    workers.zip_out), else a written zip."""
    archives = exports.Archives(layout, settings.export_ttl)
    key = operation["key"]
    if archives.fresh(key):
        return key
    report(0.1, "Writing the backup")
    tmp = archives.writing(key)
    try:
        planned = zip_out.PlannedZip(tmp)
        _write_backup(store, layout, operation, planned)
        planned.close()
        archives.commit_plan(tmp, key, planned.write_plan)
        return key
    except zip_out.NotPlannable:
        shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    tmp = archives.writing(key)
    try:
        written = zip_out.WrittenZip(tmp)
        with written.zf:
            _write_backup(store, layout, operation, written)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    archives.commit(tmp, key)
    return key


def _write_backup(store, layout, operation: dict, out) -> None:
    if operation["target"] == "project":
        export_project(store, layout, operation["project_id"], out)
    else:
        export_task(store, layout, operation["task_id"], out)


def restore(store, layout, settings, owner: dict, operation: dict, report) -> int:
    """Restores the uploaded backup; returns the new task or project id. The
    upload is dropped whatever happens."""
    archive = Path(operation["file"])
    restore_archive = restore_project_archive if operation["target"] == "project" else restore_task_archive
    try:
        return restore_archive(store, layout, settings, owner, archive, report, org_id=operation.get("org_id"))
    finally:
        exports.drop_upload(archive)
