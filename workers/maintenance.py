"""Housekeeping run by Celery beat inside the worker, and recovery of requests
whose messages a restarted broker lost."""
from __future__ import annotations

import logging

from celery.signals import worker_ready

from domain import exports, requests as rq, users
from storage.documents import TinyDBStore
from storage.layout import Layout
from workers import dispatch
from workers.celery_app import celery

log = logging.getLogger(__name__)

# The Celery task (and its arguments) that carries out each kind of request.
CALLS = {
    "create:task": ("workers.data_tasks.create_task_data", lambda d: [d["id"], d["operation"]["task_id"]]),
    "export:dataset": ("workers.dataset_tasks.export_dataset", lambda d: [d["id"]]),
    "export:annotations": ("workers.dataset_tasks.export_dataset", lambda d: [d["id"]]),
    "import:annotations": ("workers.dataset_tasks.import_annotations", lambda d: [d["id"]]),
    "import:dataset": ("workers.dataset_tasks.import_project_dataset", lambda d: [d["id"]]),
    "export:backup": ("workers.backup_tasks.export_backup", lambda d: [d["id"]]),
    "import:backup": ("workers.backup_tasks.import_backup", lambda d: [d["id"]]),
}


def store() -> TinyDBStore:
    return TinyDBStore(Layout(celery.conf.settings.storage_dir).db)


def requeue_stale(store_, settings, send, older_than: float) -> int:
    """Send again every request still queued `older_than` seconds after its
    message went out. A request that did get its first message runs once all
    the same: the worker that claims it first wins (domain.requests.start)."""
    sent = 0
    for doc in rq.stale_queued(store_, older_than):
        call = CALLS.get(doc["operation"].get("type"))
        if call is None:
            continue
        name, args = call
        send(settings, name, args(doc))
        rq.mark_sent(store_, doc["id"])
        sent += 1
    if sent:
        log.warning("sent %d queued request(s) again (their messages were lost)", sent)
    return sent


@celery.task(name="workers.maintenance.requeue_stale_requests")
def requeue_stale_requests() -> int:
    settings = celery.conf.settings
    return requeue_stale(store(), settings, dispatch.send, settings.requeue_after)


@worker_ready.connect
def _requeue_on_start(sender=None, **kwargs):
    """A worker (re)starting after a broker restart picks up what was lost at once."""
    settings = celery.conf.settings
    try:
        requeue_stale(store(), settings, dispatch.send, settings.requeue_after)
    except Exception:
        log.exception("could not requeue stale requests at start")


@celery.task(name="workers.maintenance.purge_expired_credentials")
def purge_expired_credentials() -> int:
    return users.purge_expired(store())


@celery.task(name="workers.maintenance.purge_expired_files")
def purge_expired_files() -> int:
    """Expired export archives, and uploads no import request picked up."""
    settings = celery.conf.settings
    return exports.purge(Layout(settings.storage_dir), settings.export_ttl)
