"""Celery task that builds a task's data (thin: see workers.media.build)."""
from __future__ import annotations

from domain.task_data import TaskFiles
from storage.documents import TinyDBStore
from storage.layout import Layout
from workers.celery_app import celery
from workers.media import build, images, precompress
from workers.requests_runtime import run_request

CREATE_TASK_DATA = "workers.data_tasks.create_task_data"
PRECOMPRESS = "workers.data_tasks.precompress_uploads"


def limits(settings) -> build.Limits:
    return build.Limits(archive_members=settings.archive_max_members, archive_bytes=settings.archive_max_bytes,
                        remote_bytes=settings.upload_max_bytes, threads=settings.media_threads,
                        video_processes=settings.video_processes,
                        jpeg_optimize=bool(settings.jpeg_optimize))


def create_task_data_now(store, layout, settings, request_id: int, task_id: int):
    """What the Celery task does, callable directly (tests)."""
    images.set_pixel_limit(settings.image_max_pixels)
    try:
        return run_request(
            store, request_id,
            lambda report: build.build(store, layout, settings, task_id, report, limits(settings)),
            lease_seconds=settings.request_lease_seconds,
            on_failure=lambda: build.discard(TaskFiles(layout, task_id)))
    finally:
        build.empty_trash(TaskFiles(layout, task_id))


@celery.task(name=CREATE_TASK_DATA, ignore_result=True)
def create_task_data(request_id: int, task_id: int):
    settings = celery.conf.settings
    layout = Layout(settings.storage_dir)
    create_task_data_now(TinyDBStore(layout.db), layout, settings, request_id, task_id)


def precompress_now(layout, settings, task_id: int, names: list[str], quality: int) -> int:
    images.set_pixel_limit(settings.image_max_pixels)
    files = TaskFiles(layout, task_id)
    return precompress.precompress(files.upload, files.upload_cache, names, quality, bool(settings.jpeg_optimize))


@celery.task(name=PRECOMPRESS, ignore_result=True)
def precompress_uploads(task_id: int, names: list[str], quality: int):
    """Encode frames of an upload batch while the next batch arrives (optional work)."""
    settings = celery.conf.settings
    precompress_now(Layout(settings.storage_dir), settings, task_id, names, quality)
