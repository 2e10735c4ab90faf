"""Celery tasks for backups (thin: see workers.backups)."""
from __future__ import annotations

from workers import backups
from workers.celery_app import celery, worker_services
from workers.requests_runtime import run_stored_request

EXPORT_BACKUP = "workers.backup_tasks.export_backup"
IMPORT_BACKUP = "workers.backup_tasks.import_backup"


@celery.task(name=EXPORT_BACKUP, ignore_result=True)
def export_backup(request_id: int):
    store, layout, settings = worker_services()
    run_stored_request(
        store, settings, request_id,
        lambda doc, report: backups.export(store, layout, settings, doc["operation"], report),
        finish_fields=lambda doc, key: {"result_file": key, "result_url": doc["operation"]["result_url"]})


@celery.task(name=IMPORT_BACKUP, ignore_result=True)
def import_backup(request_id: int):
    store, layout, settings = worker_services()
    run_stored_request(
        store, settings, request_id,
        lambda doc, report: backups.restore(store, layout, settings, store.peek("users", doc["owner_id"]),
                                            doc["operation"], report),
        result_id=lambda new_id: new_id)
