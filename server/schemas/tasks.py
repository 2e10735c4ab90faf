"""Tasks."""
from marshmallow import fields, validate

from server.schemas.common import BasicUser, LabelsSummary, Request, Schema, Storage, StorageRequest, Timestamp
from server.schemas.labels import label_list


class TaskWrite(Request):
    name = fields.String(required=True, validate=validate.Length(1, 256))
    project_id = fields.Integer(strict=True, allow_none=True)
    owner_id = fields.Integer(strict=True, allow_none=True)
    assignee_id = fields.Integer(strict=True, allow_none=True)
    bug_tracker = fields.String(allow_none=True, validate=validate.Length(max=2000))
    overlap = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=0, max=2**31 - 1))
    segment_size = fields.Integer(strict=True, validate=validate.Range(min=0, max=2**31 - 1))
    labels = label_list()
    subset = fields.String(allow_none=True, validate=validate.Length(max=64))
    target_storage = fields.Nested(StorageRequest, allow_none=True)
    source_storage = fields.Nested(StorageRequest, allow_none=True)
    consensus_replicas = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))
    initial_replicas = fields.Integer(strict=True, validate=validate.Range(min=0, max=100))


class PatchedTaskWrite(TaskWrite):
    name = fields.String(validate=validate.Length(1, 256))
    organization_id = fields.Integer(strict=True, allow_none=True)


class JobsSummary(Schema):
    count = fields.Integer(strict=True)
    completed = fields.Integer(strict=True, required=True, allow_none=True)
    validation = fields.Integer(strict=True, required=True, allow_none=True)
    url = fields.String()


class TaskRead(Schema):
    url = fields.String()
    id = fields.Integer(strict=True)
    name = fields.String()
    project_id = fields.Integer(strict=True, allow_none=True)
    project_name = fields.String(allow_none=True)
    owner = fields.Nested(BasicUser, allow_none=True)
    assignee = fields.Nested(BasicUser, allow_none=True)
    bug_tracker = fields.String()
    created_date = Timestamp()
    updated_date = Timestamp()
    overlap = fields.Integer(strict=True, allow_none=True)
    segment_size = fields.Integer(strict=True)
    initial_replicas = fields.Integer(strict=True)
    status = fields.String()
    data_chunk_size = fields.Integer(strict=True, allow_none=True)
    data_original_chunk_type = fields.String()
    data_compressed_chunk_type = fields.String()
    data_cloud_storage_id = fields.Integer(strict=True, allow_none=True)
    guide_id = fields.Integer(strict=True, allow_none=True)
    size = fields.Integer(strict=True)
    image_quality = fields.Integer(strict=True)
    data = fields.Integer(strict=True, allow_none=True)
    dimension = fields.String()
    mode = fields.String()
    media_type = fields.String()
    subset = fields.String()
    organization_id = fields.Integer(strict=True, allow_none=True)
    organization = fields.Integer(strict=True, allow_none=True)
    target_storage = fields.Nested(Storage, allow_none=True)
    source_storage = fields.Nested(Storage, allow_none=True)
    assignee_updated_date = Timestamp(allow_none=True)
    validation_mode = fields.String(allow_none=True)
    jobs = fields.Nested(JobsSummary, required=True)
    labels = fields.Nested(LabelsSummary, required=True)
