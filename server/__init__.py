"""HTTP layer: the Flask app factory, blueprints, schemas, auth and errors."""
from __future__ import annotations

import logging
from pathlib import Path

import orjson
import swagger_ui_bundle
from flask import Flask, send_from_directory
from flask.json.provider import JSONProvider
from flask_smorest import Api

import settings as settings_module
from domain import users
from server import auth, context, errors
from server.blueprints import auth as auth_bp, jobs, labels, projects, server_info, tasks, users as users_bp
from server.blueprints import annotations as annotations_bp
from server.blueprints import data as data_bp, requests as requests_bp
from server.blueprints import issues as issues_bp, organizations as organizations_bp
from server.blueprints import backups as backups_bp, datasets as datasets_bp

STATIC = Path(__file__).parent / "static"


class OrjsonProvider(JSONProvider):
    """orjson is ~10x faster than json on large bodies (annotations, lists)."""

    def dumps(self, obj, **kwargs):
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS).decode()

    def loads(self, s, **kwargs):
        return orjson.loads(s)


def _no_type_without_body(response):
    """An empty answer (204, TUS, OPTIONS) names no content type."""
    if response.status_code == 204 or (response.content_length == 0 and not response.is_streamed):
        response.headers.pop("Content-Type", None)
    return response


class CvatApi(Api):
    """Errors are DRF-shaped: a field dict, {"detail": …}, or a list of messages."""
    ERROR_SCHEMA = {"description": "A DRF-shaped error",
                    "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "string"}}]}


def create_app(settings: settings_module.Settings | None = None) -> Flask:
    settings = settings or settings_module.load()
    app = Flask(__name__, static_folder=None)
    app.json = OrjsonProvider(app)
    app.url_map.strict_slashes = False
    app.config.update(
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        API_TITLE="CVAT-compatible annotation server",
        API_VERSION=server_info.VERSION,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="schema/",
        OPENAPI_SWAGGER_UI_PATH="swagger/",
        OPENAPI_SWAGGER_UI_URL="/api/static/swagger-ui/",
        API_SPEC_OPTIONS={"components": {"securitySchemes": {
            "tokenAuth": {"type": "apiKey", "in": "header", "name": "Authorization"},
            "basicAuth": {"type": "http", "scheme": "basic"},
            "sessionAuth": {"type": "apiKey", "in": "cookie", "name": "sessionid"},
        }}, "security": [{"tokenAuth": []}, {"basicAuth": []}, {"sessionAuth": []}]},
    )
    services = context.build(settings)
    app.extensions["cvat"] = services
    users.ensure_admin(services.store, settings.admin_user, settings.admin_password, settings.password_scrypt_n)

    api = CvatApi(app)
    for module in (auth_bp, users_bp, server_info, projects, tasks, labels, jobs, data_bp, requests_bp, annotations_bp,
                   organizations_bp, issues_bp, datasets_bp, backups_bp):
        api.register_blueprint(module.blp)
    app.before_request(auth.authenticate)
    app.after_request(_no_type_without_body)
    errors.register(app)

    @app.route("/api/static/swagger-ui/<path:name>")
    def swagger_assets(name):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, name)

    @app.route("/api/static/<path:name>")
    def static_files(name):
        return send_from_directory(STATIC, name)

    @app.route("/api/docs/")
    def docs():
        return app.view_functions["api-docs.openapi_swagger_ui"]()

    logging.basicConfig(level=logging.INFO)
    return app
