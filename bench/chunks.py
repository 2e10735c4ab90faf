"""Chunk serving: chunks per second delivered to 8 concurrent keep-alive
clients by GET /api/tasks/{id}/data/?type=chunk (auth, access check, ETag,
file streamed by gunicorn), against a plain static file server (Python's
ThreadingHTTPServer) serving the very same chunk files. ratio = static / ours;
target ≤ 1.25.

    python bench/chunks.py [seconds]
"""
from __future__ import annotations

import functools
import http.server
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests  # noqa: E402
from PIL import Image  # noqa: E402

from bench._common import running_stack, sdk_client  # noqa: E402
from tests.stack import ADMIN  # noqa: E402

CLIENTS = 8
SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 5.0
TARGET = 1.25


def _load(urls: list[str], headers: dict) -> float:
    """Chunks per second fetched by CLIENTS threads for SECONDS."""
    counts = [0] * CLIENTS
    stop = time.monotonic() + SECONDS

    def client(k):
        session = requests.Session()
        session.headers.update(headers)
        i = k
        while time.monotonic() < stop:
            r = session.get(urls[i % len(urls)])
            assert r.status_code == 200 and len(r.content) > 0, r.status_code
            counts[k] += 1
            i += 1

    threads = [threading.Thread(target=client, args=(k,)) for k in range(CLIENTS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(counts) / (time.monotonic() - t0)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like gunicorn

    def log_message(self, *args):
        pass


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-chunks-") as tmp, running_stack() as stack:
        paths = []
        for i in range(80):
            path = Path(tmp) / f"f{i:03d}.jpg"
            Image.effect_noise((1280, 720), 30 + i % 20).convert("RGB").save(path, quality=85)
            paths.append(path)
        with sdk_client(stack) as client:
            from cvat_sdk.api_client import models
            task = client.tasks.create_from_data(models.TaskWriteRequest(name="bench chunks"), paths,
                                                 data_params={"chunk_size": 8})
        chunk_dir = stack.storage / "tasks" / str(task.id) / "data" / "chunks" / "compressed"
        count = len(list(chunk_dir.glob("*.zip")))
        size = sum(p.stat().st_size for p in chunk_dir.glob("*.zip")) / count
        print(f"{count} compressed chunks of {size / 2**20:.2f} MiB on average")
        key = requests.post(stack.url + "/api/auth/login",
                            json={"username": ADMIN[0], "password": ADMIN[1]}).json()["key"]
        ours_urls = [f"{stack.url}/api/tasks/{task.id}/data/?type=chunk&quality=compressed&number={n}"
                     for n in range(count)]
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0),
                                                 functools.partial(_Quiet, directory=str(chunk_dir)))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        static_urls = [f"http://127.0.0.1:{server.server_address[1]}/{n}.zip" for n in range(count)]
        try:  # alternate and keep the best of each: the machine may be shared
            static = ours = 0.0
            for _ in range(2):
                static = max(static, _load(static_urls, {}))
                ours = max(ours, _load(ours_urls, {"Authorization": f"Token {key}"}))
        finally:
            server.shutdown()
        print(f"static file server: {static:.0f} chunks/s; ours: {ours:.0f} chunks/s "
              f"({CLIENTS} clients, {SECONDS:.0f} s each)")
        print(f"ratio: {static / ours:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
