"""HTTP responses for files laid out from a plan (storage/composed.py): a
composed chunk or a planned backup archive."""
from __future__ import annotations

from flask import Response, request
from werkzeug.wsgi import wrap_file


def response(layout, mimetype: str) -> Response:
    """The laid-out bytes with their exact length. One byte range of a file
    goes out as that file positioned at its offset, which gunicorn hands to
    sendfile(2) like a whole file; anything else is streamed in blocks."""
    body = wrap_file(request.environ, layout.open_range()) if layout.single_range() else layout.stream()
    out = Response(body, mimetype=mimetype, direct_passthrough=True)
    out.content_length = layout.size
    out.last_modified = layout.stat.st_mtime
    return out
