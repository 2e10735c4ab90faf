"""Queueing Celery tasks by name from the web process, without importing the
worker modules (and their media libraries) there."""
from __future__ import annotations

from celery import Celery

_apps: dict[str, Celery] = {}


def send(settings, name: str, args: list) -> None:
    app = _apps.get(settings.redis_url)
    if app is None:
        app = Celery("cvat-dispatch", broker=settings.redis_url)
        app.conf.update(broker_connection_retry_on_startup=True, broker_connection_timeout=5,
                        broker_transport_options={"max_retries": 2})
        _apps[settings.redis_url] = app
    app.send_task(name, args=args, ignore_result=True)
