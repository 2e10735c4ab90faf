"""Task and job media: attaching data (every upload form the SDK uses), frames,
chunks, previews and data/meta. File work is in domain.task_data; this module
only maps HTTP to it."""
from __future__ import annotations

import zlib

import orjson
from flask import Response, request, send_file
from flask_smorest import Blueprint

from domain import access, requests as rq, task_data
from domain.errors import Conflict, Invalid
from server import laid_out, tus
from server.auth import current_user
from server.context import services, store
from server.multipart import StreamedForm
from storage import composed
from workers.media.images import MediaError

blp = Blueprint("data", __name__, url_prefix="/api", description="Task data")

CREATE_TASK_DATA = "workers.data_tasks.create_task_data"
_QUALITIES = ("compressed", "original")


@blp.errorhandler(MediaError)
def _media_error(err: MediaError):
    """Media that cannot be read back any more (e.g. a share file removed
    since): a readable message, not a bare internal error."""
    response = Response(orjson.dumps({"detail": str(err)}), status=500, mimetype="application/json")
    return response


def _target(task_id: int) -> str:
    return f"task-data:{task_id}"


def _send(request_id: int, task_id: int) -> None:
    from workers import dispatch
    dispatch.send(services().settings, CREATE_TASK_DATA, [request_id, task_id])


_LIST_FIELDS = ("job_file_mapping", "upload_file_order", "server_files", "remote_files", "server_files_exclude")


def _body(fields: dict | None = None) -> dict:
    """The DataRequest from a JSON body or from multipart fields (name → values)."""
    if fields is None:
        if request.mimetype in ("application/json", "") or not request.get_data(cache=True):
            if not request.get_data(cache=True):
                return {}
            body = request.get_json(silent=True)
            if body is None:
                raise Invalid({"detail": "JSON parse error - the request body is not valid JSON."})
            return body
        fields = {k: request.form.getlist(k) for k in request.form}
    flat = {k: v[-1] for k, v in fields.items() if not k.startswith("client_files")}
    body = task_data.data_request.collect_form_lists(flat)
    for key in _LIST_FIELDS:
        if key in fields and key not in body:
            body[key] = fields[key]
    return body


PRECOMPRESS = "workers.data_tasks.precompress_uploads"
PRECOMPRESS_BATCH = 8


class _Precompress:
    """Queues encoding of uploaded images in batches while the request body is
    still arriving (Upload-Multiple carries image_quality before the files).
    Best effort: the build does whatever is not done."""

    def __init__(self, task_id: int, fields: dict):
        self.task_id, self.fields, self.batch, self.quality = task_id, fields, [], None
        self.failed = False

    def _quality(self):
        if self.quality is None:
            try:
                self.quality = int((self.fields.get("image_quality") or [""])[-1])
            except ValueError:
                self.quality = -1
        return self.quality

    def __call__(self, name: str, staged: str) -> None:
        self.batch.append([name, staged])
        if len(self.batch) >= PRECOMPRESS_BATCH:
            self.flush()

    def flush(self) -> None:
        batch, self.batch = self.batch, []
        if not batch or self.failed or not 0 <= self._quality() <= 100:
            return
        from workers import dispatch
        try:
            dispatch.send(services().settings, PRECOMPRESS, [self.task_id, batch, self.quality])
        except Exception:
            self.failed = True


def _receive_multipart(task_id: int, precompress: bool = False) -> tuple[list[str], dict]:
    """Stream a multipart body: client_files[i] parts go straight into the
    task's upload area in arrival order; returns (stored names, fields)."""
    form = StreamedForm(request.stream, request.headers.get("Content-Type", ""))

    def items():
        for field, filename, blocks in form.files():
            if field.startswith("client_files"):
                yield filename, task_data.write_blocks(blocks)

    queue = _Precompress(task_id, form.fields) if precompress else None
    names = task_data.add_uploads(services().layout, task_id, items(), on_written=queue)
    if queue is not None:
        queue.flush()
    return names, form.lists()


