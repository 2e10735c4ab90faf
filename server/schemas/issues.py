"""Review issues and comments."""
from marshmallow import fields, validate

from server.schemas.common import BasicUser, Request, Schema, Timestamp


class IssueWrite(Request):
    frame = fields.Integer(strict=True, required=True, validate=validate.Range(min=0, max=2**31 - 1))
    position = fields.List(fields.Float(allow_nan=False), required=True, validate=validate.Length(2, 100_000))
    job = fields.Integer(strict=True, required=True)
    message = fields.String(required=True, validate=validate.Length(1, 4096))
    assignee = fields.Integer(strict=True, allow_none=True)
    resolved = fields.Boolean()


class PatchedIssueWrite(Request):
    position = fields.List(fields.Float(allow_nan=False), validate=validate.Length(2, 100_000))
    assignee = fields.Integer(strict=True, allow_none=True)
    resolved = fields.Boolean()


class CommentsSummary(Schema):
    count = fields.Integer()
    url = fields.String(required=True)


class IssueRead(Schema):
    id = fields.Integer()
    frame = fields.Integer()
    position = fields.List(fields.Float(), required=True)
    job = fields.Integer()
    owner = fields.Nested(BasicUser, allow_none=True)
    assignee = fields.Nested(BasicUser, allow_none=True)
    created_date = Timestamp(allow_none=True)
    updated_date = Timestamp(allow_none=True)
    resolved = fields.Boolean()
    comments = fields.Nested(CommentsSummary, required=True)


class CommentWrite(Request):
    issue = fields.Integer(strict=True, required=True)
    message = fields.String(required=True, validate=validate.Length(1, 4096))


class PatchedCommentWrite(Request):
    message = fields.String(required=True, validate=validate.Length(1, 4096))


class CommentRead(Schema):
    id = fields.Integer()
    issue = fields.Integer()
    owner = fields.Nested(BasicUser, allow_none=True)
    message = fields.String()
    created_date = Timestamp()
    updated_date = Timestamp()
