"""Dataset exports (projects, tasks, jobs) and annotation imports (tasks, jobs).

The work runs in Celery (workers.datasets); this module checks the caller
and the format, takes uploads, queues requests and serves finished archives.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import Response, request
from flask_smorest import Blueprint

from domain import access, clock, exports, requests as rq
from domain.errors import Invalid
from server import transfers, tus
from server.auth import current_user
from server.errors import GONE_DOC, gone
from server.context import services, store
from workers.formats import registry

blp = Blueprint("datasets", __name__, url_prefix="/api", description="Dataset export and import")

EXPORT_DATASET = "workers.dataset_tasks.export_dataset"
IMPORT_ANNOTATIONS = "workers.dataset_tasks.import_annotations"
IMPORT_PROJECT_DATASET = "workers.dataset_tasks.import_project_dataset"
_TRUE = {"true", "t", "yes", "y", "on", "1"}
_FALSE = {"false", "f", "no", "n", "off", "0", ""}
_KINDS = {"projects": "project", "tasks": "task", "jobs": "job"}


def _flag(name: str, default: bool) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise Invalid({name: ["Must be a valid boolean."]})


def _target_doc(kind: str, target_id: int) -> dict:
    return access.visible(store(), current_user(), kind, target_id)


def _download_name(kind: str, doc: dict, what: str, fmt: str) -> str:
    """CVAT's default: task_12_dataset_2026_01_31_10_00_00_coco 1.0.zip (the
    characters the SDK accepts in a Content-Disposition name, spaces included)."""
    stamp = clock.parse(doc["updated_date"]) if doc.get("updated_date") else datetime.now()
    name = f"{_KINDS[kind]}_{doc['id']}_{what}_{stamp:%Y_%m_%d_%H_%M_%S}_{fmt}".lower()
    return re.sub(r"[^a-z0-9 ._-]+", "_", name) + ".zip"


@blp.route("/<any(projects, tasks, jobs):kind>/<int:target_id>/dataset/export", methods=["POST"])
def export_dataset(kind, target_id):
    doc = _target_doc(kind, target_id)
    fmt = request.args.get("format", "")
    if registry.exporter(fmt) is None:
        raise Invalid(["Unknown format specified for the request"])
    if request.args.get("location", "local") != "local":
        raise Invalid({"location": ["Only local storage is available on this server."]})
    save_images = _flag("save_images", False)
    what = "dataset" if save_images else "annotations"
    user = current_user()
    target = _KINDS[kind]
    rq_id = rq.make_rq_id("export", target, target_id, what, fmt, user["id"])
    task_id = doc["task_id"] if kind == "jobs" else (target_id if kind == "tasks" else None)
    operation = {
        "type": f"export:{what}", "target": target, "format": fmt, "save_images": save_images,
        "project_id": target_id if kind == "projects" else None, "task_id": task_id,
        "job_id": target_id if kind == "jobs" else None,
        "filename": exports.safe_filename(request.args.get("filename"), _download_name(kind, doc, what, fmt)),
        "result_url": transfers.result_path(kind, target_id, "dataset", rq_id),
    }
    key = exports.dataset_key(store(), services().layout, operation)
    return transfers.queue(rq_id, operation, EXPORT_DATASET, key=key, result_url=operation["result_url"])


@blp.route("/<any(projects, tasks, jobs):kind>/<int:target_id>/dataset/download", methods=["GET"])
def download_dataset(kind, target_id):
    _target_doc(kind, target_id)
    rq_id = request.args.get("rq_id")
    doc = rq.find(store(), rq_id) if rq_id else None
    expected = doc["operation"]["type"] if doc and doc["operation"]["type"].startswith("export:") else "export:dataset"
    return transfers.download(rq_id, expected, f"{_KINDS[kind]}_id", target_id)


@blp.route("/<any(projects, tasks, jobs):kind>/<int:target_id>/dataset", methods=["GET"])
@blp.doc(**GONE_DOC)
def legacy_dataset(kind, target_id):
    return gone("This endpoint is gone: POST .../dataset/export and poll /api/requests/<rq_id>.")


def _importer_name() -> str:
    fmt = request.args.get("format", "")
    if registry.importer(fmt) is None:
        raise Invalid([f"Unknown input format '{fmt}'"])
    return fmt


def _import_target(kind: str, target_id: int) -> str:
    return f"annotations:{kind}:{target_id}"


@blp.route("/<any(tasks, jobs):kind>/<int:target_id>/annotations", methods=["POST", "OPTIONS"],
           strict_slashes=False)
def import_annotations(kind, target_id):
    if request.method == "OPTIONS":
        return tus.options()
    user = current_user()
    s = store()
    if kind == "jobs":
        job = access.visible(s, user, "jobs", target_id)
        task = s.peek("tasks", job["task_id"])
    else:
        task = access.changeable(s, user, "tasks", target_id)
        job = None
    if tus.is_create():  # the TUS create carries no query: format comes with Upload-Start/Finish
        return tus.create(_import_target(kind, target_id))
    fmt = _importer_name()
    if not task.get("data"):
        raise Invalid(["The task has no data: attach data before importing annotations."])
    mode = request.args.get("import_mode", "replace")
    if mode not in ("replace", "append"):
        raise Invalid({"import_mode": ["Must be 'append' or 'replace'."]})
    received = transfers.receive(_import_target(kind, target_id), "annotation_file")
    if isinstance(received, Response):
        return received
    target = _KINDS[kind]
    rq_id = rq.make_rq_id("import", target, target_id, "annotations", fmt, user["id"])
    operation = {"type": "import:annotations", "target": target, "format": fmt, "task_id": task["id"],
                 "job_id": job["id"] if job else None, "project_id": task.get("project_id"),
                 "import_mode": mode, "conv_mask_to_poly": _flag("conv_mask_to_poly", True)}
    return transfers.queue_import(rq_id, operation, IMPORT_ANNOTATIONS, received)


@blp.route("/<any(tasks, jobs):kind>/<int:target_id>/annotations/<string:file_id>", methods=["HEAD", "PATCH"])
def import_annotations_chunk(kind, target_id, file_id):
    access.visible(store(), current_user(), kind, target_id)
    return transfers.tus_chunk(_import_target(kind, target_id), file_id)


@blp.route("/projects/<int:project_id>/dataset", methods=["POST", "OPTIONS"], strict_slashes=False)
def import_project_dataset(project_id):
    """Creates tasks (one per subset) with the dataset's images and annotations."""
    if request.method == "OPTIONS":
        return tus.options()
    user = current_user()
    access.changeable(store(), user, "projects", project_id)
    target = f"dataset:projects:{project_id}"
    if tus.is_create():
        return tus.create(target)
    fmt = _importer_name()
    if "dataset_file" in request.files and not (request.files["dataset_file"].filename or "").lower().endswith(".zip"):
        raise Invalid(["Dataset file should be zip archive"])
    received = transfers.receive(target, "dataset_file")
    if isinstance(received, Response):
        return received
    rq_id = rq.make_rq_id("import", "project", project_id, "dataset", fmt, user["id"])
    operation = {"type": "import:dataset", "target": "project", "format": fmt, "project_id": project_id,
                 "task_id": None, "job_id": None, "conv_mask_to_poly": _flag("conv_mask_to_poly", True)}
    return transfers.queue_import(rq_id, operation, IMPORT_PROJECT_DATASET, received)


@blp.route("/projects/<int:project_id>/dataset/<string:file_id>", methods=["HEAD", "PATCH"])
def import_project_dataset_chunk(project_id, file_id):
    access.visible(store(), current_user(), "projects", project_id)
    return transfers.tus_chunk(f"dataset:projects:{project_id}", file_id)