@blp.route("/tasks/<int:task_id>/data", methods=["POST", "OPTIONS"], strict_slashes=False)
def upload_data(task_id):
    if request.method == "OPTIONS":
        return tus.options()
    user = current_user()
    s, svc = store(), services()
    access.changeable(s, user, "tasks", task_id)
    headers = request.headers
    start, multiple, finish = "Upload-Start" in headers, "Upload-Multiple" in headers, "Upload-Finish" in headers
    if tus.is_create():
        task_data_attachable(task_id)

        def check(metadata):
            if not metadata.get("filename"):
                raise Invalid("Upload-Metadata must carry a filename")
            if task_data.safe_name(metadata["filename"]) != metadata["filename"]:
                raise Invalid("The file name must not contain a path")
            if metadata["filename"] in task_data.uploaded_names(svc.layout, task_id):
                raise Conflict("File with same name already exists")
        return tus.create(_target(task_id), lambda meta, _id: task_data.safe_name(meta["filename"]), check)
    if start and not finish:
        task_data.begin_upload(s, svc.layout, task_id)
        return Response(status=202)
    multipart = request.mimetype == "multipart/form-data"
    if multiple and not finish:
        task_data_attachable(task_id)
        if not multipart:
            raise Invalid("Upload-Multiple needs a multipart/form-data body")
        _receive_multipart(task_id, precompress=True)
        return Response(status=200)
    if not finish and not start:
        # one-shot: a fresh upload of whatever files this request carries
        task_data.begin_upload(s, svc.layout, task_id)
    fields = _receive_multipart(task_id)[1] if multipart else None
    rq_id = task_data.submit(s, svc.layout, svc.settings, task_id, user, _body(fields), _send)
    return {"rq_id": rq_id}, 202


def task_data_attachable(task_id):
    task = store().peek("tasks", task_id)
    if task and task.get("data"):
        raise Invalid("Adding more data is not supported")


@blp.route("/tasks/<int:task_id>/data/<string:file_id>", methods=["HEAD", "PATCH"])
def tus_chunk(task_id, file_id):
    access.changeable(store(), current_user(), "tasks", task_id)
    if request.method == "HEAD":
        return tus.head(_target(task_id), file_id)
    layout = services().layout

    def complete(info, path):
        task_data.attach_file(layout, task_id, info["metadata"]["filename"], path)
    return tus.patch(_target(task_id), file_id, complete)


# -- reading ---------------------------------------------------------------------
def _quality() -> str:
    quality = request.args.get("quality") or "compressed"
    if quality not in _QUALITIES:
        raise Invalid("Wrong quality value: it should be compressed or original")
    return quality


def _number(name="number") -> int | None:
    value = request.args.get(name)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise Invalid(f"{name.capitalize()} is not a valid integer") from None


def _bytes(body: bytes, mimetype: str, tag: str, updated: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.set_etag(tag)
    from domain import clock
    response.last_modified = clock.parse(updated)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response.make_conditional(request)


def _file(path, mimetype: str, data: dict | None = None) -> Response:
    response = send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=0)
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    if data is not None:
        response.headers["X-Updated-Date"] = data["chunks_updated_date"]
    return response


def _chunk_response(path, data: dict, quality: str) -> Response:
    mimetype = "application/zip" if path.suffix == ".zip" else "video/mp4"
    if path.exists():
        response, st = _file(path, mimetype, data), path.stat()
    else:
        response, st = _composed(composed.Layout(path), mimetype, data)
    if response.status_code == 200:
        response.headers["X-Checksum"] = str(zlib.crc32(f"{path.name}:{st.st_size}:{st.st_mtime_ns}".encode()))
    return response


def _composed(layout, mimetype: str, data: dict):
    """A chunk laid out from its plan, conditional like a file."""
    st = layout.stat
    response = laid_out.response(layout, mimetype)
    response.set_etag(f"{st.st_mtime_ns}-{st.st_size}-{layout.size}")
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    response.headers["X-Updated-Date"] = data["chunks_updated_date"]
    return response.make_conditional(request), st


def _frame_response(task, number, quality):
    data = task_data.data_of(task)
    body, mimetype = task_data.frame_bytes(services().layout, task, number, quality)
    return _bytes(body, mimetype, f"{task['id']}-{number}-{quality}-{data['chunks_updated_date']}",
                  data["chunks_updated_date"])


def _preview_response(path):
    if path is None:
        if "handling=empty" in request.headers.get("Prefer", ""):
            return Response(status=204)
        return Response(task_data.placeholder_preview(), mimetype="image/jpeg")
    return _file(path, "image/jpeg")


@blp.route("/tasks/<int:task_id>/data", methods=["GET"], strict_slashes=False)
def task_data_get(task_id):
    task = access.visible(store(), current_user(), "tasks", task_id)
    kind = request.args.get("type")
    layout = services().layout
    if kind == "preview":
        return _preview_response(task_data.task_preview(layout, task))
    if kind not in ("chunk", "frame", "context_image"):
        raise Invalid("Data type not specified or has wrong value")
    quality = _quality()
    number = _number()
    if number is None:
        raise Invalid("Number is not specified")
    data = task_data.data_of(task)
    if kind == "chunk":
        return _chunk_response(task_data.chunk_file(layout, task, number, quality), data, quality)
    if kind == "frame":
        return _frame_response(task, number, quality)
    return _file(task_data.context_images(layout, task, number), "application/zip")


