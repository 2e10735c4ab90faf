"""Projects: create, change, delete (with their tasks)."""
from __future__ import annotations

import shutil

from domain import clock, labels as label_ops, tasks as task_ops
from domain.errors import Invalid, NotFound


def check_user(store, user_id, field):
    if user_id is not None and store.peek("users", user_id) is None:
        raise Invalid({field: [f'Invalid pk "{user_id}" - object does not exist.']})


def create_project(store, owner: dict, data: dict, org: dict | None = None) -> dict:
    now = clock.now()
    with store.transaction():
        owner_id = data.get("owner_id") if data.get("owner_id") is not None else owner["id"]
        check_user(store, owner_id, "owner_id")
        check_user(store, data.get("assignee_id"), "assignee_id")
        label_ops.validate_specs(data.get("labels") or [])
        project_id = store.reserve_ids("projects")[0]
        label_ops.create_labels(store, data.get("labels") or [], {"project_id": project_id})
        return store.insert("projects", {
            "id": project_id,
            "name": data["name"],
            "owner_id": owner_id,
            "assignee_id": data.get("assignee_id"),
            "assignee_updated_date": now if data.get("assignee_id") is not None else None,
            "bug_tracker": data.get("bug_tracker") or "",
            "created_date": now,
            "updated_date": now,
            "organization_id": org["id"] if org else None,
            "source_storage": data.get("source_storage"),
            "target_storage": data.get("target_storage"),
        })


def update_project(store, project_id: int, data: dict) -> dict:
    with store.transaction():
        project = store.get("projects", project_id)
        if project is None:
            raise NotFound()
        apply_common_fields(store, project, data)
        if data.get("labels"):
            label_ops.patch_labels(store, data["labels"], {"project_id": project_id})
        project["updated_date"] = clock.now()
        return store.replace("projects", project)


def apply_common_fields(store, doc: dict, data: dict) -> None:
    """The PATCH fields projects and tasks share: name, storages, bug tracker,
    owner and assignee (which dates its change)."""
    if data.get("organization_id") is not None:
        raise Invalid({"organization_id": ["Moving between workspaces is not supported."]})
    for key in ("name", "source_storage", "target_storage"):
        if key in data:
            doc[key] = data[key]
    if "bug_tracker" in data:
        doc["bug_tracker"] = data["bug_tracker"] or ""
    if data.get("owner_id") is not None:
        check_user(store, data["owner_id"], "owner_id")
        doc["owner_id"] = data["owner_id"]
    if "assignee_id" in data:
        check_user(store, data["assignee_id"], "assignee_id")
        if data["assignee_id"] != doc.get("assignee_id"):
            doc["assignee_updated_date"] = clock.now()
        doc["assignee_id"] = data["assignee_id"]


def touch(store, project_id: int) -> None:
    store.update("projects", project_id, lambda p: p.update(updated_date=clock.now()))


def delete_project(store, layout, project_id: int) -> None:
    """Deletes the project with its tasks and labels."""
    with store.transaction():
        if store.peek("projects", project_id) is None:
            raise NotFound()
        for task in [t for t in store.scan("tasks") if t.get("project_id") == project_id]:
            task_ops.delete_task(store, layout, task["id"])
        store.delete("labels", [l["id"] for l in label_ops.owner_labels(store, project_id=project_id)])
        store.delete("projects", [project_id])
    shutil.rmtree(layout.project_dir(project_id), ignore_errors=True)
