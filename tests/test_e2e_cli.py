"""End to end with cvat-cli against the real stack."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.stack import ADMIN

CLI = str(Path(sys.executable).parent / "cvat-cli")


@pytest.fixture
def cli(stack, tmp_path):
    env = {**os.environ, "HOME": str(tmp_path), "PASS": ADMIN[1]}
    env.pop("CVAT_ACCESS_TOKEN", None)

    def run(*args, **kwargs):
        result = subprocess.run([CLI, "--server-host", stack.url, "--auth", ADMIN[0], *args],
                                env=env, capture_output=True, text=True, timeout=120, **kwargs)
        assert result.returncode == 0, result.stderr
        return result.stdout
    return run


def test_project_create_list_delete(cli):
    labels = json.dumps([{"name": "car", "attributes": [
        {"name": "color", "mutable": False, "input_type": "radio", "values": ["red", "green"]}]}])
    out = cli("project", "create", "cli project", "--labels", labels, "--bug_tracker", "https://bugs.example")
    project_id = int(out.strip().split()[-1])
    listed = cli("project", "ls", "--json")
    projects = {p["id"]: p for p in json.loads(listed)}
    assert projects[project_id]["name"] == "cli project"
    assert projects[project_id]["bug_tracker"] == "https://bugs.example"
    cli("project", "delete", str(project_id))
    assert project_id not in {p["id"] for p in json.loads(cli("project", "ls", "--json"))}


def test_task_ls(cli, admin_session, stack):
    created = admin_session.post(stack.url + "/api/tasks", json={"name": "for cli", "labels": [{"name": "x"}]})
    assert created.status_code == 201
    tasks = json.loads(cli("task", "ls", "--json"))
    assert created.json()["id"] in {t["id"] for t in tasks}
    plain = cli("task", "ls")
    assert str(created.json()["id"]) in plain
