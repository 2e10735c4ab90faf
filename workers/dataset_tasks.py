"""Celery tasks for dataset exports and annotation imports (thin: see workers.datasets)."""
from __future__ import annotations

from domain import requests as rq
from workers import datasets
from workers.celery_app import celery, worker_services
from workers.requests_runtime import run_request

EXPORT_DATASET = "workers.dataset_tasks.export_dataset"
IMPORT_ANNOTATIONS = "workers.dataset_tasks.import_annotations"
IMPORT_PROJECT_DATASET = "workers.dataset_tasks.import_project_dataset"


def export_dataset_now(store, layout, settings, request_id: int):
    doc = rq.get(store, request_id)
    if doc is None:
        return None
    op = doc["operation"]
    return run_request(
        store, request_id, lambda report: datasets.export(store, layout, settings, op, report),
        lease_seconds=settings.request_lease_seconds,
        finish_fields=lambda key: {"result_file": key, "result_url": op["result_url"]})


def import_annotations_now(store, layout, settings, request_id: int):
    doc = rq.get(store, request_id)
    if doc is None:
        return None
    return run_request(
        store, request_id, lambda report: datasets.import_annotations(store, layout, doc["operation"], report),
        lease_seconds=settings.request_lease_seconds)


def import_project_dataset_now(store, layout, settings, request_id: int):
    doc = rq.get(store, request_id)
    if doc is None:
        return None
    owner = store.peek("users", doc["owner_id"])
    return run_request(
        store, request_id,
        lambda report: datasets.import_project_dataset(store, layout, settings, owner, doc["operation"], report),
        lease_seconds=settings.request_lease_seconds)


@celery.task(name=EXPORT_DATASET, ignore_result=True)
def export_dataset(request_id: int):
    export_dataset_now(*worker_services(), request_id)


@celery.task(name=IMPORT_ANNOTATIONS, ignore_result=True)
def import_annotations(request_id: int):
    import_annotations_now(*worker_services(), request_id)


@celery.task(name=IMPORT_PROJECT_DATASET, ignore_result=True)
def import_project_dataset(request_id: int):
    import_project_dataset_now(*worker_services(), request_id)
