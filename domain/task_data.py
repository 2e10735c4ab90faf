"""A task's media: where its files live, the upload staging area, the
submission of a data request, and reading back frames, chunks, previews and
metadata. The heavy building runs in workers.media.build (in Celery).

Files under Layout.task_dir(id):
  upload/            client files, base names only           upload.json  their arrival order
  pending.json       parameters of the data request being processed
  build/             output of a build in progress (removed on failure)
  data/              the committed output: chunks/{compressed,original}/{n}.zip|.mp4,
                     frames.json (per-frame metadata), preview.jpeg, source/ (kept media),
                     deleted.json (deleted task frames), previews/ (job previews)
The task document only holds the small `data` summary (see workers.media.build).
"""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import orjson
from filelock import FileLock

from domain import clock, data_request, requests as rq, share
from domain.errors import Conflict, Invalid, NotFound
from storage import composed
from storage.documents import write_atomic


class TaskFiles:
    def __init__(self, layout, task_id: int):
        self.task_id = task_id
        self.root = Path(layout.task_dir(task_id))

    upload = property(lambda self: self.root / "upload")
    upload_order = property(lambda self: self.root / "upload.json")
    upload_cache = property(lambda self: self.root / "upload-cache")
    pending = property(lambda self: self.root / "pending.json")
    build = property(lambda self: self.root / "build")
    data = property(lambda self: self.root / "data")
    lock = property(lambda self: FileLock(str(self.root / ".media.lock")))

    def chunk(self, quality: str, number: int, ext: str, base: Path | None = None) -> Path:
        return (base or self.data) / "chunks" / quality / f"{number}.{ext}"

    def frames(self, base: Path | None = None) -> Path:
        return (base or self.data) / "frames.json"

    def preview(self, base: Path | None = None) -> Path:
        return (base or self.data) / "preview.jpeg"

    def deleted(self) -> Path:
        return self.data / "deleted.json"

    def job_preview(self, job_id: int) -> Path:
        return self.data / "previews" / f"job-{job_id}.jpeg"


def read_json(path: Path, default=None):
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        return default


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, orjson.dumps(value))


# -- uploads ------------------------------------------------------------------------
def safe_name(name: str) -> str:
    """The base name of a client file name (multipart parts carry full paths)."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    if base in ("", ".", "..") or "\x00" in base or base.startswith(".") and set(base) == {"."}:
        raise Invalid({"client_files": [f"Invalid file name: {name!r}"]})
    return base


def _ensure_attachable(store, task_id: int) -> dict:
    task = store.peek("tasks", task_id)
    if task is None:
        raise NotFound()
    if task.get("data"):
        raise Invalid("Adding more data is not supported")
    active = rq.find(store, rq.make_rq_id("create", "task", task_id))
    if active is not None and active["status"] in rq.ACTIVE:
        raise Conflict("Request is being processed")
    return task


def begin_upload(store, layout, task_id: int) -> None:
    """Upload-Start: an empty staging area."""
    _ensure_attachable(store, task_id)
    files = TaskFiles(layout, task_id)
    files.root.mkdir(parents=True, exist_ok=True)
    with files.lock:
        shutil.rmtree(files.upload, ignore_errors=True)
        shutil.rmtree(files.upload_cache, ignore_errors=True)
        files.upload_order.unlink(missing_ok=True)


def uploaded_names(layout, task_id: int) -> list[str]:
    return read_json(TaskFiles(layout, task_id).upload_order, [])


def add_uploads(layout, task_id: int, items, on_written=None) -> list[str]:
    """Store client files as `upload/<base name>`; `items` (any iterable, read
    lazily: parts may still be arriving) are (name, write) pairs where
    `write(path)` writes the bytes. Names accumulate across requests in
    arrival order; a name already uploaded → 409. One lock and one order-file
    write per call, however many files. `on_written(name, staging name)` is
    told as soon as each file's bytes are on disk (before the commit)."""
    files = TaskFiles(layout, task_id)
    files.upload.mkdir(parents=True, exist_ok=True)
    with files.lock:
        known = set(read_json(files.upload_order, []))
    names: list[str] = []
    staged: list[Path] = []
    try:
        for name, write in items:
            name = safe_name(name)
            if name in known or name in names:
                raise Conflict("File with same name already exists")
            tmp = files.upload / f".{name}.{os.getpid()}.part"
            staged.append(tmp)
            names.append(name)
            write(tmp)
            if on_written is not None:
                on_written(name, tmp.name)
        with files.lock:
            order = read_json(files.upload_order, [])
            if set(names) & set(order):
                raise Conflict("File with same name already exists")
            for name, tmp in zip(names, staged):
                os.replace(tmp, files.upload / name)
            write_json(files.upload_order, order + names)
    finally:
        for tmp in staged:
            tmp.unlink(missing_ok=True)
    return names


