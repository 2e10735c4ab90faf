"""Finished export archives (datasets and backups) and uploaded import files.

An archive is named by a key derived from everything that shapes its content
(the resource's versions, the format, save_images …): exporting an unchanged
resource again finds the same key and reuses the archive, while any change to
annotations, data or labels gives a new key. Archives older than the
configured TTL are deleted by `cleanup` (run on every export and hourly).
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import orjson

from domain import annotations, labels as label_ops
from domain.errors import NotFound
from storage import composed

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def content_key(*parts) -> str:
    return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()[:40]


def task_version(store, layout, task: dict) -> list:
    """What a task export depends on: task fields, data, labels, annotations."""
    if task.get("project_id") is not None:
        labels = label_ops.owner_labels(store, project_id=task["project_id"])
    else:
        labels = label_ops.owner_labels(store, task_id=task["id"])
    jobs = [(j["id"], j["start_frame"], j["stop_frame"], j["stage"], j["state"])
            for j in store.scan("jobs") if j["task_id"] == task["id"]]
    return [task, labels, jobs, annotations.current_etag(annotations.task_scope(store, task["id"]))]


def dataset_key(store, layout, operation: dict) -> str:
    """The archive key of a dataset export request (NotFound if its target is gone)."""
    target = operation["target"]
    if target == "project":
        project = store.peek("projects", operation["project_id"])
        if project is None:
            raise NotFound("The project no longer exists.")
        tasks = [t for t in store.scan("tasks") if t.get("project_id") == project["id"]]
        version = [project, [task_version(store, layout, t) for t in tasks]]
    else:
        task = store.peek("tasks", operation["task_id"])
        job = store.peek("jobs", operation["job_id"]) if target == "job" else None
        if task is None or (target == "job" and job is None):
            raise NotFound(f"The {target} no longer exists.")
        version = [task_version(store, layout, task), job]
    return content_key("dataset", target, operation["format"], operation["save_images"], version)


def backup_key(store, layout, operation: dict) -> str:
    if operation["target"] == "project":
        project = store.peek("projects", operation["project_id"])
        if project is None:
            raise NotFound("The project no longer exists.")
        tasks = [t for t in store.scan("tasks") if t.get("project_id") == project["id"]]
        return content_key("backup", "project", project, [task_version(store, layout, t) for t in tasks])
    task = store.peek("tasks", operation["task_id"])
    if task is None:
        raise NotFound("The task no longer exists.")
    return content_key("backup", "task", task_version(store, layout, task))


class Archives:
    def __init__(self, layout, ttl: int):
        self.root = Path(layout.exports)
        self.ttl = ttl

    def path(self, key: str) -> Path:
        return self.root / f"{key}.zip"

    def plan(self, key: str) -> Path:
        return composed.plan_path(self.path(key))

    def parts(self, key: str) -> Path:
        return self.root / f"{key}.parts"

    def fresh(self, key: str) -> Path | None:
        """The archive (or the plan of one, see workers.zip_out) for `key` if
        it exists and has not expired."""
        for path in (self.path(key), self.plan(key)):
            try:
                age = time.time() - path.stat().st_mtime
            except FileNotFoundError:
                continue
            return path if age < self.ttl else None
        return None

    def layout(self, key: str) -> composed.Layout:
        """How to lay out a planned archive's bytes (FileNotFoundError if gone)."""
        return composed.Layout(self.path(key), base=self.parts(key))

    def writing(self, key: str) -> Path:
        """A temporary path to build the archive (or its parts folder) at;
        `commit` or `commit_plan` moves it in place."""
        self.root.mkdir(parents=True, exist_ok=True)
        return self.root / f".{key}.{os.getpid()}.{uuid.uuid4().hex}.tmp"

    def commit(self, tmp: Path, key: str) -> Path:
        final = self.path(key)
        os.replace(tmp, final)
        return final

    def commit_plan(self, tmp_parts: Path, key: str, write_plan) -> Path:
        """Moves a planned archive's parts in place, then writes its plan with
        `write_plan(archive path)`: the plan, written last, is what counts."""
        parts = self.parts(key)
        self.plan(key).unlink(missing_ok=True)
        shutil.rmtree(parts, ignore_errors=True)
        os.replace(tmp_parts, parts)
        write_plan(self.path(key))
        return self.plan(key)

    def cleanup(self) -> int:
        """Delete expired archives and plans (with their parts) and abandoned
        temporary files and folders; returns how many."""
        removed = 0
        now = time.time()
        for path in self.root.glob("*") if self.root.exists() else []:
            try:
                name = path.name
                if name.endswith(".parts"):
                    if self.plan(name[:-len(".parts")]).exists() or now - path.stat().st_mtime < 6 * 3600:
                        continue
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
                    continue
                archive = name.endswith((".zip", ".zip" + composed.SUFFIX))
                limit = self.ttl if archive else max(self.ttl, 6 * 3600)
                if now - path.stat().st_mtime >= limit:
                    if path.is_dir():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink()
                    if name.endswith(".zip" + composed.SUFFIX):
                        shutil.rmtree(self.parts(name[:-len(".zip" + composed.SUFFIX)]), ignore_errors=True)
                    removed += 1
            except FileNotFoundError:
                pass
        return removed


def download_name(kind: str, name: str, what: str, ext: str = "zip") -> str:
    """CVAT's attachment name, e.g. task_my-task_backup_2026_01_31_12_00_00.zip,
    reduced to characters every client and file system accepts."""
    stamp = datetime.now(timezone.utc).strftime("%Y_%m_%d_%H_%M_%S")
    safe = _UNSAFE.sub("_", name).strip("._") or kind
    return f"{kind}_{safe}_{what}_{stamp}.{ext}".lower()


def safe_filename(name: str | None, default: str) -> str:
    """A client-chosen download name, kept to a base name of safe characters."""
    if not name:
        return default
    base = _UNSAFE.sub("_", name.replace("\\", "/").rsplit("/", 1)[-1]).strip("._")
    return base or default


# -- uploaded files for imports ---------------------------------------------------------
def stage_upload(layout, name: str, write) -> Path:
    """Stages one uploaded import file in a fresh folder: `write(path)` puts the
    bytes there (a multipart part's save, or a move of a finished TUS file)."""
    folder = Path(layout.imports) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    path = folder / (safe_filename(name, "upload.bin"))
    try:
        write(path)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return path


def move_into(source: Path):
    """A `write` for stage_upload that moves a finished upload file in place."""
    return lambda path: shutil.move(str(source), path)


def drop_upload(path: Path) -> None:
    shutil.rmtree(Path(path).parent, ignore_errors=True)


def purge(layout, ttl: int) -> int:
    """Expired archives plus staged uploads older than a day (their request is long gone)."""
    removed = Archives(layout, ttl).cleanup()
    root = Path(layout.imports)
    now = time.time()
    for folder in root.iterdir() if root.exists() else []:
        try:
            if now - folder.stat().st_mtime > 24 * 3600:
                shutil.rmtree(folder, ignore_errors=True)
                removed += 1
        except FileNotFoundError:
            pass
    return removed
