"""Background requests (CVAT's /api/requests): one document per request in the
store, changed by the web process (create, cancel) and by the worker that runs
it (start, progress, finish, fail).

A worker killed mid-task cannot report its own death, so a started request
carries a lease: the worker renews `heartbeat` while it works (see
workers.requests_runtime.Heartbeat) and a reader that finds the lease expired
marks the request failed. A re-delivered Celery message for a request that is no
longer `queued` is skipped (`start` returns None), so long work runs once.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

from domain import clock
from domain.errors import Conflict, Invalid, NotFound

COLLECTION = "requests"
ACTIVE = ("queued", "started")
RESULT_TTL = timedelta(days=1)
WORKER_LOST = "The worker processing this request stopped unexpectedly"


def make_rq_id(action: str, target: str, target_id, subresource: str | None = None,
               fmt: str | None = None, user_id=None) -> str:
    """CVAT's key=value&... form (never contains '/')."""
    parts = [f"action={action}", f"target={target}", f"target_id={target_id}"]
    if subresource:
        parts.append(f"subresource={subresource}")
    if fmt:
        parts.append("format=" + fmt.replace(" ", "_").replace(".", "~").replace("/", "_"))
    if user_id is not None:
        parts.append(f"user_id={user_id}")
    return "&".join(parts)


def _by_rq_id(store) -> dict[str, dict]:
    return store.derived(COLLECTION, "by_rq_id", lambda docs: {d["rq_id"]: d for d in docs})


def _expiry() -> str:
    return (datetime.now(timezone.utc) + RESULT_TTL).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _lease_expired(doc: dict, now: float) -> bool:
    return (doc["status"] == "started" and doc.get("lease_seconds")
            and now - doc.get("heartbeat", 0) > doc["lease_seconds"])


def _expired(doc: dict) -> bool:
    return doc["status"] in ("finished", "failed") and doc.get("expiry_date") and \
        clock.parse(doc["expiry_date"]) < datetime.now(timezone.utc)


def reap(store, doc: dict) -> dict:
    """The request as it really is: a started request whose lease ran out is failed."""
    if not _lease_expired(doc, time.time()):
        return doc
    with store.transaction():
        current = store.get(COLLECTION, doc["id"])
        if current is None or not _lease_expired(current, time.time()):
            return current or doc
        current.update(status="failed", message=WORKER_LOST, finished_date=clock.now(), expiry_date=_expiry())
        return store.replace(COLLECTION, current)


def find(store, rq_id: str) -> dict | None:
    doc = _by_rq_id(store).get(rq_id)
    if doc is None or _expired(doc):
        return None
    return reap(store, doc)


def get(store, doc_id: int) -> dict | None:
    doc = store.peek(COLLECTION, doc_id)
    return None if doc is None else reap(store, doc)


def create(store, rq_id: str, owner_id: int, operation: dict) -> dict:
    """A new queued request; 409 while one with the same id is still active.
    A finished/failed one with the same id is replaced."""
    with store.transaction():
        old = find(store, rq_id)
        if old is not None and old["status"] in ACTIVE:
            raise Conflict("Request is being processed")
        stale = _by_rq_id(store).get(rq_id)
        gone = [d["id"] for d in store.scan(COLLECTION) if _expired(d)]  # results past expiry_date
        if stale is not None:
            gone.append(stale["id"])
        if gone:
            store.delete(COLLECTION, sorted(set(gone)))
        return store.insert(COLLECTION, {
            "rq_id": rq_id, "status": "queued", "progress": 0.0, "message": "",
            "owner_id": owner_id, "operation": operation, "created_date": clock.now(),
            "started_date": None, "finished_date": None, "expiry_date": None,
            "result_url": None, "result_id": None,
        })


def start(store, doc_id: int, lease_seconds: float) -> dict | None:
    """queued → started. None when the request was cancelled, already ran or
    is unknown: the caller must then do nothing (re-delivered message)."""
    with store.transaction():
        doc = store.get(COLLECTION, doc_id)
        if doc is None or doc["status"] != "queued":
            return None
        doc.update(status="started", started_date=clock.now(), heartbeat=time.time(),
                   lease_seconds=lease_seconds, message="Started")
        return store.replace(COLLECTION, doc)


def _if_started(store, doc_id: int, fields: dict) -> dict | None:
    def change(doc):
        if doc["status"] == "started":
            doc.update(fields)
    return store.update(COLLECTION, doc_id, change)


def report(store, doc_id: int, progress: float | None = None, message: str | None = None) -> None:
    fields = {"heartbeat": time.time()}
    if progress is not None:
        fields["progress"] = max(0.0, min(1.0, float(progress)))
    if message is not None:
        fields["message"] = message
    _if_started(store, doc_id, fields)


def heartbeat(store, doc_id: int) -> None:
    _if_started(store, doc_id, {"heartbeat": time.time()})


def finish(store, doc_id: int, result_id=None, result_url=None, result_file=None) -> None:
    """`result_file` is the key of an export archive the result_url serves."""
    _if_started(store, doc_id, {"status": "finished", "progress": 1.0, "message": "",
                                "finished_date": clock.now(), "expiry_date": _expiry(),
                                "result_id": result_id, "result_url": result_url,
                                "result_file": result_file})


def fail(store, doc_id: int, message: str) -> None:
    def change(doc):
        if doc["status"] in ACTIVE:
            doc.update(status="failed", message=message or "Failed", finished_date=clock.now(),
                       expiry_date=_expiry())
    store.update(COLLECTION, doc_id, change)


def cancel(store, rq_id: str) -> None:
    with store.transaction():
        doc = find(store, rq_id)
        if doc is None:
            raise NotFound("There is no request with specified id")
        if doc["status"] != "queued":
            raise Invalid("Only requests that have not yet been started can be cancelled")
        store.delete(COLLECTION, [doc["id"]])


def for_owner(store, user: dict) -> list[dict]:
    """Requests the user may see (own; superusers all), reaped, newest first."""
    docs = [d for d in store.scan(COLLECTION)
            if (user.get("is_superuser") or d["owner_id"] == user["id"]) and not _expired(d)]
    docs = [reap(store, d) for d in docs]
    return sorted(docs, key=lambda d: d["created_date"], reverse=True)


def latest_for_task(store, task_id: int, action_type: str = "create:task") -> dict | None:
    found = [d for d in store.scan(COLLECTION)
             if d["operation"].get("task_id") == task_id and d["operation"].get("type") == action_type]
    return reap(store, max(found, key=lambda d: d["created_date"])) if found else None


def stale_queued(store, older_than: float) -> list[dict]:
    """Requests still queued whose message went out more than `older_than`
    seconds ago: a broker that restarted empty has lost their messages."""
    now = time.time()
    return [d for d in store.scan(COLLECTION) if d["status"] == "queued"
            and now - d.get("sent_at", clock.parse(d["created_date"]).timestamp()) > older_than]


def mark_sent(store, doc_id: int) -> None:
    def change(doc):
        if doc["status"] == "queued":
            doc["sent_at"] = time.time()
    store.update(COLLECTION, doc_id, change)
