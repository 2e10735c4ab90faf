"""Celery tasks for dataset exports and annotation imports (thin: see workers.datasets)."""
from __future__ import annotations

from workers import datasets
from workers.celery_app import celery, worker_services
from workers.requests_runtime import run_stored_request

EXPORT_DATASET = "workers.dataset_tasks.export_dataset"
IMPORT_ANNOTATIONS = "workers.dataset_tasks.import_annotations"
IMPORT_PROJECT_DATASET = "workers.dataset_tasks.import_project_dataset"


@celery.task(name=EXPORT_DATASET, ignore_result=True)
def export_dataset(request_id: int):
    store, layout, settings = worker_services()
    run_stored_request(
        store, settings, request_id,
        lambda doc, report: datasets.export(store, layout, settings, doc["operation"], report),
        finish_fields=lambda doc, key: {"result_file": key, "result_url": doc["operation"]["result_url"]})


@celery.task(name=IMPORT_ANNOTATIONS, ignore_result=True)
def import_annotations(request_id: int):
    store, layout, settings = worker_services()
    run_stored_request(store, settings, request_id,
                       lambda doc, report: datasets.import_annotations(store, layout, doc["operation"], report))


@celery.task(name=IMPORT_PROJECT_DATASET, ignore_result=True)
def import_project_dataset(request_id: int):
    store, layout, settings = worker_services()
    run_stored_request(
        store, settings, request_id,
        lambda doc, report: datasets.import_project_dataset(
            store, layout, settings, store.peek("users", doc["owner_id"]), doc["operation"], report))
