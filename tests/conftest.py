"""Fixtures: `stack` is the real server (redis-server, Celery worker, gunicorn)
started once per run; `app`/`client` are an in-process app on a fresh storage
directory for fast checks of one endpoint at a time."""
from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import settings as settings_module  # noqa: E402
from tests.stack import ADMIN, Stack, free_port  # noqa: E402


@pytest.fixture(scope="session")
def stack():
    s = Stack()
    try:
        s.start()
    except Exception:
        for name in ("redis", "web", "worker"):
            try:
                print(f"--- {name} log ---\n{s.log(name)}", file=sys.stderr)
            except OSError:
                pass
        s.close()
        raise
    yield s
    s.close()


@pytest.fixture(scope="session")
def admin_session(stack):
    """requests.Session with the admin's Token."""
    key = requests.post(stack.url + "/api/auth/login",
                        json={"username": ADMIN[0], "password": ADMIN[1]}).json()["key"]
    session = requests.Session()
    session.headers["Authorization"] = f"Token {key}"
    return session


@pytest.fixture
def app(tmp_path):
    from server import create_app
    # In-process apps have no worker: the broker URL points at a closed port so
    # nothing ever reaches a Redis the machine runs for other purposes.
    env = {"CVAT_STORAGE_DIR": str(tmp_path / "storage"), "CVAT_SHARE_DIR": str(tmp_path / "share"),
           "CVAT_ADMIN_USER": ADMIN[0], "CVAT_ADMIN_PASSWORD": ADMIN[1],
           "CVAT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}
    (tmp_path / "share").mkdir()
    return create_app(settings_module.load({**os.environ, **env}))


class ApiClient:
    """Flask test client that sends a fixed Authorization header."""

    def __init__(self, flask_client, authorization=None):
        self.c = flask_client
        self.headers = {"Authorization": authorization} if authorization else {}

    def __getattr__(self, method):
        def call(path, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return getattr(self.c, method)(path, headers=headers, **kwargs)
        return call


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def client(app):
    """The admin, authenticated with a login token."""
    c = app.test_client()
    key = c.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json["key"]
    c.delete_cookie("sessionid")
    c.delete_cookie("csrftoken")
    return ApiClient(c, f"Token {key}")


@pytest.fixture
def make_user(app):
    """Registers a user and returns an ApiClient authenticated as that user."""
    def make(username, password="Passw0rd-long"):
        c = app.test_client()
        r = c.post("/api/auth/register", json={"username": username, "password1": password,
                                               "password2": password, "email": f"{username}@example.com"})
        assert r.status_code == 201, r.json
        key = c.post("/api/auth/login", json={"username": username, "password": password}).json["key"]
        c.delete_cookie("sessionid")
        c.delete_cookie("csrftoken")
        api = ApiClient(c, f"Token {key}")
        api.id = c.get("/api/users/self", headers={"Authorization": f"Token {key}"}).json["id"]
        api.username = username
        return api
    return make
