"""/api/tasks/{id}/annotations/ and /api/jobs/{id}/annotations/: GET, PUT,
PATCH ?action=create|update|delete, DELETE (with and without the slash).

Bodies are parsed with orjson and checked by domain/annotation_check.py; the
marshmallow schemas only describe the API. Reads carry an ETag; PUT, PATCH and
DELETE honour If-Match (stale → 412, nothing changes). POST (import) belongs
to the datasets blueprint.
"""
from __future__ import annotations

import orjson
from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from domain import access, annotations as ann
from domain.errors import Forbidden
from server.auth import current_user
from server.context import store
from server.schemas.annotations import LabeledData

blp = Blueprint("annotations", __name__, url_prefix="/api", description="Annotations of tasks and jobs")

_LEGACY_READ = ("format", "filename", "action", "location", "cloud_storage_id")
_LEGACY_WRITE = ("format", "rq_id")
_IF_MATCH = {"in": "header", "name": "If-Match", "required": False, "schema": {"type": "string"},
             "description": "ETag of a previous read: a stale one gets 412 and nothing changes"}
_IF_NONE_MATCH = {"in": "header", "name": "If-None-Match", "required": False, "schema": {"type": "string"},
                  "description": "ETag of a previous read: 304 when nothing changed since"}
_ACTION = {"in": "query", "name": "action", "required": True,
           "schema": {"type": "string", "enum": list(ann.ACTIONS)},
           "description": "create | update | delete (anything else: 400)"}
_BODY_DOC = {"requestBody": {"content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/LabeledData"}}}}, "parameters": [_IF_MATCH]}


def _json_response(body: bytes, status=200, etag: str | None = None) -> Response:
    response = Response(body, status=status, mimetype="application/json")
    if etag:
        response.headers["ETag"] = etag
    return response


def _body():
    return ann.parse_json(request.get_data(cache=False))


def _gone():
    return Response("This endpoint no longer handles dataset import/export: use "
                    "POST …/annotations/ to import and POST …/dataset/export to export.",
                    status=410, mimetype="text/plain")


def _task_scope(task_id: int, write: bool) -> ann.Scope:
    user = current_user()
    if write:
        access.changeable(store(), user, "tasks", task_id)
    else:
        access.visible(store(), user, "tasks", task_id)
    return ann.task_scope(store(), task_id)


def _job_scope(job_id: int, write: bool) -> ann.Scope:
    user = current_user()
    s = store()
    job = access.visible(s, user, "jobs", job_id)
    if write and not (user.get("is_superuser") or job.get("assignee_id") == user["id"]):
        task = s.peek("tasks", job["task_id"])
        if task is None or not access.can_change_task(s, user, task):
            raise Forbidden()
    return ann.job_scope(s, job_id)


class _Annotations(MethodView):
    scope = staticmethod(_task_scope)

    @blp.doc(parameters=[_IF_NONE_MATCH])
    @blp.response(200, LabeledData, headers={"ETag": {"schema": {"type": "string"}}})
    def get(self, **ids):
        if any(k in request.args for k in _LEGACY_READ):
            return _gone()
        scope = self.scope(*ids.values(), write=False)
        cached = request.headers.get("If-None-Match")
        if cached:
            etag = ann.current_etag(scope.require_frames())
            if etag in {t.strip().removeprefix("W/") for t in cached.split(",")}:
                response = Response(status=304)
                response.headers["ETag"] = etag
                return response
        etag, body = ann.read(scope)
        return _json_response(body, etag=etag)

    @blp.doc(**_BODY_DOC)
    @blp.response(200, LabeledData)
    def put(self, **ids):
        if any(k in request.args for k in _LEGACY_WRITE):
            return _gone()
        scope = self.scope(*ids.values(), write=True)
        with ann.bulk():
            body = ann.put(scope, request.get_data(cache=False), request.headers.get("If-Match"))
        return _json_response(body, etag=scope.last_etag)

    @blp.doc(**dict(_BODY_DOC, parameters=[_ACTION, _IF_MATCH]))
    @blp.response(200, LabeledData)
    def patch(self, **ids):
        scope = self.scope(*ids.values(), write=True)
        with ann.bulk():
            result = ann.patch(scope, request.args.get("action", ""), _body(), request.headers.get("If-Match"))
            body = orjson.dumps(result)
        return _json_response(body, etag=scope.last_etag)

    @blp.doc(parameters=[_IF_MATCH])
    @blp.response(204)
    def delete(self, **ids):
        scope = self.scope(*ids.values(), write=True)
        ann.delete(scope, request.headers.get("If-Match"))
        response = Response(status=204)
        response.headers["ETag"] = scope.last_etag
        return response


@blp.route("/tasks/<int:task_id>/annotations/", strict_slashes=False)
class TaskAnnotations(_Annotations):
    scope = staticmethod(_task_scope)


@blp.route("/jobs/<int:job_id>/annotations/", strict_slashes=False)
class JobAnnotations(_Annotations):
    scope = staticmethod(_job_scope)
