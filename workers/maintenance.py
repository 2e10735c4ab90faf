"""Housekeeping run by Celery beat inside the worker."""
from __future__ import annotations

from domain import exports, users
from storage.documents import TinyDBStore
from storage.layout import Layout
from workers.celery_app import celery


def store() -> TinyDBStore:
    return TinyDBStore(Layout(celery.conf.settings.storage_dir).db)


@celery.task(name="workers.maintenance.purge_expired_credentials")
def purge_expired_credentials() -> int:
    return users.purge_expired(store())


@celery.task(name="workers.maintenance.purge_expired_files")
def purge_expired_files() -> int:
    """Expired export archives, and uploads no import request picked up."""
    settings = celery.conf.settings
    return exports.purge(Layout(settings.storage_dir), settings.export_ttl)
