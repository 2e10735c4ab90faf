"""The Celery app: Redis broker, late acknowledgement, one base task class.

Long work must run once: with a Redis broker an unacknowledged task is
re-delivered after the broker's visibility timeout, so the timeout is set well
above the longest task (and time limits below it), and tasks are acknowledged
late so a worker that dies mid-task does not silently drop the work.
"""
from __future__ import annotations

import logging

from celery import Celery, Task

import settings as settings_module

log = logging.getLogger(__name__)

HARD_TIME_LIMIT = 6 * 3600
VISIBILITY_TIMEOUT = HARD_TIME_LIMIT + 3600


class LoggedTask(Task):
    """Logs start, success and failure of every task with its arguments' ids."""

    def before_start(self, task_id, args, kwargs):
        log.info("task %s[%s] started", self.name, task_id)

    def on_success(self, retval, task_id, args, kwargs):
        log.info("task %s[%s] finished", self.name, task_id)

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        log.error("task %s[%s] failed: %s", self.name, task_id, exc)


def make_celery(settings: settings_module.Settings) -> Celery:
    settings.storage_dir.mkdir(parents=True, exist_ok=True)
    app = Celery("cvat", broker=settings.redis_url, backend=settings.redis_url, task_cls=LoggedTask,
                 include=["workers.maintenance", "workers.data_tasks", "workers.dataset_tasks",
                          "workers.backup_tasks"])
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=False,
        worker_prefetch_multiplier=1,
        task_time_limit=HARD_TIME_LIMIT,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_backend_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        result_expires=24 * 3600,
        broker_connection_retry_on_startup=True,
        beat_schedule={
            "purge-expired-credentials": {"task": "workers.maintenance.purge_expired_credentials",
                                          "schedule": 3600.0},
            "purge-expired-files": {"task": "workers.maintenance.purge_expired_files", "schedule": 3600.0},
            "requeue-stale-requests": {"task": "workers.maintenance.requeue_stale_requests",
                                       "schedule": max(1.0, settings.requeue_after / 2)},
        },
        beat_schedule_filename=str(settings.storage_dir / "celerybeat-schedule"),
    )
    app.conf.settings = settings
    return app


celery = make_celery(settings_module.load())


def worker_services():
    """(store, layout, settings) for a task running in this worker process."""
    from storage.documents import TinyDBStore
    from storage.layout import Layout
    settings = celery.conf.settings
    layout = Layout(settings.storage_dir)
    return TinyDBStore(layout.db), layout, settings
