"""Tasks: create, change (including moving between projects), delete; the
summaries derived from their jobs."""
from __future__ import annotations

import shutil

from domain import annotations, clock, issues, labels as label_ops, projects
from domain.errors import Invalid, NotFound


def jobs_by_task(store) -> dict[int, list[dict]]:
    def build(jobs):
        index: dict[int, list] = {}
        for job in jobs:
            index.setdefault(job["task_id"], []).append(job)
        return index
    return store.derived("jobs", "by_task", build)


def job_status(job: dict) -> str:
    if job["stage"] == "annotation":
        return "annotation"
    if job["stage"] == "acceptance" and job["state"] == "completed":
        return "completed"
    return "validation"


def task_status(jobs: list[dict]) -> str:
    """completed when every annotation job is accepted and completed, validation
    when any job is in validation, else annotation (CVAT's rule)."""
    work = [j for j in jobs if j.get("type", "annotation") == "annotation"]
    if work and all(job_status(j) == "completed" for j in work):
        return "completed"
    if any(j["stage"] == "validation" for j in jobs):
        return "validation"
    return "annotation"


def jobs_summary(store, task_id: int) -> dict:
    jobs = jobs_by_task(store).get(task_id, [])
    return {
        "count": len(jobs),
        "completed": sum(1 for j in jobs if j["stage"] == "acceptance" and j["state"] == "completed"),
        "validation": sum(1 for j in jobs if j["stage"] == "validation"),
    }


def tasks_by_project(store) -> dict[int, list[dict]]:
    def build(tasks):
        index: dict[int, list] = {}
        for task in tasks:
            if task.get("project_id") is not None:
                index.setdefault(task["project_id"], []).append(task)
        return index
    return store.derived("tasks", "by_project", build)


def project_status(store, project_id: int) -> str:
    tasks = tasks_by_project(store).get(project_id, [])
    if not tasks:
        return "annotation"
    index = jobs_by_task(store)
    statuses = [task_status(index.get(t["id"], [])) for t in tasks]
    if all(s == "completed" for s in statuses):
        return "completed"
    return "validation" if "validation" in statuses else "annotation"


def _check_project(store, project_id):
    if project_id is not None and store.peek("projects", project_id) is None:
        raise Invalid({"project_id": [f'Invalid pk "{project_id}" - object does not exist.']})


def create_task(store, owner: dict, data: dict, can_use_project, org: dict | None = None) -> dict:
    """`can_use_project(project)` tells whether the caller may add tasks to it.
    A task in a project lives in the project's organization."""
    project_id = data.get("project_id")
    if project_id is not None and data.get("labels"):
        raise Invalid({"non_field_errors": ["Task must have only one of Label set or project_id"]})
    now = clock.now()
    with store.transaction():
        _check_project(store, project_id)
        if project_id is not None and not can_use_project(store.peek("projects", project_id)):
            raise Invalid({"project_id": [f'Invalid pk "{project_id}" - object does not exist.']})
        org_id = org["id"] if org else None
        if project_id is not None:
            project_org = store.peek("projects", project_id).get("organization_id")
            if org is not None and project_org != org_id:
                raise Invalid({"project_id": ["The task and its project must be in the same organization."]})
            org_id = project_org
        owner_id = data.get("owner_id") if data.get("owner_id") is not None else owner["id"]
        projects.check_user(store, owner_id, "owner_id")
        projects.check_user(store, data.get("assignee_id"), "assignee_id")
        label_ops.validate_specs(data.get("labels") or [])
        task_id = store.reserve_ids("tasks")[0]
        if project_id is None:
            label_ops.create_labels(store, data.get("labels") or [], {"task_id": task_id})
        task = store.insert("tasks", {
            "id": task_id,
            "name": data["name"],
            "project_id": project_id,
            "owner_id": owner_id,
            "assignee_id": data.get("assignee_id"),
            "assignee_updated_date": now if data.get("assignee_id") is not None else None,
            "bug_tracker": data.get("bug_tracker") or "",
            "overlap": data.get("overlap"),
            "segment_size": data.get("segment_size") or 0,
            "subset": data.get("subset") or "",
            "created_date": now,
            "updated_date": now,
            "organization_id": org_id,
            "source_storage": data.get("source_storage"),
            "target_storage": data.get("target_storage"),
            "consensus_replicas": data.get("consensus_replicas") or 0,
            "data": None,
        })
        if project_id is not None:
            projects.touch(store, project_id)
        return task


def update_task(store, task_id: int, data: dict, *, can_use_project) -> dict:
    """PATCH semantics: `overlap` and `segment_size` are write-once (ignored);
    `labels` is a diff; a new `project_id` maps the task's labels by name."""
    with store.transaction():
        task = store.get("tasks", task_id)
        if task is None:
            raise NotFound()
        projects.apply_common_fields(store, task, data)
        if "subset" in data:
            task["subset"] = data["subset"] or ""
        new_project = data.get("project_id")
        if new_project is not None and new_project != task.get("project_id"):
            _check_project(store, new_project)
            if not can_use_project(store.peek("projects", new_project)):
                raise Invalid({"project_id": [f'Invalid pk "{new_project}" - object does not exist.']})
            if store.peek("projects", new_project).get("organization_id") != task.get("organization_id"):
                raise Invalid({"project_id": ["The task and its project must be in the same organization."]})
            if task.get("project_id") is not None:
                source = label_ops.owner_labels(store, project_id=task["project_id"])
            else:
                source = label_ops.owner_labels(store, task_id=task_id)
            mapping = label_ops.map_labels_by_name(store, source, {"project_id": new_project})
            annotations.remap_labels(store, task_id, mapping, source)
            if task.get("project_id") is None:
                store.delete("labels", [l["id"] for l in source])
            old_project = task.get("project_id")
            task["project_id"] = new_project
            projects.touch(store, new_project)
            if old_project is not None:
                projects.touch(store, old_project)
        elif data.get("labels") and task.get("project_id") is None:
            label_ops.patch_labels(store, data["labels"], {"task_id": task_id})
        task["updated_date"] = clock.now()
        return store.replace("tasks", task)


def delete_task(store, layout, task_id: int) -> None:
    with store.transaction():
        task = store.peek("tasks", task_id)
        if task is None:
            raise NotFound()
        job_ids = [j["id"] for j in jobs_by_task(store).get(task_id, [])]
        issues.delete_for_jobs(store, job_ids)
        store.delete("jobs", job_ids)
        store.delete("labels", [l["id"] for l in label_ops.owner_labels(store, task_id=task_id)])
        store.delete("tasks", [task_id])
        if task.get("project_id") is not None and store.peek("projects", task["project_id"]):
            projects.touch(store, task["project_id"])
    # Files (data, chunks, annotations) go last: the task is already gone for readers.
    shutil.rmtree(layout.task_dir(task_id), ignore_errors=True)
