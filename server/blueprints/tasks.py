"""/api/tasks (definition; data and annotations come in their own blueprints)."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, jobs as job_ops, tasks as task_ops
from server import present
from server.auth import current_user
from server.context import services, store
from server.query import ListSpec, creation_organization, in_workspace, newest_first, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.jobs import TaskValidationLayout
from server.schemas.tasks import PatchedTaskWrite, TaskRead, TaskWrite

blp = Blueprint("tasks", __name__, url_prefix="/api/tasks", description="Tasks")


def _project_name(task):
    project = store().peek("projects", task["project_id"]) if task.get("project_id") is not None else None
    return project["name"] if project else None


def _data(key, default):
    return lambda t: (t.get("data") or {}).get(key, default)


TASK_LIST = ListSpec(
    fields={
        "id": lambda t: t["id"],
        "name": lambda t: t["name"],
        "owner": lambda t: present.username(t.get("owner_id")),
        "assignee": lambda t: present.username(t.get("assignee_id")),
        "status": lambda t: task_ops.task_status(task_ops.jobs_by_task(store()).get(t["id"], [])),
        "project_id": lambda t: t.get("project_id"),
        "project_name": _project_name,
        "subset": lambda t: t.get("subset", ""),
        "mode": _data("mode", ""),
        "dimension": _data("dimension", "2d"),
        "media_type": lambda t: "image",
        "tracker_link": lambda t: t.get("bug_tracker", ""),
        "validation_mode": lambda t: t.get("validation_mode"),
        "created_date": lambda t: t["created_date"],
        "updated_date": lambda t: t["updated_date"],
    },
    simple=("name", "owner", "assignee", "status", "project_id", "project_name", "subset", "mode",
            "dimension", "media_type", "tracker_link", "validation_mode"),
    search=("name", "owner", "assignee", "project_name", "subset", "tracker_link"))


TaskListArgs = list_args("TaskListArgs", TASK_LIST.simple)


def _can_use_project(user):
    return lambda project: project is not None and access.can_see_project(store(), user, project)


@blp.route("")
class Tasks(MethodView):
    @blp.arguments(TaskListArgs, location="query")
    @blp.response(200, paginated(TaskRead))
    def get(self, _args):
        user = current_user()
        s = store()
        docs = in_workspace(newest_first(access.visible_tasks(s, user)), workspace(s, user))
        return page(select(docs, TASK_LIST), present.task)

    @blp.arguments(TaskWrite)
    @blp.response(201, TaskRead)
    def post(self, body):
        user = current_user()
        org = creation_organization(store(), user)
        return present.task(task_ops.create_task(store(), user, body, _can_use_project(user), org))


@blp.route("/<int:task_id>")
class TaskItem(MethodView):
    @blp.response(200, TaskRead)
    def get(self, task_id):
        return present.task(access.visible(store(), current_user(), "tasks", task_id))

    @blp.arguments(PatchedTaskWrite)
    @blp.response(200, TaskRead)
    def patch(self, body, task_id):
        user = current_user()
        access.changeable(store(), user, "tasks", task_id)
        return present.task(task_ops.update_task(store(), task_id, body, can_use_project=_can_use_project(user)))

    @blp.response(204)
    def delete(self, task_id):
        access.deletable(store(), current_user(), "tasks", task_id)
        task_ops.delete_task(store(), services().layout, task_id)


@blp.route("/<int:task_id>/validation_layout")
@blp.response(200, TaskValidationLayout)
def task_validation_layout(task_id):
    return job_ops.validation_layout(store(), access.visible(store(), current_user(), "tasks", task_id))
