"""Server information."""
from marshmallow import fields

from server.schemas.common import Request, Schema


class About(Schema):
    name = fields.String(required=True)
    description = fields.String(required=True)
    version = fields.String(required=True)
    logo_url = fields.String(required=True)
    subtitle = fields.String(required=True)


class DatasetFormat(Schema):
    name = fields.String(required=True)
    ext = fields.String(required=True)
    version = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    dimension = fields.String(required=True)


class DatasetFormats(Schema):
    importers = fields.List(fields.Nested(DatasetFormat), required=True)
    exporters = fields.List(fields.Nested(DatasetFormat), required=True)


class FileInfo(Schema):
    name = fields.String(required=True)
    type = fields.String(required=True)
    mime_type = fields.String(required=True)


class ShareArgs(Request):
    directory = fields.String()
    search = fields.String()


class Plugins(Schema):
    analytics = fields.Boolean(required=True)
    models = fields.Boolean(required=True)
