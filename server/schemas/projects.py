"""Projects."""
from marshmallow import fields, validate

from server.schemas.common import BasicUser, LabelsSummary, Request, Schema, Storage, StorageRequest, Timestamp
from server.schemas.labels import label_list


class ProjectWrite(Request):
    name = fields.String(required=True, validate=validate.Length(1, 256))
    labels = label_list()
    owner_id = fields.Integer(strict=True, allow_none=True)
    assignee_id = fields.Integer(strict=True, allow_none=True)
    bug_tracker = fields.String(allow_none=True, validate=validate.Length(max=2000))
    target_storage = fields.Nested(StorageRequest, allow_none=True)
    source_storage = fields.Nested(StorageRequest, allow_none=True)


class PatchedProjectWrite(ProjectWrite):
    name = fields.String(validate=validate.Length(1, 256))
    organization_id = fields.Integer(strict=True, allow_none=True)


class TasksSummary(Schema):
    count = fields.Integer(strict=True)
    url = fields.String(required=True)


class ProjectRead(Schema):
    url = fields.String()
    id = fields.Integer(strict=True)
    name = fields.String()
    owner = fields.Nested(BasicUser, allow_none=True)
    assignee = fields.Nested(BasicUser, allow_none=True)
    guide_id = fields.Integer(strict=True, allow_none=True)
    bug_tracker = fields.String()
    task_subsets = fields.List(fields.String())
    created_date = Timestamp()
    updated_date = Timestamp()
    status = fields.String()
    dimension = fields.String(allow_none=True)
    organization = fields.Integer(strict=True, allow_none=True)
    organization_id = fields.Integer(strict=True, allow_none=True)
    target_storage = fields.Nested(Storage, allow_none=True)
    source_storage = fields.Nested(Storage, allow_none=True)
    assignee_updated_date = Timestamp(allow_none=True)
    tasks = fields.Nested(TasksSummary, required=True)
    labels = fields.Nested(LabelsSummary, required=True)
