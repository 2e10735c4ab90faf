"""Schema fuzzing: schemathesis generates requests from the server's own
/api/schema/ for every operation, sends them as an authenticated superuser,
and checks that no answer is a server error and every answer matches what the
schema documents (status code, content type, body schema).

Bounded: CVAT_FUZZ_EXAMPLES examples per operation (default 5; the issue's
figures were taken with more). Destructive calls on the caller's own session
(logout, password change, deleting users) are skipped so the run keeps its
credentials."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

import settings as settings_module
from tests.stack import ADMIN, free_port

EXAMPLES = int(os.environ.get("CVAT_FUZZ_EXAMPLES", "5"))
SKIP = {("POST", "/api/auth/logout"), ("POST", "/api/auth/password/change")}


def _app():
    """Built at import: schemathesis needs the schema to generate the test cases
    (its fixture-based loader does not work with this pytest)."""
    from server import create_app
    root = Path(tempfile.mkdtemp(prefix="cvat-fuzz-"))
    (root / "share").mkdir()
    app = create_app(settings_module.load({**os.environ, "CVAT_STORAGE_DIR": str(root / "storage"),
                                           "CVAT_SHARE_DIR": str(root / "share"),
                                           "CVAT_ADMIN_USER": ADMIN[0], "CVAT_ADMIN_PASSWORD": ADMIN[1],
                                           # no worker here: never reach a Redis of the machine
                                           "CVAT_REDIS_URL": f"redis://127.0.0.1:{free_port()}/0"}))
    app.config["FUZZ_ROOT"] = root
    return app


APP = _app()
schema = schemathesis.openapi.from_wsgi("/api/schema/", APP)


@pytest.fixture(scope="module")
def fuzz_app():
    client = APP.test_client()
    APP.config["FUZZ_KEY"] = client.post("/api/auth/login", json={"username": ADMIN[0],
                                                                  "password": ADMIN[1]}).json["key"]
    yield APP
    shutil.rmtree(APP.config["FUZZ_ROOT"], ignore_errors=True)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation(case, fuzz_app):
    if (case.method.upper(), case.path) in SKIP or (case.path.startswith("/api/users") and case.method == "DELETE"):
        pytest.skip("would end the fuzzing session's own credentials")
    case.call_and_validate(
        headers={"Authorization": f"Token {fuzz_app.config['FUZZ_KEY']}"},
        checks=[checks.not_a_server_error, checks.response_schema_conformance, checks.status_code_conformance,
                checks.content_type_conformance])
