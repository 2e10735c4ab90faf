"""End to end with the official client: cvat-sdk against the real stack."""
from __future__ import annotations

import pytest
from cvat_sdk import make_client
from cvat_sdk.api_client import exceptions, models
from cvat_sdk.core.client import Client, Config

from tests.stack import ADMIN


@pytest.fixture
def sdk(stack):
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.1
        yield client


def test_client_accepts_server_version(stack):
    client = Client(stack.url, config=Config(allow_unsupported_server=False))
    assert client.check_server_version(fail_if_unsupported=True) is None or True
    assert client.get_server_version().major == 2


def test_login_and_current_user(sdk):
    me = sdk.users.retrieve_current_user()
    assert me.username == ADMIN[0]
    assert me.is_superuser


def test_project_task_label_lifecycle(sdk):
    project = sdk.projects.create(models.ProjectWriteRequest(
        name="sdk project",
        labels=[models.PatchedLabelRequest(name="car", color="#ff0000", attributes=[
            models.AttributeRequest(name="speed", mutable=True, input_type="number", values=["0", "200", "1"]),
            models.AttributeRequest(name="kind", mutable=False, input_type="select", values=["sedan", "suv"]),
        ]), models.PatchedLabelRequest(name="person")]))
    assert project.name == "sdk project"
    labels = project.get_labels()
    assert {l.name for l in labels} == {"car", "person"}
    car = next(l for l in labels if l.name == "car")
    assert car.color == "#ff0000"
    assert [a.input_type.value for a in car.attributes] == ["number", "select"]

    task = sdk.tasks.create(models.TaskWriteRequest(name="sdk task", project_id=project.id, subset="train"))
    assert task.project_id == project.id
    assert {l.name for l in task.get_labels()} == {"car", "person"}
    assert task.get_jobs() == []
    assert [t.id for t in project.get_tasks()] == [task.id]

    task.update(models.PatchedTaskWriteRequest(name="renamed", bug_tracker="https://bugs.example/1"))
    assert sdk.tasks.retrieve(task.id).name == "renamed"
    project.fetch()
    assert project.tasks.count == 1
    assert project.task_subsets == ["train"]

    own = sdk.tasks.create(models.TaskWriteRequest(name="own labels", labels=[
        models.PatchedLabelRequest(name="tree", type="polygon")]))
    assert [l.name for l in own.get_labels()] == ["tree"]
    assert {t.id for t in sdk.tasks.list()} >= {task.id, own.id}

    sdk.tasks.remove_by_ids([own.id])
    with pytest.raises(exceptions.NotFoundException):
        sdk.tasks.retrieve(own.id)
    project.remove()
    with pytest.raises(exceptions.NotFoundException):
        sdk.tasks.retrieve(task.id)


def test_skeleton_labels(sdk):
    svg = ('<line x1="10" y1="10" x2="20" y2="20" data-type="edge" data-node-from="1" data-node-to="2"></line>'
           '<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" data-node-id="1" '
           'data-label-name="head"></circle>'
           '<circle r="1.5" cx="20" cy="20" data-type="element node" data-element-id="2" data-node-id="2" '
           'data-label-name="tail"></circle>')
    task = sdk.tasks.create(models.TaskWriteRequest(name="skeleton", labels=[models.PatchedLabelRequest(
        name="animal", type="skeleton", svg=svg,
        sublabels=[models.SublabelRequest(name="head", type="points"), models.SublabelRequest(name="tail")])]))
    (label,) = task.get_labels()
    assert label.type == "skeleton"
    subs = {s.name: s.id for s in label.sublabels}
    assert set(subs) == {"head", "tail"}
    assert f'data-label-id="{subs["head"]}"' in label.svg and "data-label-name" not in label.svg
    task.remove()


def test_access_token_client(stack, sdk):
    token = sdk.api_client.auth_api.create_access_tokens(models.AccessTokenWriteRequest(name="ci"))[0]
    from cvat_sdk.core.client import AccessTokenCredentials
    with make_client(stack.url) as pat_client:
        pat_client.login(AccessTokenCredentials(token.value))
        assert pat_client.users.retrieve_current_user().username == ADMIN[0]
        assert pat_client.api_client.auth_api.retrieve_access_tokens_self()[0].name == "ci"
