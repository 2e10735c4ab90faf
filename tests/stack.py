"""Start the real stack for tests and benchmarks: redis-server, a Celery worker
and gunicorn, each a subprocess on free ports of 127.0.0.1, sharing one
temporary storage directory. Never touches the machine's own Redis."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
ADMIN = ("admin", "Admin-pass-123")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, what: str, timeout: float, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                raise RuntimeError(f"{what}: process exited with {p.returncode}")
        try:
            if predicate():
                return
        except Exception:
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up in {timeout} s")


class Stack:
    def __init__(self, web_workers: int = 2, worker_concurrency: int = 2, extra_env=None, beat: bool = False):
        self.tmp = Path(tempfile.mkdtemp(prefix="cvat-stack-"))
        self.storage = self.tmp / "storage"
        self.share = self.tmp / "share"
        self.share.mkdir()
        self.redis_port = free_port()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "CVAT_PORT": str(self.port),
            "CVAT_WEB_WORKERS": str(web_workers),
            "CVAT_STORAGE_DIR": str(self.storage),
            "CVAT_SHARE_DIR": str(self.share),
            "CVAT_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CVAT_ADMIN_USER": ADMIN[0],
            "CVAT_ADMIN_PASSWORD": ADMIN[1],
            "PYTHONPATH": str(ROOT),
        })
        self.env.update(extra_env or {})
        self.worker_concurrency = worker_concurrency
        self.beat = beat
        self.procs: dict[str, subprocess.Popen] = {}
        self.logs = self.tmp / "logs"
        self.logs.mkdir()

    def _spawn(self, name, args):
        log = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        return self.procs[name]

    def start(self):
        self.start_redis()
        self.start_web()
        self.start_worker()
        return self

    def start_redis(self):
        """A redis-server that keeps nothing on disk: a restart comes back empty."""
        redis = self._spawn("redis", ["redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port),
                                      "--save", "", "--appendonly", "no", "--dir", str(self.tmp)])
        _wait(lambda: socket.create_connection(("127.0.0.1", self.redis_port), 0.2).close() or True,
              "redis-server", 20, [redis])

    def start_web(self):
        bin_dir = Path(sys.executable).parent
        web = self._spawn("web", [str(bin_dir / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"])
        _wait(lambda: requests.get(self.url + "/api/server/about", timeout=1).ok, "gunicorn", 60, [web])

    def start_worker(self):
        bin_dir = Path(sys.executable).parent
        log = self.logs / "worker.log"
        seen = log.stat().st_size if log.exists() else 0
        args = [str(bin_dir / "celery"), "-A", "workers.celery_app", "worker", "--loglevel", "INFO",
                "--concurrency", str(self.worker_concurrency), "--hostname", f"test-{self.port}@%h"]
        if self.beat:
            args.append("--beat")
        worker = self._spawn("worker", args)
        _wait(lambda: b"ready." in log.read_bytes()[seen:], "celery worker", 60, [worker])

    def stop(self, name=None, sig=15):
        for key in ([name] if name else list(self.procs)[::-1]):
            proc = self.procs.get(key)
            if proc is None or proc.poll() is not None:
                continue
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                continue
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                proc.wait(5)

    def close(self):
        self.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def log(self, name) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")