@blp.route("/jobs/<int:job_id>/data", methods=["GET"])
def job_data_get(job_id):
    s = store()
    job = access.visible(s, current_user(), "jobs", job_id)
    task = s.peek("tasks", job["task_id"])
    layout = services().layout
    kind = request.args.get("type")
    if kind == "preview":
        return _preview_response(task_data.job_preview(layout, task, job))
    if kind not in ("chunk", "frame", "context_image"):
        raise Invalid("Data type not specified or has wrong value")
    quality = _quality()
    data = task_data.data_of(task)
    number, index = _number(), _number("index")
    if kind == "chunk":
        if number is not None and index is not None:
            raise Invalid("number and index cannot be used together")
        if index is None:
            if number is None:
                raise Invalid("Number is not specified")
            cs = data["chunk_size"]
            if not (number * cs <= job["stop_frame"] and (number + 1) * cs - 1 >= job["start_frame"]):
                raise Invalid(f"Invalid chunk number '{number}' for the job")
            return _chunk_response(task_data.chunk_file(layout, task, number, quality), data, quality)
        path = task_data.job_chunk_file(layout, task, job, index, quality)
        return _chunk_response(path, data, quality)
    if number is None:
        raise Invalid("Number is not specified")
    if not job["start_frame"] <= number <= job["stop_frame"]:
        raise Invalid(f"Incorrect requested frame number: {number}")
    if kind == "frame":
        return _frame_response(task, number, quality)
    return _file(task_data.context_images(layout, task, number), "application/zip")


@blp.route("/tasks/<int:task_id>/preview", methods=["GET"])
def task_preview(task_id):
    task = access.visible(store(), current_user(), "tasks", task_id)
    return _preview_response(task_data.task_preview(services().layout, task))


@blp.route("/jobs/<int:job_id>/preview", methods=["GET"])
def job_preview(job_id):
    s = store()
    job = access.visible(s, current_user(), "jobs", job_id)
    return _preview_response(task_data.job_preview(services().layout, s.peek("tasks", job["task_id"]), job))


@blp.route("/projects/<int:project_id>/preview", methods=["GET"])
def project_preview(project_id):
    """The preview of the project's newest task that has data."""
    s = store()
    access.visible(s, current_user(), "projects", project_id)
    layout = services().layout
    for task in sorted(s.scan("tasks"), key=lambda t: t["id"], reverse=True):
        if task.get("project_id") == project_id and task.get("data"):
            return _preview_response(task_data.task_preview(layout, task))
    return _preview_response(None)


def _meta_patch_body() -> dict:
    body = request.get_json(silent=True) if request.get_data(cache=True) else {}
    if not isinstance(body, dict):
        raise Invalid({"non_field_errors": ["Invalid data. Expected a dictionary."]})
    return body


@blp.route("/tasks/<int:task_id>/data/meta", methods=["GET", "PATCH"])
def task_meta(task_id):
    s, layout = store(), services().layout
    user = current_user()
    task = access.visible(s, user, "tasks", task_id)
    if request.method == "PATCH":
        access.changeable(s, user, "tasks", task_id)
        body = _meta_patch_body()
        if "deleted_frames" in body:
            task_data.set_deleted_frames(s, layout, task, body["deleted_frames"])
        task = s.peek("tasks", task_id)
    return task_data.meta(layout, task)


@blp.route("/jobs/<int:job_id>/data/meta", methods=["GET", "PATCH"])
def job_meta(job_id):
    s, layout = store(), services().layout
    job = access.visible(s, current_user(), "jobs", job_id)
    task = s.peek("tasks", job["task_id"])
    if request.method == "PATCH":
        body = _meta_patch_body()
        if "deleted_frames" in body:
            task_data.set_deleted_frames(s, layout, task, body["deleted_frames"], job)
    return task_data.meta(layout, task, job)


@blp.route("/tasks/<int:task_id>/status", methods=["GET"])
def task_status(task_id):
    """Deprecated RqStatus of the task's data request."""
    s = store()
    access.visible(s, current_user(), "tasks", task_id)
    doc = rq.find(s, rq.make_rq_id("create", "task", task_id))
    if doc is None:
        body = {"state": "Finished", "message": "", "progress": 100.0}
    else:
        body = {"state": doc["status"].capitalize(), "message": doc.get("message") or "",
                "progress": round((doc.get("progress") or 0) * 100, 2)}
    response = Response(orjson.dumps(body), mimetype="application/json")
    response.headers["Deprecation"] = "true"
    return response
