"""Jobs: the segments of a task's frames that people work on."""
from __future__ import annotations

from domain import clock, issues
from domain.errors import Invalid, NotFound

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")


def update_job(store, job_id: int, data: dict) -> dict:
    """Changing `stage` without `state` resets the state to `new` (CVAT)."""
    with store.transaction():
        job = store.get("jobs", job_id)
        if job is None:
            raise NotFound()
        if "assignee" in data:
            if data["assignee"] is not None and store.peek("users", data["assignee"]) is None:
                raise Invalid({"assignee": [f'Invalid pk "{data["assignee"]}" - object does not exist.']})
            if data["assignee"] != job.get("assignee_id"):
                job["assignee_updated_date"] = clock.now()
            job["assignee_id"] = data["assignee"]
        if "stage" in data and data["stage"] != job["stage"]:
            job["stage"] = data["stage"]
            job["state"] = data.get("state", "new")
        elif "state" in data:
            job["state"] = data["state"]
        job["updated_date"] = clock.now()
        store.replace("jobs", job)
        store.update("tasks", job["task_id"], lambda t: t.update(updated_date=job["updated_date"]))
        return job


def segments(size: int, segment_size: int, overlap, mode: str) -> tuple[int, int, list[tuple[int, int]]]:
    """CVAT's split of `size` task frames into job ranges (inclusive task frames).
    Returns (effective segment size, effective overlap, ranges)."""
    seg = segment_size if 0 < segment_size <= size else size
    ov = overlap if overlap is not None else (5 if mode == "interpolation" else 0)
    ov = min(ov, seg // 2)
    if size <= 0:
        return seg, ov, []
    starts = range(0, max(size - ov, 1), max(seg - ov, 1))
    return seg, ov, [(start, min(start + seg - 1, size - 1)) for start in starts]


def create_jobs(store, task_id: int, ranges: list[tuple[int, int]]) -> list[dict]:
    """One `annotation` job per range, ids increasing in segment order. Runs in
    the caller's transaction; replaces any jobs the task had."""
    now = clock.now()
    with store.transaction():
        old = [j["id"] for j in store.scan("jobs") if j["task_id"] == task_id]
        issues.delete_for_jobs(store, old)
        store.delete("jobs", old)
        return store.insert_many("jobs", [{
            "task_id": task_id, "start_frame": start, "stop_frame": stop,
            "frame_count": stop - start + 1, "stage": "annotation", "state": "new",
            "type": "annotation", "assignee_id": None, "assignee_updated_date": None,
            "parent_job_id": None, "created_date": now, "updated_date": now,
        } for start, stop in ranges])
