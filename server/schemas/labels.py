"""Labels, sublabels and attributes."""
from marshmallow import fields, validate

from domain.labels import INPUT_TYPES, LABEL_TYPES
from server.schemas.common import Request, Schema


class AttributeRequest(Request):
    id = fields.Integer(strict=True)
    name = fields.String(required=True, validate=validate.Length(1, 64))
    mutable = fields.Boolean(required=True)
    input_type = fields.String(required=True, validate=validate.OneOf(INPUT_TYPES))
    default_value = fields.String(validate=validate.Length(max=128))
    values = fields.List(fields.String(validate=validate.Length(max=200)), required=True,
                         validate=validate.Length(max=1000))
    deleted = fields.Boolean()


class SublabelRequest(Request):
    id = fields.Integer(strict=True)
    name = fields.String(required=True, validate=validate.Length(1, 64))
    color = fields.String(validate=validate.Length(max=7))
    attributes = fields.List(fields.Nested(AttributeRequest), validate=validate.Length(max=1000))
    type = fields.String(validate=validate.OneOf(LABEL_TYPES))
    has_parent = fields.Boolean()


class LabelRequest(Request):
    """`PatchedLabelRequest`: an element of `labels` in task/project writes."""
    id = fields.Integer(strict=True)
    name = fields.String(validate=validate.Length(1, 64))
    color = fields.String(validate=validate.Length(max=7))
    attributes = fields.List(fields.Nested(AttributeRequest), validate=validate.Length(max=1000))
    deleted = fields.Boolean()
    type = fields.String(validate=validate.OneOf(LABEL_TYPES))
    svg = fields.String(validate=validate.Length(max=1_000_000))
    sublabels = fields.List(fields.Nested(SublabelRequest), validate=validate.Length(max=1000))


class Attribute(Schema):
    id = fields.Integer(strict=True)
    name = fields.String(required=True)
    mutable = fields.Boolean(required=True)
    input_type = fields.String(required=True, validate=validate.OneOf(INPUT_TYPES))
    default_value = fields.String()
    values = fields.List(fields.String(), required=True)


class Sublabel(Schema):
    id = fields.Integer(strict=True)
    name = fields.String(required=True)
    color = fields.String()
    attributes = fields.List(fields.Nested(Attribute))
    type = fields.String()
    has_parent = fields.Boolean()


class Label(Schema):
    id = fields.Integer(strict=True)
    name = fields.String(required=True)
    color = fields.String()
    attributes = fields.List(fields.Nested(Attribute))
    type = fields.String()
    svg = fields.String()
    sublabels = fields.List(fields.Nested(Sublabel))
    project_id = fields.Integer(strict=True, allow_none=True)
    task_id = fields.Integer(strict=True, allow_none=True)
    parent_id = fields.Integer(strict=True, allow_none=True)
    has_parent = fields.Boolean()


def label_list(required=False):
    return fields.List(fields.Nested(LabelRequest), required=required, validate=validate.Length(max=10_000))