def write_blocks(blocks):
    """A `write(path)` for add_uploads from an iterator of byte blocks."""
    def write(path: Path):
        with open(path, "wb") as out:
            for block in blocks:
                out.write(block)
    return write


def add_upload(layout, task_id: int, name: str, write) -> str:
    return add_uploads(layout, task_id, [(name, write)])[0]


def attach_file(layout, task_id: int, name: str, path: Path) -> str:
    """A completed upload (e.g. TUS) joins the staged client files."""
    def move(tmp):
        os.replace(path, tmp)
    return add_upload(layout, task_id, name, move)


# -- submission ---------------------------------------------------------------------
def _check_server_files(share_root: Path, names: list[str]) -> None:
    for name in names:
        path = share.resolve(share_root, name)
        if not path.exists():
            raise Invalid({"server_files": [f"{name} does not exist in the share"]})


def submit(store, layout, settings, task_id: int, user: dict, body: dict, send) -> str:
    """Validate the DataRequest, record it and queue the build. Returns the rq_id.
    `send(request_doc_id, task_id)` queues the Celery task."""
    params = data_request.parse(body)
    files = TaskFiles(layout, task_id)
    client = uploaded_names(layout, task_id)
    if params["server_files"]:
        _check_server_files(settings.share_dir, params["server_files"])
    if not (client or params["server_files"] or params["remote_files"]):
        raise Invalid({"client_files": ["No media data found: upload files or give server_files or remote_files"]})
    if params["upload_file_order"] and client:
        extra = sorted(set(params["upload_file_order"]) - set(client))
        missing = sorted(set(client) - set(params["upload_file_order"]))
        if extra or missing or len(params["upload_file_order"]) != len(client):
            raise Invalid({"upload_file_order": [
                f"The upload_file_order does not match the uploaded files: extra {extra}, missing {missing}"]})
    rq_id = rq.make_rq_id("create", "task", task_id)
    with store.transaction():
        task = _ensure_attachable(store, task_id)
        files.root.mkdir(parents=True, exist_ok=True)
        write_json(files.pending, {**params, "client_files": client})
        request = rq.create(store, rq_id, user["id"], {
            "type": "create:task", "target": "task", "task_id": task_id,
            "project_id": task.get("project_id"), "job_id": None, "org_id": None, "format": None,
            "function_id": None, "lightweight": None})
    try:
        send(request["id"], task_id)
    except Exception as e:  # broker down: the request must not stay queued forever
        rq.fail(store, request["id"], f"Could not queue the request: {e}")
    return rq_id


# -- reading back -------------------------------------------------------------------
def data_of(task: dict) -> dict:
    data = task.get("data")
    if not data:
        raise NotFound("Task has no data")
    return data


def chunk_count(data: dict) -> int:
    return math.ceil(data["size"] / data["chunk_size"])


def frames_meta(layout, task: dict) -> list[dict]:
    return read_json(TaskFiles(layout, task["id"]).frames(), [])


def deleted_frames(layout, task_id: int) -> list[int]:
    return read_json(TaskFiles(layout, task_id).deleted(), [])


def frame_time(layout, task_id: int, number: int) -> float | None:
    """Timestamp (s) of task frame `number` of a video task, recorded at build
    (lets ffmpeg seek exactly instead of decoding from the start)."""
    times = read_json(TaskFiles(layout, task_id).data / "video_index.json")
    return times[number] if times and 0 <= number < len(times) else None


