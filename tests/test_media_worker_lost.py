"""A worker killed mid-build leaves its request failed (never `started`
forever) and the task able to take data again. Uses its own stack with a short
request lease so the test is quick."""
from __future__ import annotations

import http.server
import os
import signal
import threading
import time

import pytest
import requests

from tests.stack import ADMIN, Stack
from tests.test_media_api import _png, _task, _upload, _wait


class _Stalling(http.server.BaseHTTPRequestHandler):
    """Sends a few bytes then hangs: the worker is stuck downloading."""
    started = threading.Event()

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "1000000")
        self.end_headers()
        self.wfile.write(b"\x89PNG")
        self.wfile.flush()
        _Stalling.started.set()
        time.sleep(30)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def short_lease_stack():
    s = Stack(extra_env={"CVAT_REQUEST_LEASE_SECONDS": "2"}, web_workers=1, worker_concurrency=1)
    s.start()
    yield s
    s.close()


def test_killed_worker_fails_request(short_lease_stack):
    stack = short_lease_stack
    session = requests.Session()
    key = session.post(stack.url + "/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]}).json()["key"]
    session.headers["Authorization"] = f"Token {key}"
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Stalling)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        task_id = _task(session, stack)
        r = session.post(f"{stack.url}/api/tasks/{task_id}/data/", json={
            "image_quality": 70, "remote_files": [f"http://127.0.0.1:{server.server_address[1]}/slow.png"]})
        rq_id = r.json()["rq_id"]
        assert _Stalling.started.wait(20)
        running = session.get(f"{stack.url}/api/requests/{rq_id}").json()
        assert running["status"] == "started" and running["started_date"]
        assert 0 <= running["progress"] < 1 and running["message"]  # the current step, e.g. "Gathering media"
        os.killpg(stack.procs["worker"].pid, signal.SIGKILL)
        stack.procs["worker"].wait(10)
        request = _wait(session, stack, rq_id, timeout=20)
        assert request["status"] == "failed"
        assert "stopped unexpectedly" in request["message"]
        assert "size" not in session.get(f"{stack.url}/api/tasks/{task_id}").json()
        # a new worker: the task takes data again, and the old message is not re-run
        stack.start_worker()
        r = _upload(session, stack, task_id, {"good.png": _png()})
        assert r.status_code == 202
        assert _wait(session, stack, r.json()["rq_id"])["status"] == "finished"
    finally:
        server.shutdown()
