"""/api/server: about, formats, share, plugins."""
from __future__ import annotations

from flask_smorest import Blueprint

from domain import share
from workers.formats import registry
from server.auth import current_user
from server.context import services
from server.present import api_url
from server.schemas.server import About, DatasetFormats, FileInfo, Plugins, ShareArgs

blp = Blueprint("server", __name__, url_prefix="/api/server", description="Server information")

VERSION = "2.80.0"


@blp.route("/about")
@blp.response(200, About)
def about():
    """Anonymous. The client checks `version` (it supports 2.80.x and 2.81.x)."""
    return {
        "name": "Computer Vision Annotation Tool",
        "description": "A CVAT-compatible annotation server: projects, tasks, media, annotations and "
                       "datasets over CVAT's REST API.",
        "version": VERSION,
        "logo_url": api_url("static/logo.svg"),
        "subtitle": "Annotation server speaking CVAT's REST API",
    }


@blp.route("/annotation/formats")
@blp.response(200, DatasetFormats)
def formats():
    """Exactly the formats whose exporters and importers are registered."""
    current_user()
    return registry.listing()


@blp.route("/share")
@blp.arguments(ShareArgs, location="query")
@blp.response(200, FileInfo(many=True))
def share_listing(args):
    current_user()
    return share.list_directory(services().settings.share_dir, args.get("directory", "/"), args.get("search", ""))


@blp.route("/plugins")
@blp.response(200, Plugins)
def plugins():
    current_user()
    return {"analytics": False, "models": False}
