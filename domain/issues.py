"""Review issues on job frames, and their comments.

An issue belongs to a job and a frame inside the job's range; creating one
also creates its first comment (the message). Deleting an issue deletes its
comments; deleting jobs deletes their issues.
"""
from __future__ import annotations

import math

from domain import clock
from domain.errors import Invalid, NotFound


def _check_position(position) -> list[float]:
    if (not isinstance(position, list) or len(position) < 2 or len(position) % 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                       for v in position)):
        raise Invalid({"position": ["Give an even number (at least 2) of finite coordinates."]})
    return [float(v) for v in position]


def _check_assignee(store, assignee):
    if assignee is not None and store.peek("users", assignee) is None:
        raise Invalid({"assignee": [f'Invalid pk "{assignee}" - object does not exist.']})


def create_issue(store, owner: dict, data: dict) -> dict:
    job = store.peek("jobs", data["job"])
    if job is None:
        raise Invalid({"job": [f'Invalid pk "{data["job"]}" - object does not exist.']})
    if not job["start_frame"] <= data["frame"] <= job["stop_frame"]:
        raise Invalid({"frame": [f"The frame must be inside the job ({job['start_frame']}-{job['stop_frame']})."]})
    position = _check_position(data["position"])
    _check_assignee(store, data.get("assignee"))
    if not (data.get("message") or "").strip():
        raise Invalid({"message": ["This field may not be blank."]})
    now = clock.now()
    with store.transaction():
        issue = store.insert("issues", {
            "job_id": job["id"], "frame": data["frame"], "position": position, "owner_id": owner["id"],
            "assignee_id": data.get("assignee"), "resolved": bool(data.get("resolved", False)),
            "created_date": now, "updated_date": now,
        })
        add_comment(store, owner, issue["id"], data["message"])
        return issue


def update_issue(store, issue_id: int, data: dict) -> dict:
    change = {}
    if "position" in data:
        change["position"] = _check_position(data["position"])
    if "assignee" in data:
        _check_assignee(store, data["assignee"])
        change["assignee_id"] = data["assignee"]
    if "resolved" in data:
        change["resolved"] = bool(data["resolved"])
    change["updated_date"] = clock.now()
    issue = store.update("issues", issue_id, lambda i: i.update(change))
    if issue is None:
        raise NotFound()
    return issue


def comments_by_issue(store) -> dict[int, list[dict]]:
    def build(docs):
        index: dict[int, list] = {}
        for doc in docs:
            index.setdefault(doc["issue_id"], []).append(doc)
        return index
    return store.derived("comments", "by_issue", build)


def issues_by_job(store) -> dict[int, list[dict]]:
    def build(docs):
        index: dict[int, list] = {}
        for doc in docs:
            index.setdefault(doc["job_id"], []).append(doc)
        return index
    return store.derived("issues", "by_job", build)


def delete_issues(store, issue_ids) -> None:
    issue_ids = list(issue_ids)
    with store.transaction():
        index = comments_by_issue(store)
        store.delete("comments", [c["id"] for i in issue_ids for c in index.get(i, [])])
        store.delete("issues", issue_ids)


def delete_for_jobs(store, job_ids) -> None:
    index = issues_by_job(store)
    delete_issues(store, [i["id"] for j in job_ids for i in index.get(j, [])])


def add_comment(store, owner: dict, issue_id: int, message: str) -> dict:
    if store.peek("issues", issue_id) is None:
        raise Invalid({"issue": [f'Invalid pk "{issue_id}" - object does not exist.']})
    if not (message or "").strip():
        raise Invalid({"message": ["This field may not be blank."]})
    now = clock.now()
    with store.transaction():
        comment = store.insert("comments", {"issue_id": issue_id, "owner_id": owner["id"], "message": message,
                                            "created_date": now, "updated_date": now})
        store.update("issues", issue_id, lambda i: i.update(updated_date=now))
        return comment


def update_comment(store, comment_id: int, message: str) -> dict:
    if not (message or "").strip():
        raise Invalid({"message": ["This field may not be blank."]})
    comment = store.update("comments", comment_id, lambda c: c.update(message=message, updated_date=clock.now()))
    if comment is None:
        raise NotFound()
    return comment
