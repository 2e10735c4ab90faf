"""Stored documents → the Read models CVAT's clients require (absolute URLs,
embedded users, summaries). Keys the client requires are always present; keys
that must not be null are omitted instead when there is no value."""
from __future__ import annotations

from flask import request

from domain import issues as issue_ops, labels as label_ops, tasks as task_ops
from domain.users import groups
from server.context import store


def api_url(path: str) -> str:
    return request.host_url.rstrip("/") + "/api/" + path.lstrip("/")


def username(user_id):
    """The username of a user id, for filters and search (None if unknown)."""
    user = store().peek("users", user_id) if user_id is not None else None
    return user["username"] if user else None


def basic_user(user_id):
    if user_id is None:
        return None
    user = store().peek("users", user_id)
    if user is None:
        return None
    return {"url": api_url(f"users/{user['id']}"), "id": user["id"], "username": user["username"],
            "first_name": user.get("first_name", ""), "last_name": user.get("last_name", "")}


def user(doc: dict, full: bool) -> dict:
    out = basic_user(doc["id"])
    if full:
        out.update(email=doc.get("email", ""), groups=groups(doc), is_staff=doc.get("is_staff", False),
                   is_superuser=doc.get("is_superuser", False), is_active=doc.get("is_active", True),
                   last_login=doc.get("last_login"), date_joined=doc["date_joined"], has_analytics_access=False)
    return out


def label(doc: dict) -> dict:
    return label_ops.as_api(store(), doc)


def project(doc: dict) -> dict:
    s = store()
    tasks = task_ops.tasks_by_project(s).get(doc["id"], [])
    dimensions = {t["data"]["dimension"] for t in tasks if t.get("data")}
    return {
        "url": api_url(f"projects/{doc['id']}"),
        "id": doc["id"],
        "name": doc["name"],
        "owner": basic_user(doc.get("owner_id")),
        "assignee": basic_user(doc.get("assignee_id")),
        "guide_id": None,
        "bug_tracker": doc.get("bug_tracker", ""),
        "task_subsets": sorted({t["subset"] for t in tasks if t.get("subset")}),
        "created_date": doc["created_date"],
        "updated_date": doc["updated_date"],
        "status": task_ops.project_status(s, doc["id"]),
        "dimension": dimensions.pop() if len(dimensions) == 1 else ("2d" if dimensions else None),
        "organization": doc.get("organization_id"),
        "organization_id": doc.get("organization_id"),
        "target_storage": doc.get("target_storage"),
        "source_storage": doc.get("source_storage"),
        "assignee_updated_date": doc.get("assignee_updated_date"),
        "tasks": {"count": len(tasks), "url": api_url(f"tasks?project_id={doc['id']}")},
        "labels": {"url": api_url(f"labels?project_id={doc['id']}")},
    }


def task(doc: dict) -> dict:
    s = store()
    project_doc = s.peek("projects", doc["project_id"]) if doc.get("project_id") is not None else None
    jobs = task_ops.jobs_by_task(s).get(doc["id"], [])
    out = {
        "url": api_url(f"tasks/{doc['id']}"),
        "id": doc["id"],
        "name": doc["name"],
        "project_id": doc.get("project_id"),
        "project_name": project_doc["name"] if project_doc else None,
        "owner": basic_user(doc.get("owner_id")),
        "assignee": basic_user(doc.get("assignee_id")),
        "bug_tracker": doc.get("bug_tracker", ""),
        "created_date": doc["created_date"],
        "updated_date": doc["updated_date"],
        "overlap": doc.get("overlap"),
        "segment_size": doc.get("segment_size") or 0,
        "initial_replicas": doc.get("consensus_replicas", 0),
        "status": task_ops.task_status(jobs),
        "data_cloud_storage_id": None,
        "guide_id": None,
        "dimension": "2d",
        "mode": "",
        "media_type": "image",
        "subset": doc.get("subset", ""),
        "organization": doc.get("organization_id"),
        "organization_id": doc.get("organization_id"),
        "target_storage": doc.get("target_storage"),
        "source_storage": doc.get("source_storage"),
        "assignee_updated_date": doc.get("assignee_updated_date"),
        "validation_mode": doc.get("validation_mode"),
        "jobs": dict(task_ops.jobs_summary(s, doc["id"]), url=api_url(f"jobs?task_id={doc['id']}")),
        "labels": {"url": api_url(f"labels?task_id={doc['id']}")},
    }
    data = doc.get("data")
    if data:
        out.update(
            data=data["id"], size=data["size"], image_quality=data["image_quality"],
            data_chunk_size=data["chunk_size"], data_compressed_chunk_type=data["compressed_chunk_type"],
            data_original_chunk_type=data["original_chunk_type"], mode=data["mode"],
            dimension=data.get("dimension", "2d"),
        )
    return out


def job(doc: dict) -> dict:
    s = store()
    task_doc = s.peek("tasks", doc["task_id"]) or {}
    project_doc = s.peek("projects", task_doc["project_id"]) if task_doc.get("project_id") is not None else None
    data = task_doc.get("data") or {}
    status = task_ops.job_status(doc)
    return {
        "url": api_url(f"jobs/{doc['id']}"),
        "id": doc["id"],
        "task_id": doc["task_id"],
        "project_id": task_doc.get("project_id"),
        "project_name": project_doc["name"] if project_doc else None,
        "task_name": task_doc.get("name"),
        "guide_id": None,
        "assignee": basic_user(doc.get("assignee_id")),
        "dimension": data.get("dimension", "2d"),
        "mode": data.get("mode", "annotation"),
        # 2.80's enum is image | point_cloud | audio: video tasks are "image" too.
        "media_type": "image",
        "bug_tracker": (task_doc.get("bug_tracker") or (project_doc or {}).get("bug_tracker")) or None,
        "status": status,
        "stage": doc["stage"],
        "state": doc["state"],
        "frame_count": doc["frame_count"],
        "start_frame": doc["start_frame"],
        "stop_frame": doc["stop_frame"],
        "data_chunk_size": data.get("chunk_size"),
        "data_compressed_chunk_type": "imageset" if doc.get("type") == "ground_truth"
        else data.get("compressed_chunk_type", "imageset"),
        "data_original_chunk_type": data.get("original_chunk_type", "imageset"),
        "created_date": doc["created_date"],
        "updated_date": doc["updated_date"],
        "type": doc.get("type", "annotation"),
        "organization": task_doc.get("organization_id"),
        "target_storage": task_doc.get("target_storage"),
        "source_storage": task_doc.get("source_storage"),
        "assignee_updated_date": doc.get("assignee_updated_date"),
        "parent_job_id": doc.get("parent_job_id"),
        "replicas_count": 0,
        "issues": {"url": api_url(f"issues?job_id={doc['id']}"),
                   "count": len(issue_ops.issues_by_job(s).get(doc["id"], []))},
        "labels": {"url": api_url(f"labels?job_id={doc['id']}")},
    }
