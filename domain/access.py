"""Who may see and change what.

A user sees what they own or are assigned to: a project they own or are
assigned to (and the tasks in it), a task they own or are assigned to, a job
they are assigned to (and so its task, read-only through the job). Superusers
see everything. Deleting needs ownership (of the object or its project).
Inside an organization the role counts too: non-members see nothing of it,
supervisors see everything in it, maintainers and owners also change and
delete everything in it; workers are held to the personal rules.
Invisible objects answer 404, visible but forbidden actions 403.
"""
from __future__ import annotations

from domain import organizations as orgs
from domain.errors import Forbidden, NotFound


def _job_assignees_by_task(store) -> dict[int, set]:
    def build(jobs):
        index: dict[int, set] = {}
        for job in jobs:
            if job.get("assignee_id") is not None:
                index.setdefault(job["task_id"], set()).add(job["assignee_id"])
        return index
    return store.derived("jobs", "assignees_by_task", build)


def _task_people_by_project(store) -> dict[int, set]:
    def build(tasks):
        index: dict[int, set] = {}
        for task in tasks:
            if task.get("project_id") is not None:
                people = index.setdefault(task["project_id"], set())
                people.add(task.get("owner_id"))
                people.add(task.get("assignee_id"))
        return index
    return store.derived("tasks", "people_by_project", build)


def _is_owner_or_assignee(user, doc) -> bool:
    return doc is not None and user["id"] in (doc.get("owner_id"), doc.get("assignee_id"))


def _org_rank(store, user, doc):
    """None for personal objects; else the user's role rank in the object's
    organization (0: not a member)."""
    org_id = doc.get("organization_id") if doc else None
    if org_id is None:
        return None
    return orgs.rank(orgs.role_of(store, user["id"], org_id))


def _by_role(store, user, doc, enough: str):
    """The verdict the user's standing decides alone: True for superusers and
    organization roles of at least `enough`, False for non-members of the
    object's organization, None when the personal rules must decide."""
    if user.get("is_superuser"):
        return True
    rank = _org_rank(store, user, doc)
    if rank == 0:
        return False
    if rank is not None and rank >= orgs.rank(enough):
        return True
    return None


def _project_of(store, task):
    return store.peek("projects", task["project_id"]) if task.get("project_id") is not None else None


def can_see_project(store, user, project) -> bool:
    verdict = _by_role(store, user, project, "supervisor")
    if verdict is not None:
        return verdict
    return _is_owner_or_assignee(user, project) or user["id"] in _task_people_by_project(store).get(project["id"], ())


def can_see_task(store, user, task) -> bool:
    verdict = _by_role(store, user, task, "supervisor")
    if verdict is not None:
        return verdict
    return (_is_owner_or_assignee(user, task) or _is_owner_or_assignee(user, _project_of(store, task))
            or user["id"] in _job_assignees_by_task(store).get(task["id"], ()))


def can_change_task(store, user, task) -> bool:
    """Job assignees and supervisors may see a task but not change its definition."""
    verdict = _by_role(store, user, task, "maintainer")
    if verdict is not None:
        return verdict
    return _is_owner_or_assignee(user, task) or _is_owner_or_assignee(user, _project_of(store, task))


def can_change_project(store, user, project) -> bool:
    verdict = _by_role(store, user, project, "maintainer")
    return verdict if verdict is not None else _is_owner_or_assignee(user, project)


def can_see_job(store, user, job) -> bool:
    if user.get("is_superuser"):
        return True
    task = store.peek("tasks", job["task_id"])
    if task is None:
        return False
    if job.get("assignee_id") == user["id"] and _org_rank(store, user, task) != 0:
        return True
    return can_see_task(store, user, task)


def can_delete(store, user, doc, kind: str) -> bool:
    verdict = _by_role(store, user, doc, "maintainer")
    if verdict is not None:
        return verdict
    if doc.get("owner_id") == user["id"]:
        return True
    if kind == "tasks" and doc.get("project_id") is not None:
        project = store.peek("projects", doc["project_id"])
        return project is not None and project.get("owner_id") == user["id"]
    return False


def can_create_in(store, user, org) -> bool:
    """Creating projects and tasks inside an organization needs supervisor or more."""
    if org is None or user.get("is_superuser"):
        return True
    return orgs.rank(orgs.role_of(store, user["id"], org["id"])) >= orgs.rank("supervisor")


_SEE = {"projects": can_see_project, "tasks": can_see_task, "jobs": can_see_job}


def visible(store, user, kind: str, doc_id) -> dict:
    """The document, shared (read-only), if the user may see it; else 404."""
    doc = store.peek(kind, doc_id) if isinstance(doc_id, int) else None
    if doc is None or not _SEE[kind](store, user, doc):
        raise NotFound()
    return doc


def changeable(store, user, kind: str, doc_id) -> dict:
    doc = visible(store, user, kind, doc_id)
    if kind == "tasks" and not can_change_task(store, user, doc):
        raise Forbidden()
    if kind == "projects" and not can_change_project(store, user, doc):
        raise Forbidden()
    return doc


def deletable(store, user, kind: str, doc_id) -> dict:
    doc = visible(store, user, kind, doc_id)
    if not can_delete(store, user, doc, kind):
        raise Forbidden()
    return doc


# -- bulk visibility for lists -------------------------------------------------------
def visible_tasks(store, user) -> list[dict]:
    """Every task the user may see, in id order (the rule of can_see_task). Only
    buckets written since the last call are checked again."""
    if user.get("is_superuser"):
        return store.scan("tasks")
    key = (user["id"], store.version("projects"), store.version("jobs"), store.version("memberships"))
    return store.filtered("tasks", key, lambda t: can_see_task(store, user, t))


def visible_projects(store, user) -> list[dict]:
    if user.get("is_superuser"):
        return store.scan("projects")
    key = (user["id"], store.version("tasks"), store.version("memberships"))
    return store.filtered("projects", key, lambda p: can_see_project(store, user, p))
