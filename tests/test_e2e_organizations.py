"""cvat-sdk end to end: organization context, tasks with data inside an
organization, review issues and comments of a job."""
from __future__ import annotations

import pytest
from cvat_sdk import make_client, models
from PIL import Image

from tests.stack import ADMIN


@pytest.fixture
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


def test_organization_scoping_and_review(sdk, tmp_path):
    sdk.api_client.organizations_api.create(models.OrganizationWriteRequest(slug="e2eorg", name="E2E"))
    images = []
    for i in range(4):
        path = tmp_path / f"img{i}.png"
        Image.new("RGB", (32, 24), (i * 40, 0, 0)).save(path)
        images.append(path)

    personal = sdk.tasks.create(models.TaskWriteRequest(name="personal", labels=[{"name": "a"}]))
    sdk.organization_slug = "e2eorg"
    task = sdk.tasks.create_from_data(
        models.TaskWriteRequest(name="in org", labels=[{"name": "car"}], segment_size=2), resources=images)
    assert task.organization is not None
    assert [t.id for t in sdk.tasks.list()] == [task.id]
    jobs = task.get_jobs()
    assert len(jobs) == 2 and [l.name for l in task.get_labels()] == ["car"]

    job = sdk.jobs.retrieve(jobs[0].id)
    issue, _ = sdk.api_client.issues_api.create(models.IssueWriteRequest(
        frame=job.start_frame, position=[1.0, 1.0, 10.0, 10.0], job=job.id, message="check this"))
    sdk.api_client.comments_api.create(models.CommentWriteRequest(issue=issue.id, message="done"))
    issues = job.get_issues()
    assert [i.id for i in issues] == [issue.id]
    assert [c.message for c in issues[0].get_comments()] == ["check this", "done"]
    assert sdk.jobs.retrieve(job.id).issues.count == 1

    sdk.organization_slug = ""
    personal_ids = {t.id for t in sdk.tasks.list()}
    assert personal.id in personal_ids and task.id not in personal_ids
    sdk.organization_slug = None
    assert {task.id, personal.id} <= {t.id for t in sdk.tasks.list()}
