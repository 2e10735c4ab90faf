"""Jobs: the segments of a task's frames that people work on."""
from __future__ import annotations

from domain import clock
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
