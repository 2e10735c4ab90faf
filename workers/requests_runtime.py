"""Running a background request inside a worker: claim it (queued → started),
keep its lease alive from a heartbeat thread, and end it finished or failed
with a readable message. A worker killed mid-task stops the heartbeat, so the
request's lease expires and readers see it failed (domain.requests.reap)."""
from __future__ import annotations

import logging
import threading

from domain import requests as rq
from domain.errors import DomainError
from workers.media.images import MediaError

log = logging.getLogger(__name__)


class Heartbeat(threading.Thread):
    def __init__(self, store, request_id: int, period: float):
        super().__init__(daemon=True, name=f"heartbeat-{request_id}")
        self.store, self.request_id, self.period = store, request_id, period
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(self.period):
            try:
                rq.heartbeat(self.store, self.request_id)
            except Exception:  # a missed beat is harmless; the next one renews the lease
                log.exception("heartbeat of request %s failed", self.request_id)

    def stop(self):
        self.stopped.set()


def run_request(store, request_id: int, work, lease_seconds: float, on_failure=None, result_id=None,
                finish_fields=None):
    """Run `work(report)` for the request; returns its result, or None when the
    request is not queued any more (cancelled, or a re-delivered message).
    `finish_fields(result)` gives rq.finish's keyword arguments (result_url …)."""
    if rq.start(store, request_id, lease_seconds) is None:
        log.info("request %s is not queued any more: skipped", request_id)
        return None
    beat = Heartbeat(store, request_id, max(0.2, lease_seconds / 4))
    beat.start()

    def report(progress=None, message=None):
        rq.report(store, request_id, progress, message)

    try:
        result = work(report)
    except (MediaError, DomainError) as e:
        message = str(e.detail if isinstance(e, DomainError) else e)
        log.info("request %s failed: %s", request_id, message)
        _cleanup(on_failure)
        rq.fail(store, request_id, message)
        return None
    except Exception as e:
        log.exception("request %s failed", request_id)
        _cleanup(on_failure)
        rq.fail(store, request_id, f"Internal error: {type(e).__name__}: {e}")
        return None
    finally:
        beat.stop()
    fields = finish_fields(result) if finish_fields else {}
    if result_id:
        fields["result_id"] = result_id(result)
    rq.finish(store, request_id, **fields)
    return result


def _cleanup(on_failure):
    if on_failure is not None:
        try:
            on_failure()
        except Exception:
            log.exception("cleanup after a failed request failed")


def run_stored_request(store, settings, request_id: int, work, finish_fields=None, **kwargs):
    """run_request for a request whose operation document says what to do:
    `work(doc, report)`, `finish_fields(doc, result)`; a request that no longer
    exists is skipped."""
    doc = rq.get(store, request_id)
    if doc is None:
        log.info("request %s no longer exists: skipped", request_id)
        return None
    return run_request(store, request_id, lambda report: work(doc, report),
                       lease_seconds=settings.request_lease_seconds,
                       finish_fields=(lambda result: finish_fields(doc, result)) if finish_fields else None,
                       **kwargs)
