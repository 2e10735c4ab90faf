"""Finished export archives (datasets and backups) and uploaded import files.

An archive is named by a key derived from everything that shapes its content
(the resource's versions, the format, save_images …): exporting an unchanged
resource again finds the same key and reuses the archive, while any change to
annotations, data or labels gives a new key. Archives older than the
configured TTL are deleted by `cleanup` (run on every export and hourly).
"""
from __future__ import annotations

import contextlib
import fcntl
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

    def pinned_layout(self, key: str) -> composed.Layout:
        """The layout of a planned archive whose parts stay on disk for as long
        as the layout lives: a download reads them lazily, so `cleanup` and a
        re-export must not remove them underneath it (FileNotFoundError if gone)."""
        for _ in range(3):
            pin = _FolderLock(self.parts(key), fcntl.LOCK_SH)   # FileNotFoundError: no parts
            try:
                if pin.current():
                    layout = self.layout(key)
                    layout.pin = pin
                    return layout
            except BaseException:
                pin.close()
                raise
            pin.close()   # replaced by a re-export while we waited: take the new one
        raise FileNotFoundError(self.parts(key))

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
        `write_plan(archive path)`: the plan, written last, is what counts.
        While a download still reads the previous archive of this key, that
        one is kept and refreshed instead: the same key means the same content."""
        parts = self.parts(key)

        def replace():
            self.plan(key).unlink(missing_ok=True)
            shutil.rmtree(parts, ignore_errors=True)
            os.replace(tmp_parts, parts)
            write_plan(self.path(key))
            return self.plan(key)
        with _unused(parts) as free:
            if free:
                return replace()
            if self.plan(key).exists():
                shutil.rmtree(tmp_parts, ignore_errors=True)
                os.utime(self.plan(key))
                return self.plan(key)
        # Without a plan, a download holds the lock only until it finds none.
        with _unused(parts, wait=True):
            return replace()

    def cleanup(self) -> int:
        """Delete expired archives and plans (with their parts) and abandoned
        temporary files and folders; returns how many. Parts a download is
        reading (`pinned_layout`) are left for a later run."""
        removed = 0
        now = time.time()
        plan_suffix = ".zip" + composed.SUFFIX
        for path in self.root.glob("*") if self.root.exists() else []:
            try:
                name = path.name
                if name.endswith(".parts"):
                    if self.plan(name[:-len(".parts")]).exists() or now - path.stat().st_mtime < 6 * 3600:
                        continue
                    with _unused(path) as free:
                        if free:
                            shutil.rmtree(path, ignore_errors=True)
                            removed += 1
                    continue
                archive = name.endswith((".zip", plan_suffix))
                limit = self.ttl if archive else max(self.ttl, 6 * 3600)
                if now - path.stat().st_mtime < limit:
                    continue
                if name.endswith(plan_suffix):
                    parts = self.parts(name[:-len(plan_suffix)])
                    with _unused(parts) as free:
                        if free:
                            path.unlink()
                            shutil.rmtree(parts, ignore_errors=True)
                            removed += 1
                elif path.is_dir():
                    shutil.rmtree(path, ignore_errors=True)
                    removed += 1
                else:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                pass
        return removed


class _FolderLock:
    """An flock(2) on a folder, released by `close` or when the object is
    dropped (a HEAD response never iterates, so never closes, its body), and
    by the kernel when the process dies."""

    fd = None

    def __init__(self, folder: Path, mode: int):
        self.folder = Path(folder)
        self.fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(self.fd, mode)
        except BaseException:
            self.close()
            raise

    def current(self) -> bool:
        """Whether the locked folder is still the one at its path."""
        try:
            here = os.stat(self.folder)
        except FileNotFoundError:
            return False
        mine = os.fstat(self.fd)
        return (here.st_dev, here.st_ino) == (mine.st_dev, mine.st_ino)

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    __del__ = close


@contextlib.contextmanager
def _unused(folder: Path, wait: bool = False):
    """Yields whether no download pins `folder` (True if it does not exist),
    holding that answer until the block ends; `wait` waits for the pins to go."""
    try:
        lock = _FolderLock(folder, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except FileNotFoundError:
        yield True
        return
    except BlockingIOError:
        yield False
        return
    try:
        yield True
    finally:
        lock.close()


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
