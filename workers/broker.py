"""The Redis that `make run` uses: an existing one at CVAT_REDIS_URL, or its own.

`python -m workers.broker check` exits 0 when a Redis answers at the URL;
`python -m workers.broker serve` runs redis-server on the URL's host and port
(the Procfile's `redis` entry, used only when none answers).
"""
from __future__ import annotations

import os
import sys
from urllib.parse import urlsplit

import redis

import settings as settings_module


def answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def serve(url: str, directory: str) -> None:
    parts = urlsplit(url)
    os.makedirs(directory, exist_ok=True)
    os.execvp("redis-server", ["redis-server", "--bind", parts.hostname or "127.0.0.1",
                               "--port", str(parts.port or 6379), "--save", "", "--appendonly", "no",
                               "--dir", directory])


if __name__ == "__main__":
    settings = settings_module.load()
    command = sys.argv[1] if len(sys.argv) > 1 else "check"
    if command == "check":
        sys.exit(0 if answers(settings.redis_url) else 1)
    serve(settings.redis_url, str(settings.storage_dir / "redis"))
