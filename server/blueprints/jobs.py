"""/api/jobs: list, retrieve and change stage, state and assignee."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, jobs as job_ops
from domain.errors import Invalid, NotFound
from server import present
from server.auth import current_user
from server.context import store
from server.query import ListSpec, in_workspace, newest_first, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.jobs import JobRead, JobValidationLayout, JobWrite, PatchedJobWrite

blp = Blueprint("jobs", __name__, url_prefix="/api/jobs", description="Jobs")


def _task(job):
    return store().peek("tasks", job["task_id"]) or {}


def _project_name(job):
    task = _task(job)
    project = store().peek("projects", task["project_id"]) if task.get("project_id") is not None else None
    return project["name"] if project else None


JOB_LIST = ListSpec(
    fields={
        "id": lambda j: j["id"],
        "assignee": lambda j: present.username(j.get("assignee_id")),
        "dimension": lambda j: (_task(j).get("data") or {}).get("dimension", "2d"),
        "media_type": lambda j: "image",
        "mode": lambda j: (_task(j).get("data") or {}).get("mode", "annotation"),
        "parent_job_id": lambda j: j.get("parent_job_id"),
        "project_id": lambda j: _task(j).get("project_id"),
        "project_name": _project_name,
        "stage": lambda j: j["stage"],
        "state": lambda j: j["state"],
        "task_id": lambda j: j["task_id"],
        "task_name": lambda j: _task(j).get("name"),
        "type": lambda j: j.get("type", "annotation"),
        "updated_date": lambda j: j["updated_date"],
    },
    simple=("assignee", "dimension", "media_type", "mode", "parent_job_id", "project_id", "project_name",
            "stage", "state", "task_id", "task_name", "type"),
    search=("assignee", "project_name", "task_name"))

JobListArgs = list_args("JobListArgs", JOB_LIST.simple)


@blp.route("")
class Jobs(MethodView):
    @blp.arguments(JobListArgs, location="query")
    @blp.response(200, paginated(JobRead))
    def get(self, _args):
        user = current_user()
        s = store()
        docs = [j for j in newest_first(s.scan("jobs")) if access.can_see_job(s, user, j)]
        docs = in_workspace(docs, workspace(s, user), lambda j: _task(j).get("organization_id"))
        return page(select(docs, JOB_LIST), present.job)

    @blp.arguments(JobWrite)
    @blp.response(201, JobRead)
    def post(self, body):
        """Creates a ground-truth job (the only kind CVAT lets clients create)."""
        try:
            access.changeable(store(), current_user(), "tasks", body["task_id"])
        except NotFound:
            raise Invalid({"task_id": [f'Invalid pk "{body["task_id"]}" - object does not exist.']})
        return present.job(job_ops.create_ground_truth(store(), body["task_id"], body))


@blp.route("/<int:job_id>")
class JobItem(MethodView):
    @blp.response(200, JobRead)
    def get(self, job_id):
        return present.job(access.visible(store(), current_user(), "jobs", job_id))

    @blp.arguments(PatchedJobWrite)
    @blp.response(200, JobRead)
    def patch(self, body, job_id):
        access.visible(store(), current_user(), "jobs", job_id)
        return present.job(job_ops.update_job(store(), job_id, body))

    @blp.response(204)
    def delete(self, job_id):
        job = access.visible(store(), current_user(), "jobs", job_id)
        access.changeable(store(), current_user(), "tasks", job["task_id"])
        job_ops.delete_ground_truth(store(), job_id)


@blp.route("/<int:job_id>/validation_layout")
@blp.response(200, JobValidationLayout)
def job_validation_layout(job_id):
    """Honeypots exist only in gt_pool validation, which this server does not create."""
    access.visible(store(), current_user(), "jobs", job_id)
    return {"honeypot_count": 0, "honeypot_frames": [], "honeypot_real_frames": []}
