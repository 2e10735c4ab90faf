"""The HTTP side of background exports and imports (datasets and backups).

Exports: `queue` creates the request (409 while the same one is active) and
either finishes it at once, when an archive with the same content key is
still fresh, or sends it to the worker; `download` serves the finished
archive to the request's owner under a safe attachment name.

Imports: `receive` takes the uploaded file in every way the client sends it
(multipart field; Upload-Start → TUS create/PATCH → Upload-Finish with the
file id as `filename`) and returns its staged path once complete.
"""
from __future__ import annotations

from urllib.parse import quote

from flask import Response, jsonify, request, send_file

from domain import exports, requests as rq
from domain.errors import Invalid, NotFound
from server import laid_out, tus
from server.auth import current_user
from server.context import services, store


def archives() -> exports.Archives:
    svc = services()
    return exports.Archives(svc.layout, svc.settings.export_ttl)


def result_path(kind: str, target_id: int, subresource: str, rq_id: str) -> str:
    """Relative result URL (made absolute when the request is presented)."""
    return f"{kind}/{target_id}/{subresource}/download?rq_id={quote(rq_id, safe='')}"


def queue(rq_id: str, operation: dict, celery_task: str, key: str | None = None,
          result_url: str | None = None) -> Response:
    """202 {"rq_id"}; a fresh archive for `key` finishes the request at once."""
    s, svc = store(), services()
    user = current_user()
    archives().cleanup()
    doc = rq.create(s, rq_id, user["id"], operation)
    if key is not None and archives().fresh(key) is not None:
        rq.start(s, doc["id"], svc.settings.request_lease_seconds)
        rq.finish(s, doc["id"], result_url=result_url, result_file=key)
    else:
        from workers import dispatch
        try:
            dispatch.send(svc.settings, celery_task, [doc["id"]])
        except Exception as e:  # broker down: the request ends failed, never queued forever
            rq.fail(s, doc["id"], f"Could not queue the request (is Redis running?): {e}")
    response = jsonify({"rq_id": rq_id})
    response.status_code = 202
    return response


def queue_import(rq_id: str, operation: dict, celery_task: str, staged) -> Response:
    """Queues an import of the staged upload; the upload is dropped if that fails."""
    try:
        return queue(rq_id, dict(operation, file=str(staged)), celery_task)
    except Exception:
        exports.drop_upload(staged)
        raise


def download(rq_id: str | None, expected_type: str, target_id_key: str, target_id: int) -> Response:
    if not rq_id:
        raise Invalid({"rq_id": ["This query parameter is required."]})
    doc = rq.find(store(), rq_id)
    user = current_user()
    op = doc["operation"] if doc else {}
    if (doc is None or op.get("type") != expected_type or op.get(target_id_key) != target_id
            or (doc["owner_id"] != user["id"] and not user.get("is_superuser"))):
        raise NotFound("There is no request with specified id")
    if doc["status"] != "finished" or not doc.get("result_file"):
        raise Invalid(["The export is not finished yet."])
    path = archives().fresh(doc["result_file"])
    if path is None:
        raise NotFound("The exported file has expired; export again.")
    name = op.get("filename") or f"{doc['result_file']}.zip"
    if path.suffix == ".zip":
        return send_file(path, mimetype="application/zip", as_attachment=True, download_name=name, conditional=True)
    try:
        layout = archives().pinned_layout(doc["result_file"])
    except FileNotFoundError:
        raise NotFound("The exported file has expired; export again.") from None
    response = laid_out.response(layout, "application/zip")
    response.headers.set("Content-Disposition", "attachment", filename=name)
    return response


def receive(target: str, field: str):
    """Returns a Response to send back (Upload-Start, TUS create) or the staged
    path of the complete uploaded file."""
    if tus.is_create():
        return tus.create(target)
    headers = request.headers
    if "Upload-Start" in headers and "Upload-Finish" not in headers:
        return Response(status=202)
    layout = services().layout
    if "Upload-Finish" in headers:
        file_id = request.args.get("filename", "")
        uploads = tus.uploads()
        user = current_user()
        try:
            info, data = uploads.take(user["id"], target, file_id)
        except NotFound:
            raise Invalid({"filename": ["No finished upload has this id."]}) from None
        staged = exports.stage_upload(layout, info["metadata"].get("filename") or file_id, exports.move_into(data))
        uploads.discard(file_id)
        return staged
    upload = request.files.get(field)
    if upload is None:
        raise Invalid({field: ["No file was submitted."]})
    return exports.stage_upload(layout, upload.filename or field, upload.save)


def tus_chunk(target: str, file_id: str) -> Response:
    """HEAD/PATCH of `<upload url>/<file_id>`; the finished file waits for Upload-Finish."""
    if request.method == "HEAD":
        return tus.head(target, file_id)
    return tus.patch(target, file_id)

