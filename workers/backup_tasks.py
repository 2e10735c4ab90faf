"""Celery tasks for backups (thin: see workers.backups)."""
from __future__ import annotations

from pathlib import Path

from domain import exports, requests as rq
from workers import backups
from workers.celery_app import celery, worker_services
from workers.requests_runtime import run_request

EXPORT_BACKUP = "workers.backup_tasks.export_backup"
IMPORT_BACKUP = "workers.backup_tasks.import_backup"


def export_backup_now(store, layout, settings, request_id: int):
    doc = rq.get(store, request_id)
    if doc is None:
        return None
    op = doc["operation"]

    def work(report):
        archives = exports.Archives(layout, settings.export_ttl)
        key = op["key"]
        if archives.fresh(key):
            return key
        tmp = archives.writing(key)
        try:
            report(0.1, "Writing the backup")
            if op["target"] == "project":
                backups.export_project(store, layout, op["project_id"], tmp)
            else:
                backups.export_task(store, layout, op["task_id"], tmp)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        archives.commit(tmp, key)
        return key

    return run_request(store, request_id, work, lease_seconds=settings.request_lease_seconds,
                       finish_fields=lambda key: {"result_file": key, "result_url": op["result_url"]})


def import_backup_now(store, layout, settings, request_id: int):
    doc = rq.get(store, request_id)
    if doc is None:
        return None
    op = doc["operation"]
    owner = store.peek("users", doc["owner_id"])
    archive = Path(op["file"])
    restore = backups.restore_project_archive if op["target"] == "project" else backups.restore_task_archive

    def work(report):
        try:
            return restore(store, layout, settings, owner, archive, report, org_id=op.get("org_id"))
        finally:
            exports.drop_upload(archive)

    return run_request(store, request_id, work, lease_seconds=settings.request_lease_seconds,
                       result_id=lambda new_id: new_id)


@celery.task(name=EXPORT_BACKUP, ignore_result=True)
def export_backup(request_id: int):
    export_backup_now(*worker_services(), request_id)


@celery.task(name=IMPORT_BACKUP, ignore_result=True)
def import_backup(request_id: int):
    import_backup_now(*worker_services(), request_id)
