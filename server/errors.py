"""Every error leaves as JSON in the shapes DRF (and so CVAT's clients) use:
field dicts for validation errors, {"detail": ...} otherwise."""
from __future__ import annotations

import logging

from flask import Response, jsonify, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from domain.errors import DomainError

log = logging.getLogger(__name__)


def _drf_shape(messages):
    """marshmallow keeps list positions as int keys; DRF sends lists with {} gaps."""
    if isinstance(messages, dict):
        if messages and all(isinstance(k, int) for k in messages):
            out = [{} for _ in range(max(messages) + 1)]
            for k, v in messages.items():
                out[k] = _drf_shape(v)
            return out
        return {str(k): _drf_shape(v) for k, v in messages.items()}
    if isinstance(messages, list):
        return [_drf_shape(m) for m in messages]
    return messages


def validation_body(messages) -> dict:
    """webargs groups messages by location ({"json": {...}, "query": {...}}): merge them."""
    if isinstance(messages, dict) and set(messages) <= {"json", "query", "form", "files", "headers", "view_args"}:
        merged = {}
        for part in messages.values():
            if isinstance(part, dict):
                merged.update(part)
            else:
                merged.setdefault("non_field_errors", []).extend(part if isinstance(part, list) else [part])
        messages = merged
    return _drf_shape(messages)


# OpenAPI for CVAT's legacy routes, which answer 410 with a plain-text pointer.
GONE_DOC = {"responses": {"410": {"description": "Gone: the old flow was replaced",
                                  "content": {"text/plain": {"schema": {"type": "string"}}}}}}


def gone(message: str) -> Response:
    return Response(message, status=410, mimetype="text/plain")


def register(app):
    @app.errorhandler(DomainError)
    def domain_error(err: DomainError):
        if err.status == 400:
            body = err.detail if isinstance(err.detail, (dict, list)) else [err.detail]
        else:
            body = {"detail": err.detail}
        response = jsonify(body)
        response.status_code = err.status
        if err.status == 401:
            response.headers["WWW-Authenticate"] = 'Token'
        return response

    @app.errorhandler(ValidationError)
    def marshmallow_error(err: ValidationError):
        response = jsonify(validation_body(err.messages))
        response.status_code = 400
        return response

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        data = getattr(err, "data", None) or {}
        messages = data.get("messages")
        if messages is not None and err.code in (400, 422):
            if _is_json_syntax_error(messages):
                body = {"detail": "JSON parse error - the request body is not valid JSON."}
            else:
                body = validation_body(messages)
            response = jsonify(body)
            response.status_code = 400
            return response
        detail = {
            404: "Not found.",
            405: "Method \"{}\" not allowed.",
            413: "Request body is too large.",
        }.get(err.code, err.description or err.name)
        if err.code == 405:
            detail = detail.format(request.method)
        response = jsonify({"detail": detail})
        response.status_code = err.code or 500
        if err.code == 405 and hasattr(err, "valid_methods") and err.valid_methods:
            response.headers["Allow"] = ", ".join(err.valid_methods)
        return response

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        log.exception("unhandled error")
        response = jsonify({"detail": "Internal server error."})
        response.status_code = 500
        return response


def _is_json_syntax_error(messages) -> bool:
    body = messages.get("json") if isinstance(messages, dict) else None
    return isinstance(body, list) and any("Invalid JSON" in str(m) for m in body)
