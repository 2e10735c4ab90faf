"""/api/labels: the labels of a task, project or job."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, labels as label_ops
from domain.errors import Forbidden, Invalid, NotFound
from server import present
from server.auth import current_user
from server.context import store
from server.query import ListSpec, in_workspace, page, select, workspace
from server.schemas.common import list_args, paginated
from server.schemas.labels import Label, LabelRequest

blp = Blueprint("labels", __name__, url_prefix="/api/labels", description="Labels")


def _parent_name(label):
    parent = store().peek("labels", label["parent_id"]) if label.get("parent_id") is not None else None
    return parent["name"] if parent else None


LABEL_LIST = ListSpec(
    fields={
        "id": lambda l: l["id"], "name": lambda l: l["name"], "color": lambda l: l["color"],
        "type": lambda l: l["type"], "parent": _parent_name, "parent_id": lambda l: l.get("parent_id"),
    },
    simple=("name", "color", "type", "parent", "parent_id"),
    search=("name", "parent"))

LabelListArgs = list_args("LabelListArgs", LABEL_LIST.simple + ("task_id", "project_id", "job_id"))


def _owner_of(label: dict) -> tuple[str, int]:
    if label.get("project_id") is not None:
        return "projects", label["project_id"]
    return "tasks", label["task_id"]


def _int_arg(name):
    try:
        return int(request.args[name])
    except ValueError:
        raise Invalid({name: ["A valid integer is required."]})


def _labels_in_scope(user) -> list[dict]:
    s = store()
    given = [k for k in ("task_id", "project_id", "job_id") if k in request.args]
    if len(given) > 1:
        raise Invalid({"non_field_errors": ["Only one of task_id, project_id, job_id may be given."]})
    if given:
        key = given[0]
        if key == "job_id":
            job = access.visible(s, user, "jobs", _int_arg(key))
            task = s.peek("tasks", job["task_id"])
        elif key == "task_id":
            task = access.visible(s, user, "tasks", _int_arg(key))
        else:
            project = access.visible(s, user, "projects", _int_arg(key))
            return label_ops.owner_labels(s, project_id=project["id"], top_level_only=True)
        if task.get("project_id") is not None:
            return label_ops.owner_labels(s, project_id=task["project_id"], top_level_only=True)
        return label_ops.owner_labels(s, task_id=task["id"], top_level_only=True)
    return [l for l in s.scan("labels") if l.get("parent_id") is None and _visible(user, l)]


def _visible(user, label) -> bool:
    kind, owner_id = _owner_of(label)
    doc = store().peek(kind, owner_id)
    see = access.can_see_project if kind == "projects" else access.can_see_task
    return doc is not None and see(store(), user, doc)


def _organization_of(label) -> int | None:
    owner = store().peek(*_owner_of(label))
    return owner.get("organization_id") if owner else None


def _label(label_id, user) -> dict:
    label = store().peek("labels", label_id)
    if label is None or not _visible(user, label):
        raise NotFound()
    return label


@blp.route("")
class Labels(MethodView):
    @blp.arguments(LabelListArgs, location="query")
    @blp.response(200, paginated(Label))
    def get(self, _args):
        user = current_user()
        labels = in_workspace(_labels_in_scope(user), workspace(store(), user), _organization_of)
        return page(select(labels, LABEL_LIST), present.label)


@blp.route("/<int:label_id>")
class LabelItem(MethodView):
    @blp.response(200, Label)
    def get(self, label_id):
        return present.label(_label(label_id, current_user()))

    @blp.arguments(LabelRequest)
    @blp.response(200, Label)
    def patch(self, body, label_id):
        user = current_user()
        label = _label(label_id, user)
        if label.get("parent_id") is not None:
            raise Invalid(["Sublabels cannot be modified this way. Patch the parent label instead."])
        if body.get("deleted"):
            raise Invalid(["Labels cannot be deleted this way. Use DELETE instead."])
        access.changeable(store(), user, *_owner_of(label))
        with store().transaction():
            return present.label(label_ops.update_label(store(), label_id, body))

    @blp.response(204)
    def delete(self, label_id):
        user = current_user()
        label = _label(label_id, user)
        if label.get("parent_id") is not None:
            raise Invalid(["Sublabels cannot be deleted this way. Patch the parent label instead."])
        try:
            access.changeable(store(), user, *_owner_of(label))
        except NotFound:
            raise Forbidden()
        with store().transaction():
            label_ops.delete_label(store(), label_id)