def chunk_ext(data: dict, quality: str) -> str:
    kind = data["compressed_chunk_type"] if quality == "compressed" else data["original_chunk_type"]
    return "zip" if kind == "imageset" else "mp4"


def chunk_file(layout, task: dict, number: int, quality: str) -> Path:
    """The file of task chunk `number`, built on demand when it is a video chunk
    that was not needed yet (synchronously: the SDK does not retry a 429)."""
    data = data_of(task)
    last = chunk_count(data) - 1
    if not 0 <= number <= last:
        raise Invalid(f"Invalid chunk number '{number}'. The chunk number should be in the [0, {last}] range")
    files = TaskFiles(layout, task["id"])
    path = files.chunk(quality, number, chunk_ext(data, quality))
    if not composed.exists(path):
        if data["media"] != "video":
            raise NotFound("Chunk not found")
        with FileLock(str(path) + ".lock"):
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                first_task = number * data["chunk_size"]
                last_task = min(first_task + data["chunk_size"], data["size"]) - 1
                _video_chunk(layout, task, path, first_task, last_task, quality)
    return path


def _video_chunk(layout, task: dict, path: Path, first: int, last: int, quality: str) -> None:
    """An mp4 chunk of task frames first…last: originals near-lossless at full
    size; compressed ones at CVAT's crf for image_quality, halved in size while
    the height is ≥ 1080."""
    from workers.media import video
    data = data_of(task)
    step = data.get("step", 1)
    options = {}
    if quality == "compressed":
        height = (frames_meta(layout, task) or [{}])[0].get("height") or 0
        scale = 1
        while height // scale >= 1080:
            scale *= 2
        options = {"crf": round(51 * (100 - data["image_quality"]) / 99), "scale": scale}
    video.mp4_chunk(Path(data["video_path"]), path, data["start_frame"] + first * step,
                    data["start_frame"] + last * step, step, frame_time(layout, task["id"], first), **options)


def job_chunk_range(job: dict, data: dict, index: int) -> tuple[int, int]:
    count = math.ceil(job["frame_count"] / data["chunk_size"])
    if not 0 <= index < count:
        raise Invalid(f"Invalid chunk number '{index}'. The chunk number should be in the [0, {count - 1}] range")
    first = job["start_frame"] + index * data["chunk_size"]
    return first, min(first + data["chunk_size"] - 1, job["stop_frame"])


def job_chunk_file(layout, task: dict, job: dict, index: int, quality: str) -> Path:
    """Job chunk `index`: the job's frames counted from its own first frame. The
    task chunk itself when they coincide, else built once from task chunks."""
    data = data_of(task)
    first, last = job_chunk_range(job, data, index)
    cs = data["chunk_size"]
    if first % cs == 0 and (last + 1) % cs == 0 or (first % cs == 0 and last == data["size"] - 1):
        return chunk_file(layout, task, first // cs, quality)
    files = TaskFiles(layout, task["id"])
    ext = chunk_ext(data, quality)
    path = files.data / "job_chunks" / f"{job['id']}-{quality}-{index}-{first}-{last}.{ext}"
    if path.exists():
        return path
    from workers.media import chunks
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        if path.exists():
            return path
        if ext == "mp4":
            _video_chunk(layout, task, path, first, last, quality)
        else:
            members = []
            for frame in range(first, last + 1):
                chunk, pos = divmod(frame, cs)
                members.append(chunks.read_member(files.chunk(quality, chunk, "zip"), pos))
            chunks.write_zip(path, members)
    return path


def frame_bytes(layout, task: dict, number: int, quality: str) -> tuple[bytes, str]:
    """(bytes, media type) of task frame `number`."""
    data = data_of(task)
    if not 0 <= number < data["size"]:
        raise Invalid(f"Invalid frame {number}: the frame number should be in the [0, {data['size'] - 1}] range")
    from workers.media import chunks, video
    files = TaskFiles(layout, task["id"])
    chunk, index = divmod(number, data["chunk_size"])
    if data["media"] == "video" and quality == "original":
        return video.png_frame(Path(data["video_path"]), data["start_frame"] + number * data.get("step", 1),
                               frame_time(layout, task["id"], number)), "image/png"
    body, ext = chunks.read_member(files.chunk(quality, chunk, "zip"), index)
    return body, _MEDIA_TYPES.get(ext.lower(), "application/octet-stream")


_MEDIA_TYPES = {"jpg": "image/jpeg", "jpeg": "image/jpeg", "jpe": "image/jpeg", "png": "image/png",
                "bmp": "image/bmp", "webp": "image/webp", "gif": "image/gif", "tif": "image/tiff",
                "tiff": "image/tiff"}


def task_preview(layout, task: dict) -> Path | None:
    if not task.get("data"):
        return None
    path = TaskFiles(layout, task["id"]).preview()
    return path if path.exists() else None


def job_preview(layout, task: dict, job: dict) -> Path | None:
    if not task.get("data"):
        return None
    files = TaskFiles(layout, task["id"])
    path = files.job_preview(job["id"])
    if not path.exists():
        from workers.media import images
        body, _ = frame_bytes(layout, task, job["start_frame"], "compressed")
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, images.preview(body))
    return path


