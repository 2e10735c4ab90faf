"""The HTTP side of TUS for any upload URL. A blueprint calls `create(...)`
on a POST that carries Upload-Length, and routes HEAD/PATCH of
`<upload url>/<file_id>` to `head(...)` / `patch(...)`. What happens to a
completed file is the caller's business (`on_complete(info, path)`)."""
from __future__ import annotations

from flask import Response, request

from domain import tus
from domain.errors import Invalid
from server.auth import current_user
from server.context import services

VERSION = "1.0.0"


def uploads() -> tus.TusUploads:
    s = services()
    return tus.TusUploads(s.layout.tmp / "tus", s.settings.upload_max_bytes)


def is_create() -> bool:
    return request.method == "POST" and "Upload-Length" in request.headers


def _headers(extra=None) -> dict:
    return {"Tus-Resumable": VERSION, "Cache-Control": "no-store", **(extra or {})}


def _absolute_base() -> str:
    proto = request.headers.get("X-Forwarded-Proto", request.scheme).split(",")[0].strip()
    host = request.headers.get("X-Forwarded-Host", request.host).split(",")[0].strip()
    path = request.path if request.path.endswith("/") else request.path + "/"
    return f"{proto}://{host}{path}"


def create(target: str, upload_filename=None, check=None) -> Response:
    """201 with an absolute Location. `upload_filename(metadata, file_id)` gives
    the Upload-Filename header (data: the file name; others: the file id);
    `check(metadata)` may refuse the upload before anything is stored."""
    try:
        length = int(request.headers["Upload-Length"])
    except ValueError:
        raise Invalid("Upload-Length must be an integer") from None
    metadata = tus.parse_metadata(request.headers.get("Upload-Metadata", ""))
    if check is not None:
        check(metadata)
    try:
        info = uploads().create(current_user()["id"], target, length, metadata)
    except tus.TooLarge as e:
        return Response(str(e), status=413, headers=_headers(), mimetype="text/plain")
    name = upload_filename(metadata, info["id"]) if upload_filename else info["id"]
    return Response(status=201, headers=_headers({"Location": _absolute_base() + info["id"],
                                                  "Upload-Filename": name, "Upload-Offset": "0"}))


def head(target: str, file_id: str) -> Response:
    info = uploads().get(current_user()["id"], target, file_id)
    return Response(status=200, headers=_headers({"Upload-Offset": str(info["offset"]),
                                                  "Upload-Length": str(info["length"])}))


def patch(target: str, file_id: str, on_complete=None) -> Response:
    """Append the body; 409 (no body, with the real Upload-Offset) on a wrong
    offset; when the last byte arrives `on_complete(info, path)` runs."""
    try:
        offset = int(request.headers.get("Upload-Offset", ""))
    except ValueError:
        raise Invalid("Upload-Offset must be an integer") from None
    store = uploads()
    user_id = current_user()["id"]
    try:
        info = store.append(user_id, target, file_id, offset, request.stream)
    except tus.OffsetMismatch as e:
        return Response(status=409, headers=_headers({"Upload-Offset": str(e.offset)}))
    if info["offset"] == info["length"] and on_complete is not None:
        info, path = store.take(user_id, target, file_id)
        try:
            on_complete(info, path)
        finally:
            store.discard(file_id)
    return Response(status=204, headers=_headers({"Upload-Offset": str(info["offset"])}))


def options() -> Response:
    return Response(status=204, headers=_headers({"Tus-Version": VERSION, "Tus-Extension": "",
                                                  "Tus-Max-Size": str(services().settings.upload_max_bytes)}))
