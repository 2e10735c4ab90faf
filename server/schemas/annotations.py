"""LabeledData: the annotation envelope. These schemas describe the API (OpenAPI)
and are never used to load or dump shapes: a 100k-shape body goes through
domain/annotation_check.py in one fast pass instead (see its docstring)."""
from marshmallow import Schema, fields, validate

from domain.annotation_check import SHAPE_TYPES, SOURCES

_SHAPE_TYPE = fields.String(required=True, validate=validate.OneOf(sorted(SHAPE_TYPES)))


class AttributeVal(Schema):
    spec_id = fields.Integer(required=True)
    value = fields.String(required=True, validate=validate.Length(max=4096))


class _Object(Schema):
    id = fields.Integer(allow_none=True, metadata={"description": "server-assigned; absent or null on create"})
    label_id = fields.Integer(required=True, validate=validate.Range(min=0))
    frame = fields.Integer(required=True, validate=validate.Range(min=0))
    group = fields.Integer(allow_none=True, validate=validate.Range(min=0))
    source = fields.String(validate=validate.OneOf(sorted(SOURCES)))
    attributes = fields.List(fields.Nested(AttributeVal))


class LabeledImage(_Object):
    pass


class _Geometry(Schema):
    type = _SHAPE_TYPE
    occluded = fields.Boolean()
    outside = fields.Boolean()
    z_order = fields.Integer()
    rotation = fields.Float(validate=validate.Range(min=0, max=360))
    points = fields.List(fields.Float(), metadata={"description": (
        "rectangle/ellipse 4, cuboid 16, polygon >=6, polyline >=4, points >=2 (even), "
        "mask: RLE runs then left, top, right, bottom; skeleton: []")})


class SubLabeledShape(_Object, _Geometry):
    score = fields.Float(validate=validate.Range(min=0, max=1))


class LabeledShape(SubLabeledShape):
    elements = fields.List(fields.Nested(SubLabeledShape))


class TrackedShape(_Geometry):
    id = fields.Integer(allow_none=True)
    frame = fields.Integer(required=True, validate=validate.Range(min=0))
    attributes = fields.List(fields.Nested(AttributeVal))


class SubLabeledTrack(_Object):
    shapes = fields.List(fields.Nested(TrackedShape), required=True)


class LabeledTrack(SubLabeledTrack):
    elements = fields.List(fields.Nested(SubLabeledTrack))


class LabeledData(Schema):
    version = fields.Integer(metadata={"description": "the task's annotation version (also the ETag)"})
    tags = fields.List(fields.Nested(LabeledImage))
    shapes = fields.List(fields.Nested(LabeledShape))
    tracks = fields.List(fields.Nested(LabeledTrack))
    intervals = fields.List(fields.Dict())