def context_images(layout, task: dict, number: int) -> Path:
    """The zip of frame `number`'s related (context) images."""
    data = data_of(task)
    if not 0 <= number < data["size"]:
        raise Invalid(f"Invalid frame {number}: the frame number should be in the [0, {data['size'] - 1}] range")
    path = TaskFiles(layout, task["id"]).data / "context" / f"{number}.zip"
    if not path.exists():
        raise NotFound("No context images for this frame")
    return path


def placeholder_preview() -> bytes:
    from workers.media import images
    return images.placeholder()


def meta(layout, task: dict, job: dict | None = None) -> dict:
    """DataMetaRead of the task, or restricted to the job."""
    data = data_of(task)
    step = data.get("step", 1)
    frames = frames_meta(layout, task)
    deleted = deleted_frames(layout, task["id"])
    out = {
        "chunks_updated_date": data["chunks_updated_date"],
        "chunk_size": data["chunk_size"],
        "size": data["size"],
        "image_quality": data["image_quality"],
        "start_frame": data["start_frame"],
        "stop_frame": data["stop_frame"],
        "frame_filter": data.get("frame_filter", ""),
        "deleted_frames": deleted,
        "included_frames": None,
        "storage": data.get("storage", "local"),
        "cloud_storage_id": None,
        "chapters": None,
        "storage_method": data.get("storage_method", "file_system"),
        "frames": frames,
    }
    if job is not None:
        first, last = job["start_frame"], job["stop_frame"]
        out.update(size=job["frame_count"], start_frame=data["start_frame"] + first * step,
                   stop_frame=data["start_frame"] + last * step,
                   deleted_frames=[f for f in deleted if first <= f <= last])
        if data["media"] != "video":
            out["frames"] = frames[first:last + 1]
        if job.get("type") == "ground_truth":
            # A ground-truth job spans the task but holds only its chosen frames (source numbers).
            out["included_frames"] = [data["start_frame"] + f * step for f in job.get("frames", [])]
    return out


def set_deleted_frames(store, layout, task: dict, frames, job: dict | None = None) -> None:
    data = data_of(task)
    if not isinstance(frames, list) or not all(isinstance(f, int) and not isinstance(f, bool) for f in frames):
        raise Invalid({"deleted_frames": ["Expected a list of integers."]})
    if len(set(frames)) != len(frames):
        raise Invalid({"deleted_frames": ["Deleted frames cannot repeat"]})
    files = TaskFiles(layout, task["id"])
    with files.lock:
        current = set(deleted_frames(layout, task["id"]))
        if job is None:
            unknown = sorted(f for f in frames if not 0 <= f < data["size"])
            if unknown:
                raise Invalid({"deleted_frames": [f"Unknown frames {set(unknown)} requested for removal"]})
            new = set(frames)
        else:
            outside = sorted(f for f in frames if not job["start_frame"] <= f <= job["stop_frame"])
            if outside:
                raise Invalid({"deleted_frames": [f"Frames {outside} do not belong to the job"]})
            new = {f for f in current if not job["start_frame"] <= f <= job["stop_frame"]} | set(frames)
        write_json(files.deleted(), sorted(new))
    store.update("tasks", task["id"], lambda t: t.update(updated_date=clock.now()))
