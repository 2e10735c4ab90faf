"""Settings: config.toml defaults, overridden by CVAT_* environment variables.

Plain module (no Flask) so the web app, the Celery workers, the benchmarks and
the tests all read configuration the same way.
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CONFIG_FILE = ROOT / "config.toml"


@dataclass(frozen=True)
class Settings:
    port: int
    web_workers: int
    storage_dir: Path
    share_dir: Path
    redis_url: str
    admin_user: str
    admin_password: str
    session_ttl: int
    password_scrypt_n: int
    max_request_bytes: int
    upload_max_bytes: int
    request_lease_seconds: int
    archive_max_members: int
    archive_max_bytes: int
    image_max_pixels: int
    export_ttl: int
    requeue_after: int
    media_threads: int
    video_processes: int
    jpeg_optimize: int


def load(environ=None) -> Settings:
    environ = os.environ if environ is None else environ
    with open(CONFIG_FILE, "rb") as f:
        raw = tomllib.load(f)
    values = {}
    for field in fields(Settings):
        if field.name not in raw:
            raise KeyError(f"config.toml lacks {field.name!r}")
        value = environ.get("CVAT_" + field.name.upper(), raw[field.name])
        if field.type == "int":
            value = int(value)
        elif field.type == "Path":
            value = Path(value)
            if not value.is_absolute():
                value = (ROOT / value).resolve()
        else:
            value = str(value)
        values[field.name] = value
    return Settings(**values)
