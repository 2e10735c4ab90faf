"""/api/requests: the caller's background requests (list, retrieve, cancel)."""
from __future__ import annotations

from flask import Response
from flask_smorest import Blueprint

from domain import requests as rq
from domain.errors import Forbidden, NotFound
from server import present
from server.auth import current_user
from server.context import store
from server.query import ListSpec, in_workspace, page, select, workspace

blp = Blueprint("requests", __name__, url_prefix="/api/requests", description="Background requests")


def _action(doc):
    return doc["operation"]["type"].split(":")[0]


def _subresource(doc):
    tail = doc["operation"]["type"].partition(":")[2]
    return None if tail in ("", doc["operation"].get("target")) else tail


REQUEST_LIST = ListSpec(
    fields={
        "action": _action,
        "target": lambda d: d["operation"].get("target"),
        "subresource": _subresource,
        "format": lambda d: d["operation"].get("format"),
        "status": lambda d: d["status"],
        "project_id": lambda d: d["operation"].get("project_id"),
        "task_id": lambda d: d["operation"].get("task_id"),
        "job_id": lambda d: d["operation"].get("job_id"),
        "created_date": lambda d: d["created_date"],
    },
    simple=("action", "target", "subresource", "format", "status", "project_id", "task_id", "job_id"),
    search=(),
    sortable=("action", "created_date", "status"))


def present_request(doc: dict) -> dict:
    op = doc["operation"]
    owner = present.basic_user(doc["owner_id"]) or {"id": doc["owner_id"], "username": ""}
    out = {
        "id": doc["rq_id"],
        "status": doc["status"],
        "message": doc.get("message") or "",
        "progress": doc.get("progress"),
        "operation": {"type": op["type"], "target": op["target"], "project_id": op.get("project_id"),
                      "task_id": op.get("task_id"), "job_id": op.get("job_id"), "org_id": op.get("org_id"),
                      "format": op.get("format"), "function_id": op.get("function_id"),
                      "lightweight": op.get("lightweight")},
        "created_date": doc["created_date"],
        "started_date": doc.get("started_date"),
        "finished_date": doc.get("finished_date"),
        "expiry_date": doc.get("expiry_date"),
        "owner": {"id": owner["id"], "username": owner["username"]},
        "result_url": present.api_url(doc["result_url"]) if doc.get("result_url") and
        not doc["result_url"].startswith("http") else doc.get("result_url"),
        "result_id": doc.get("result_id"),
    }
    return out


def _own(rq_id: str) -> dict:
    doc = rq.find(store(), rq_id)
    if doc is None:
        raise NotFound("There is no request with specified id")
    user = current_user()
    if doc["owner_id"] != user["id"] and not user.get("is_superuser"):
        raise Forbidden()
    return doc


def _organization_of(doc):
    op = doc["operation"]
    for kind, key in (("tasks", "task_id"), ("projects", "project_id")):
        if op.get(key) is not None:
            target = store().peek(kind, op[key])
            return target.get("organization_id") if target else None
    return None


@blp.route("", methods=["GET"])
def list_requests():
    docs = rq.for_owner(store(), current_user())
    docs = in_workspace(docs, workspace(store(), current_user()), _organization_of)
    return page(select(docs, REQUEST_LIST), present_request)


@blp.route("/<string:rq_id>", methods=["GET"])
def retrieve(rq_id):
    return present_request(_own(rq_id))


@blp.route("/<string:rq_id>/cancel", methods=["POST"])
def cancel(rq_id):
    _own(rq_id)
    rq.cancel(store(), rq_id)
    return Response(status=200)
