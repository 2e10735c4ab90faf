"""Jobs."""
from marshmallow import fields, validate

from domain.jobs import SELECTION_METHODS, STAGES, STATES
from server.schemas.common import BasicUser, LabelsSummary, Request, Schema, Storage, Timestamp


class PatchedJobWrite(Request):
    assignee = fields.Integer(strict=True, allow_none=True)
    stage = fields.String(validate=validate.OneOf(STAGES))
    state = fields.String(validate=validate.OneOf(STATES))


class JobWrite(Request):
    """Only ground-truth jobs can be created."""
    type = fields.String(required=True, validate=validate.OneOf(["ground_truth"],
                                                                error="Only ground_truth jobs can be created."))
    task_id = fields.Integer(strict=True, required=True)
    assignee = fields.Integer(strict=True, allow_none=True)
    stage = fields.String(validate=validate.OneOf(STAGES))
    state = fields.String(validate=validate.OneOf(STATES))
    frame_selection_method = fields.String(validate=validate.OneOf(SELECTION_METHODS))
    frame_count = fields.Integer(strict=True, validate=validate.Range(min=1))
    frame_share = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False))
    frames_per_job_count = fields.Integer(strict=True, validate=validate.Range(min=1))
    frames_per_job_share = fields.Float(validate=validate.Range(min=0, max=1, min_inclusive=False))
    random_seed = fields.Integer(strict=True, validate=validate.Range(min=0))
    frames = fields.List(fields.Integer(strict=True), validate=validate.Length(max=1_000_000))


class TaskValidationLayout(Schema):
    mode = fields.String(allow_none=True)
    frames_per_job_count = fields.Integer(allow_none=True)
    validation_frames = fields.List(fields.Integer())
    disabled_frames = fields.List(fields.Integer())
    honeypot_count = fields.Integer()
    honeypot_frames = fields.List(fields.Integer())
    honeypot_real_frames = fields.List(fields.Integer())


class JobValidationLayout(Schema):
    honeypot_count = fields.Integer()
    honeypot_frames = fields.List(fields.Integer())
    honeypot_real_frames = fields.List(fields.Integer())


class IssuesSummary(Schema):
    url = fields.String(required=True)
    count = fields.Integer(strict=True)


class JobRead(Schema):
    url = fields.String()
    id = fields.Integer(strict=True)
    task_id = fields.Integer(strict=True)
    project_id = fields.Integer(strict=True, allow_none=True)
    project_name = fields.String(allow_none=True)
    task_name = fields.String(allow_none=True)
    guide_id = fields.Integer(strict=True, allow_none=True)
    assignee = fields.Nested(BasicUser, allow_none=True)
    dimension = fields.String()
    mode = fields.String()
    media_type = fields.String()
    bug_tracker = fields.String(allow_none=True)
    status = fields.String()
    stage = fields.String()
    state = fields.String()
    frame_count = fields.Integer(strict=True)
    start_frame = fields.Integer(strict=True)
    stop_frame = fields.Integer(strict=True)
    data_chunk_size = fields.Integer(strict=True, allow_none=True)
    data_compressed_chunk_type = fields.String()
    data_original_chunk_type = fields.String()
    created_date = Timestamp()
    updated_date = Timestamp()
    type = fields.String()
    organization = fields.Integer(strict=True, allow_none=True)
    target_storage = fields.Nested(Storage, allow_none=True)
    source_storage = fields.Nested(Storage, allow_none=True)
    assignee_updated_date = Timestamp(allow_none=True)
    parent_job_id = fields.Integer(strict=True, allow_none=True)
    replicas_count = fields.Integer(strict=True)
    issues = fields.Nested(IssuesSummary, required=True)
    labels = fields.Nested(LabelsSummary, required=True)
