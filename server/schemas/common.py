"""Pieces shared by several resources."""
from datetime import datetime, timezone

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate


class Request(Schema):
    class Meta:
        unknown = EXCLUDE


class _IsoDateTime(fields.String):
    """ISO-8601 datetimes stay strings (stored and sent in DRF's format), but
    what clients send must parse as one."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError("Datetime has wrong format. Use ISO 8601, e.g. 2026-01-31T12:00:00Z.") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def Timestamp(**kwargs):
    return _IsoDateTime(metadata={"format": "date-time"}, **kwargs)


class BasicUser(Schema):
    url = fields.String()
    id = fields.Integer(strict=True)
    username = fields.String(required=True)
    first_name = fields.String()
    last_name = fields.String()


class Storage(Schema):
    id = fields.Integer(strict=True)
    location = fields.String(validate=validate.OneOf(["cloud_storage", "local"]))
    cloud_storage_id = fields.Integer(strict=True, allow_none=True)


class StorageRequest(Request):
    location = fields.String(validate=validate.OneOf(["cloud_storage", "local"]))
    cloud_storage_id = fields.Integer(strict=True, allow_none=True)


class LabelsSummary(Schema):
    url = fields.String(required=True)


class Detail(Schema):
    detail = fields.String()


_paginated = {}


def paginated(item_schema: type[Schema]) -> type[Schema]:
    """The `Paginated<Item>List` envelope of a list endpoint."""
    if item_schema not in _paginated:
        _paginated[item_schema] = type(f"Paginated{item_schema.__name__}List", (Schema,), {
            "count": fields.Integer(strict=True, required=True),
            "next": fields.String(allow_none=True),
            "previous": fields.String(allow_none=True),
            "results": fields.List(fields.Nested(item_schema), required=True),
        })
    return _paginated[item_schema]


class PageArgs(Request):
    page = fields.String()
    page_size = fields.String()
    sort = fields.String()
    search = fields.String()
    filter = fields.String()
    org = fields.String()
    org_id = fields.String()


def list_args(name: str, filters) -> type[Schema]:
    """Query schema of a list endpoint: paging/sorting plus its simple filters."""
    return PageArgs.from_dict({f: fields.String() for f in filters}, name=name)
