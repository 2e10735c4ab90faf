"""Task and project backups: export (download) and restore (upload)."""
from __future__ import annotations

import uuid

from flask import Response, request
from flask_smorest import Blueprint

from domain import access, exports, requests as rq
from domain.errors import Invalid
from server import transfers, tus
from server.auth import current_user
from server.errors import GONE_DOC, gone
from server.context import services, store
from server.query import creation_organization

blp = Blueprint("backups", __name__, url_prefix="/api", description="Task and project backups")

EXPORT_BACKUP = "workers.backup_tasks.export_backup"
IMPORT_BACKUP = "workers.backup_tasks.import_backup"
_KINDS = {"projects": "project", "tasks": "task"}


@blp.route("/<any(projects, tasks):kind>/<int:target_id>/backup/export", methods=["POST"])
def export_backup(kind, target_id):
    user = current_user()
    doc = access.visible(store(), user, kind, target_id)
    if request.args.get("location", "local") != "local":
        raise Invalid({"location": ["Only local storage is available on this server."]})
    if kind == "tasks" and not doc.get("data"):
        raise Invalid(["Only tasks with data can be backed up."])
    target = _KINDS[kind]
    rq_id = rq.make_rq_id("export", target, target_id, "backup", None, user["id"])
    operation = {
        "type": "export:backup", "target": target, "format": None,
        "project_id": target_id if kind == "projects" else doc.get("project_id"),
        "task_id": target_id if kind == "tasks" else None, "job_id": None,
        "lightweight": False,
        "filename": exports.safe_filename(request.args.get("filename"),
                                          exports.download_name(target, doc["name"], "backup")),
        "result_url": transfers.result_path(kind, target_id, "backup", rq_id),
    }
    operation["key"] = exports.backup_key(store(), services().layout, operation)
    return transfers.queue(rq_id, operation, EXPORT_BACKUP, key=operation["key"], result_url=operation["result_url"])


@blp.route("/<any(projects, tasks):kind>/<int:target_id>/backup/download", methods=["GET"])
def download_backup(kind, target_id):
    access.visible(store(), current_user(), kind, target_id)
    return transfers.download(request.args.get("rq_id"), "export:backup", f"{_KINDS[kind]}_id", target_id)


@blp.route("/<any(projects, tasks):kind>/<int:target_id>/backup", methods=["GET"])
@blp.doc(**GONE_DOC)
def legacy_backup(kind, target_id):
    return gone("This endpoint is gone: POST .../backup/export and poll /api/requests/<rq_id>.")


def _import_target(kind: str) -> str:
    return f"backup:{kind}"


@blp.route("/<any(projects, tasks):kind>/backup", methods=["POST", "OPTIONS"], strict_slashes=False)
def import_backup(kind):
    if request.method == "OPTIONS":
        return tus.options()
    user = current_user()
    if "rq_id" in request.args:
        return gone("Polling with rq_id is gone: poll /api/requests/<rq_id>.")
    org = creation_organization(store(), user)
    field = "task_file" if kind == "tasks" else "project_file"
    received = transfers.receive(_import_target(kind), field)
    if isinstance(received, Response):
        return received
    target = _KINDS[kind]
    rq_id = rq.make_rq_id("import", target, uuid.uuid4(), "backup")
    operation = {"type": "import:backup", "target": target, "format": None, "project_id": None,
                 "task_id": None, "job_id": None, "org_id": org["id"] if org else None}
    return transfers.queue_import(rq_id, operation, IMPORT_BACKUP, received)


@blp.route("/<any(projects, tasks):kind>/backup/<string:file_id>", methods=["HEAD", "PATCH"])
def import_backup_chunk(kind, file_id):
    current_user()
    return transfers.tus_chunk(_import_target(kind), file_id)
