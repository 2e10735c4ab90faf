"""/api/projects."""
from __future__ import annotations

from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, projects, tasks as task_ops
from server import present
from server.auth import current_user
from server.context import services, store
from server.query import ListSpec, creation_organization, in_workspace, newest_first, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.projects import PatchedProjectWrite, ProjectRead, ProjectWrite

blp = Blueprint("projects", __name__, url_prefix="/api/projects", description="Projects")


PROJECT_LIST = ListSpec(
    fields={
        "id": lambda p: p["id"],
        "name": lambda p: p["name"],
        "owner": lambda p: present.username(p.get("owner_id")),
        "assignee": lambda p: present.username(p.get("assignee_id")),
        "status": lambda p: task_ops.project_status(store(), p["id"]),
        "updated_date": lambda p: p["updated_date"],
    },
    simple=("name", "owner", "assignee", "status"),
    search=("name", "owner", "assignee"))


ProjectListArgs = list_args("ProjectListArgs", PROJECT_LIST.simple)


@blp.route("")
class Projects(MethodView):
    @blp.arguments(ProjectListArgs, location="query")
    @blp.response(200, paginated(ProjectRead))
    def get(self, _args):
        user = current_user()
        s = store()
        docs = in_workspace(newest_first(access.visible_projects(s, user)), workspace(s, user))
        return page(select(docs, PROJECT_LIST), present.project)

    @blp.arguments(ProjectWrite)
    @blp.response(201, ProjectRead)
    def post(self, body):
        user = current_user()
        org = creation_organization(store(), user)
        return present.project(projects.create_project(store(), user, body, org))


@blp.route("/<int:project_id>")
class ProjectItem(MethodView):
    @blp.response(200, ProjectRead)
    def get(self, project_id):
        return present.project(access.visible(store(), current_user(), "projects", project_id))

    @blp.arguments(PatchedProjectWrite)
    @blp.response(200, ProjectRead)
    def patch(self, body, project_id):
        access.changeable(store(), current_user(), "projects", project_id)
        return present.project(projects.update_project(store(), project_id, body))

    @blp.response(204)
    def delete(self, project_id):
        s = store()
        access.deletable(s, current_user(), "projects", project_id)
        projects.delete_project(s, services().layout, project_id)
