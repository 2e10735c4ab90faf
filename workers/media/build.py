"""Build a task's data from a submitted data request: gather the media (client
uploads, share files, remote URLs, archives), sort and select frames, write
compressed and original chunks, per-frame metadata and the preview, then commit
the task's `data` summary and its jobs in one store transaction.

Everything is written under the task's `build/` directory and renamed to
`data/` only at the commit, so a failure (or a killed worker) leaves the task
without data and able to take data again.
"""
from __future__ import annotations

import fnmatch
import os
import random
import re
import shutil
import threading
import time
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import orjson

from domain import clock, jobs as job_ops, share
from domain.errors import DomainError
from domain.task_data import TaskFiles, read_json, write_json
from storage import composed
from workers.media import archives, chunks, images, precompress, video
from workers.media.images import MediaError


@dataclass
class Source:
    name: str     # frame name: relative path as CVAT reports it
    path: Path    # where the bytes are


@dataclass
class Limits:
    archive_members: int = 100_000
    archive_bytes: int = 20 * 2**30
    remote_bytes: int = 2 * 2**30
    threads: int = 2
    video_processes: int = 2
    jpeg_optimize: bool = False


def natural_key(name: str):
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


class Progress:
    """Throttled progress reports: report(fraction, message)."""

    def __init__(self, report, start=0.0, end=1.0):
        self.report, self.start, self.end = report, start, end
        self.last = 0.0

    def __call__(self, fraction: float, message: str | None = None, force=False):
        now = time.monotonic()
        if force or now - self.last > 0.3:
            self.last = now
            self.report(self.start + (self.end - self.start) * max(0.0, min(1.0, fraction)), message)


# -- gathering -----------------------------------------------------------------------
def _share_sources(params, share_root: Path, copy_to: Path | None) -> list[Source]:
    root = Path(share_root).resolve()
    excludes = [e.lstrip("/") for e in params["server_files_exclude"]]

    def excluded(rel: str) -> bool:
        return any(rel == e or (e.endswith("/") and rel.startswith(e)) for e in excludes)

    out: list[Source] = []
    for entry in params["server_files"]:
        path = share.resolve(root, entry)
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for fname in sorted(filenames):
                    real = Path(dirpath, fname).resolve()
                    if root not in real.parents or not real.is_file():
                        continue  # a symlink out of the share is ignored
                    rel = str(Path(dirpath, fname).relative_to(root))
                    if not excluded(rel):
                        out.append(Source(rel, real))
        elif path.is_file():
            rel = str(path.relative_to(root))
            if not excluded(rel):
                out.append(Source(rel, path))
        else:
            raise MediaError(f"{entry} does not exist in the share")
    if copy_to is not None:
        for src in out:
            target = copy_to / src.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src.path, target)
            src.path = target
    return out


def _download(url: str, target_dir: Path, max_bytes: int) -> Source:
    name = os.path.basename(urllib.parse.urlsplit(url).path)
    name = urllib.parse.unquote(name)
    if not name or name in (".", ".."):
        raise MediaError(f"Can't derive a file name from the URL {url}")
    target = target_dir / name
    if target.exists():
        raise MediaError(f"Remote file name {name} is used twice")
    target_dir.mkdir(parents=True, exist_ok=True)
    total = 0
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as out:
            while True:
                block = response.read(1 << 20)
                if not block:
                    break
                total += len(block)
                if total > max_bytes:
                    raise MediaError(f"Remote file {url} is larger than {max_bytes} bytes")
                out.write(block)
    except MediaError:
        raise
    except (OSError, ValueError) as e:
        raise MediaError(f"Can't download {url}: {e}") from None
    return Source(name, target)


def _expand_archives(sources: list[Source], work: Path, limits: Limits, progress) -> list[Source]:
    out: list[Source] = []
    for i, src in enumerate(sources):
        if archives.is_archive(src.name):
            dest = work / "extracted" / f"{i}"
            names = archives.extract(src.path, dest, src.name, limits.archive_members, limits.archive_bytes)
            out.extend(Source(n, dest / n) for n in names)
            progress(0, f"Unpacked {src.name}")
        else:
            out.append(src)
    return out


def manifest_names(lines: bytes, label: str) -> list[str]:
    """The file names a CVAT manifest (.jsonl) lists, in its order (the
    header lines name no file). MediaError names `label` if it is not JSON lines."""
    names = []
    for line in lines.splitlines():
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError:
            raise MediaError(f"{label} is not valid JSON lines") from None
        if isinstance(item, dict) and "name" in item:
            names.append(item["name"] + item.get("extension", ""))
    return names


def _order(images_: list[Source], params, manifest: Path | None, client_order: list[str]) -> list[Source]:
    method = params["sorting_method"]
    if params["job_file_mapping"]:
        by_name = {s.name: s for s in images_}
        wanted = [n for job in params["job_file_mapping"] for n in job]
        missing = [n for n in wanted if n not in by_name]
        if missing:
            raise MediaError(f"job_file_mapping names files that were not uploaded: {', '.join(missing[:5])}")
        return [by_name[n] for n in wanted]
    if method == "lexicographical":
        return sorted(images_, key=lambda s: s.name)
    if method == "natural":
        return sorted(images_, key=lambda s: natural_key(s.name))
    if method == "random":
        shuffled = list(images_)
        random.shuffle(shuffled)
        return shuffled
    # predefined: upload_file_order, else manifest, else arrival order
    order = params["upload_file_order"] or (
        manifest_names(manifest.read_bytes(), f"Manifest {manifest.name}") if manifest else None)
    if order:
        rank = {n: i for i, n in enumerate(order)}
        unknown = [s.name for s in images_ if s.name not in rank]
        if unknown:
            raise MediaError(f"{unknown[0]} is not listed in the predefined order")
        return sorted(images_, key=lambda s: rank[s.name])
    return images_


def gather(params: dict, files: TaskFiles, share_root: Path, limits: Limits, progress) -> list[Source]:
    work = files.build
    sources = [Source(n, files.upload / n) for n in params["client_files"]]
    if params["server_files"]:
        sources += _share_sources(params, share_root, work / "source" if params["copy_data"] else None)
    for url in params["remote_files"]:
        sources.append(_download(url, work / "remote", limits.remote_bytes))
        progress(0, f"Downloaded {url}")
    return _expand_archives(sources, work, limits, progress)


# -- building ------------------------------------------------------------------------
def default_chunk_size(width: int, height: int) -> int:
    return max(2, min(72, 36 * 1920 * 1080 // max(1, width * height)))


RELATED_DIR = "related_images"


def split_related(sources: list[Source]) -> tuple[list[Source], dict[str, list[Source]]]:
    """Context images (CVAT layout: the images of `d/f.jpg` live in
    `d/related_images/f_jpg/`) are not frames: returns (frames, related by
    the frame directory key `d/related_images/f_jpg`)."""
    frames, related = [], {}
    for src in sources:
        parts = src.name.split("/")
        if RELATED_DIR in parts[:-1]:
            i = len(parts) - 1 - parts[::-1].index(RELATED_DIR)
            key = "/".join(parts[:i + 2]) if i + 2 < len(parts) else None
            if key is None or not images.is_image(src.name):
                raise MediaError(f"Unexpected file in a related_images folder: {src.name}")
            related.setdefault(key, []).append(src)
        else:
            frames.append(src)
    return frames, related


def frame_meta(name: str, width: int, height: int, related_files: int = 0) -> dict:
    """One entry of frames.json."""
    return {"name": name, "width": width, "height": height, "related_files": related_files,
            "has_related_context": bool(related_files)}


def related_key(frame_name: str) -> str:
    directory, _, base = frame_name.rpartition("/")
    return "/".join(filter(None, [directory, RELATED_DIR, base.replace(".", "_")]))


def _write_context(files: TaskFiles, base: Path, number: int, frame_name: str, context: list[Source],
                   quality: int) -> None:
    key = related_key(frame_name)
    members = []
    for src in sorted(context, key=lambda s: s.name):
        rel = src.name[len(key) + 1:]
        stem = rel.rsplit(".", 1)[0]
        members.append((images.process(src.path, src.name, quality).compressed, stem))
    path = base / "context" / f"{number}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    import zipfile
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        for body, stem in members:
            zf.writestr(f"{stem}.jpg", body)


def _build_images(sources: list[Source], params, files: TaskFiles, limits: Limits, progress,
                  related: dict | None = None) -> dict:
    related = related or {}
    base = files.build
    if params["chunk_size"]:
        chunk_size = params["chunk_size"]
    else:
        w, h = images.size(sources[0].path, sources[0].name)
        chunk_size = default_chunk_size(w, h)
    (base / "chunks" / "compressed").mkdir(parents=True, exist_ok=True)
    (base / "chunks" / "original").mkdir(parents=True, exist_ok=True)
    quality = params["image_quality"]
    frames_meta = []
    preview = None
    cache = precompress.FrameCache(files.upload_cache, quality, limits.jpeg_optimize)

    def frame(s: Source):
        compute = lambda: images.process(s.path, s.name, quality, limits.jpeg_optimize)  # noqa: E731
        done = cache.take(s.name, s.path, compute) if s.path.parent == files.upload else compute()
        return done, _kept(files, done.original)

    used: set[Path] = set()
    with ThreadPoolExecutor(max(1, limits.threads)) as pool:
        for number, first in enumerate(range(0, len(sources), chunk_size)):
            part = sources[first:first + chunk_size]
            done, kept = zip(*pool.map(frame, part))
            chunks.write_zip(files.chunk("compressed", number, "zip", base), [(f.compressed, "jpeg") for f in done])
            original = files.chunk("original", number, "zip", base)
            members = [(chunks.member_name(i, f.original_ext), *k) for i, (f, k) in enumerate(zip(done, kept))
                       if k is not None]
            if len(members) == len(done) and composed.composable([(m[0], m[3]) for m in members]):
                composed.write_zip_plan(original, base, members)
                used.update(f.original for f in done)
            else:
                chunks.write_zip(original, [(f.original, f.original_ext) for f in done])
            for i, (s, f) in enumerate(zip(part, done)):
                context = related.get(related_key(s.name), [])
                if context:
                    _write_context(files, base, first + i, s.name, context, quality)
                frames_meta.append(frame_meta(s.name, f.width, f.height, len(context)))
            if preview is None:
                preview = images.preview(done[0].compressed)
            progress((first + len(part)) / len(sources), f"Processed {first + len(part)} of {len(sources)} images")
    write_json(files.frames(base), frames_meta)
    (files.preview(base)).write_bytes(preview)
    _prune([files.upload, base / "extracted", base / "remote"], used)
    if files.upload.exists():
        os.replace(files.upload, base / KEPT_UPLOADS)   # where the composed chunks say they are
    return images_summary(chunk_size, len(sources))


def _prune(folders: list[Path], used: set[Path]) -> None:
    """Deletes what no composed chunk reads (unpacked archives, frames left out
    by the frame filter, manifests, files copied into chunks), so a task keeps
    each original once."""
    for folder in folders:
        for path in sorted(folder.rglob("*"), reverse=True) if folder.exists() else []:
            if path.is_dir() and not path.is_symlink():
                if not any(path.iterdir()):
                    path.rmdir()
            elif path not in used:
                path.unlink()
        if folder.exists() and not any(folder.iterdir()):
            folder.rmdir()


KEPT_UPLOADS = "upload"


def _kept(files: TaskFiles, original) -> tuple[Path, int, int, int] | None:
    """(final path, offset, size, crc) of an original frame that is a file the
    task keeps (an upload, or a file under build/), for a composed chunk; None
    for re-encoded bytes and for share files used in place, which are copied."""
    if not isinstance(original, Path):
        return None
    if original.is_relative_to(files.build):
        final = original
    elif original.is_relative_to(files.upload):
        final = files.build / KEPT_UPLOADS / original.relative_to(files.upload)
    else:
        return None
    size = original.stat().st_size
    return final, 0, size, composed.crc(original, 0, size)


def images_summary(chunk_size: int, size: int) -> dict:
    return {"chunk_size": chunk_size, "compressed_chunk_type": "imageset", "original_chunk_type": "imageset",
            "mode": "annotation", "media": "images", "size": size}


def video_parts(wanted: int) -> int:
    """How many ffmpeg processes to split a video over: a second one pays only
    when a core is idle (it costs ~30% more CPU in total), so fall back to one
    when the machine is already busy."""
    wanted = max(1, wanted)
    if wanted == 1:
        return 1
    cpus = os.cpu_count() or 1
    try:
        load = os.getloadavg()[0]
    except OSError:
        return 1
    idle = cpus - load
    return max(1, min(wanted, int(idle)))


def _build_video(src: Source, params, files: TaskFiles, limits: Limits, progress) -> dict:
    base = files.build
    chunk_size = params["chunk_size"] or 36
    (base / "chunks" / "compressed").mkdir(parents=True, exist_ok=True)
    start, stop, step = params["start_frame"], params["stop_frame"], params["step"]
    estimate = video.estimate_frames(src.path) or 0
    if estimate:
        last = min(stop, estimate - 1) if stop is not None else estimate - 1
        estimate = max(1, len(range(start, last + 1, step)))
    parts = video_parts(limits.video_processes)
    sizes = [0] * parts
    part_times: list[list[float]] = [[] for _ in range(parts)]
    first_frames: list[bytes | None] = [None] * parts
    errors: list[BaseException] = []

    def run(part: int):
        """ffmpeg process `part` writes task chunks part, part+parts, …"""
        try:
            pending: list[tuple[bytes, str]] = []
            number = part
            for jpeg in video.jpeg_frames(src.path, src.name, params["image_quality"], start, stop, step,
                                          chunk_size, part, parts, times=part_times[part]):
                if first_frames[part] is None:
                    first_frames[part] = jpeg
                pending.append((jpeg, "jpeg"))
                sizes[part] += 1
                if len(pending) == chunk_size:
                    chunks.write_zip(files.chunk("compressed", number, "zip", base), pending)
                    number += parts
                    pending = []
                    if part == 0:
                        done = sum(sizes)
                        progress(done / max(estimate, done + 1), f"Decoded {done} frames")
            if pending:
                chunks.write_zip(files.chunk("compressed", number, "zip", base), pending)
        except BaseException as e:  # re-raised in the calling thread
            errors.append(e)

    helpers = [threading.Thread(target=run, args=(p,), daemon=True) for p in range(1, parts)]
    for t in helpers:
        t.start()
    run(0)
    for t in helpers:
        t.join()
    if errors:
        raise errors[0]
    size = sum(sizes)
    first_frame = first_frames[0]
    times = [0.0] * size
    for part, part_list in enumerate(part_times):
        for m, t in enumerate(part_list[:sizes[part]]):
            times[(part + (m // chunk_size) * parts) * chunk_size + m % chunk_size] = t
    write_json(base / "video_index.json", times)
    if not size or first_frame is None:
        raise MediaError(f"Video {src.name} has no frames in the requested range")
    import io
    from PIL import Image
    with Image.open(io.BytesIO(first_frame)) as im:
        width, height = im.size
    write_json(files.frames(base), [frame_meta(src.name, width, height)])
    files.preview(base).write_bytes(images.preview(first_frame))
    # Compressed frames are always served from the JPEG zips written here; with
    # use_zip_chunks off the compressed *chunks* are mp4, encoded on first request.
    kind = "imageset" if params["use_zip_chunks"] else "video"
    return {"chunk_size": chunk_size, "compressed_chunk_type": kind, "original_chunk_type": "video",
            "mode": "interpolation", "media": "video", "size": size}


def build(store, layout, settings, task_id: int, report, limits: Limits | None = None) -> dict:
    """Plain function behind the Celery task. `report(progress, message)`.
    Returns the committed `data` summary; raises MediaError on bad media."""
    limits = limits or Limits()
    files = TaskFiles(layout, task_id)
    if store.peek("tasks", task_id) is None:
        raise MediaError("The task was deleted before its data was processed")
    params = read_json(files.pending)
    if params is None:
        raise MediaError("The data request parameters are missing")
    shutil.rmtree(files.build, ignore_errors=True)
    files.build.mkdir(parents=True)
    try:
        progress = Progress(report, 0.0, 0.1)
        progress(0, "Gathering media", force=True)
        sources = gather(params, files, settings.share_dir, limits, progress)
        manifests = [s for s in sources if s.name.lower().endswith(".jsonl")]
        if len(manifests) > 1:
            raise MediaError("Only one manifest file can be attached")
        sources = [s for s in sources if not s.name.lower().endswith(".jsonl")]
        if params["filename_pattern"]:
            sources = [s for s in sources if fnmatch.fnmatch(s.name, params["filename_pattern"])]
        sources, related = split_related(sources)
        videos = [s for s in sources if video.is_video(s.name)]
        pictures = [s for s in sources if images.is_image(s.name)]
        for s in sources:
            if not (video.is_video(s.name) or images.is_image(s.name)):
                raise MediaError(f"Unsupported file: {s.name}")
        if videos and (pictures or len(videos) > 1):
            raise MediaError("Only one video can be attached, and it can't be mixed with images")
        if not sources:
            raise MediaError("No media data found")
        progress = Progress(report, 0.1, 0.95)
        if videos:
            summary = _build_video(videos[0], params, files, limits, progress)
            kept = files.build / "source" / Path(videos[0].name).name
            if videos[0].path.is_relative_to(files.root):
                kept.parent.mkdir(parents=True, exist_ok=True)
                os.replace(videos[0].path, kept)
                video_path = files.data / "source" / kept.name
            else:  # a share file used in place
                video_path = videos[0].path
            summary["video_path"] = str(video_path)
        else:
            selected = select_images(pictures, params, manifests[0].path if manifests else None)
            summary = _build_images(selected, params, files, limits, progress, related)
        return commit_build(store, files, params, summary, report)
    except BaseException:
        shutil.rmtree(files.build, ignore_errors=True)
        raise
    finally:
        files.pending.unlink(missing_ok=True)


def select_images(pictures: list[Source], params, manifest: Path | None) -> list[Source]:
    """The task's frames: the images sorted as the request says, then start/stop/step."""
    ordered = _order(pictures, params, manifest, params["client_files"])
    stop = params["stop_frame"] if params["stop_frame"] is not None else len(ordered) - 1
    selected = ordered[params["start_frame"]:stop + 1:params["step"]]
    if not selected:
        raise MediaError("No media data found in the requested frame range")
    return selected


def commit_build(store, files: TaskFiles, params, summary: dict, report) -> dict:
    """Completes the summary of what `build/` holds (chunks, frames.json,
    preview) and commits it with the task's jobs. Also the last step of a
    restore that adopts the chunks a backup carries."""
    size = summary["size"]
    summary.update(
        image_quality=params["image_quality"], start_frame=params["start_frame"],
        stop_frame=params["start_frame"] + (size - 1) * params["step"], step=params["step"],
        frame_filter=params["frame_filter"], sorting_method=params["sorting_method"],
        use_zip_chunks=params["use_zip_chunks"], use_cache=params["use_cache"],
        copy_data=params["copy_data"], storage_method=params["storage_method"],
        storage="share" if params["server_files"] and not params["copy_data"] else "local",
        dimension="2d", id=files.task_id, chunks_updated_date=clock.now())
    report(0.96, "Creating jobs")
    names = [f["name"] for f in read_json(files.frames(files.build), [])]
    return _commit(store, files, summary, params, names)


def _ranges(task: dict, summary: dict, params) -> tuple[int, int, list[tuple[int, int]]]:
    if params["job_file_mapping"]:
        ranges, start = [], 0
        for job in params["job_file_mapping"]:
            ranges.append((start, start + len(job) - 1))
            start += len(job)
        return 0, 0, ranges
    return job_ops.segments(summary["size"], task.get("segment_size") or 0, task.get("overlap"), summary["mode"])


def _ground_truth(task: dict, summary: dict, ranges, params, names: list[str]) -> list[int] | None:
    """The task frames of the ground-truth job validation_params asks for
    (chosen before anything is committed, so a bad request changes nothing)."""
    validation = params.get("validation_params")
    if not validation:
        return None
    choice = {k: v for k, v in validation.items() if k != "frames"}
    if validation.get("frame_selection_method") == "manual":
        index = {n: i for i, n in enumerate(names)}
        unknown = [n for n in validation.get("frames") or [] if n not in index]
        if unknown:
            raise MediaError(f"Ground-truth frames not in the task: {', '.join(unknown[:5])}")
        choice["frames"] = [index[n] for n in validation.get("frames") or []]
    jobs = [{"start_frame": a, "stop_frame": b} for a, b in ranges]
    try:
        return job_ops.ground_truth_frames({**task, "data": summary}, jobs, choice)
    except DomainError as e:
        detail = e.detail
        if isinstance(detail, dict):
            detail = "; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in detail.items())
        raise MediaError(f"Invalid validation_params: {detail}") from None


def _commit(store, files: TaskFiles, summary: dict, params, names: list[str]) -> dict:
    with store.transaction():
        task = store.get("tasks", files.task_id)
        if task is None:
            raise MediaError("The task was deleted while its data was being processed")
        if task.get("data"):
            raise MediaError("Adding more data is not supported")
        seg, ov, ranges = _ranges(task, summary, params)
        gt_frames = _ground_truth(task, summary, ranges, params, names)
        shutil.rmtree(files.data, ignore_errors=True)
        os.replace(files.build, files.data)
        job_ops.create_jobs(store, files.task_id, ranges)
        task.update(data=summary, segment_size=seg, overlap=ov, updated_date=clock.now())
        store.replace("tasks", task)
        if gt_frames is not None:
            job_ops.create_ground_truth(store, files.task_id, {"frame_selection_method": "manual",
                                                               "frames": gt_frames})
    # The uploads are no longer needed; deleting hundreds of files takes a
    # while, so they are moved aside now and deleted after the request is
    # reported finished (empty_trash).
    trash = files.root / "trash"
    trash.mkdir(exist_ok=True)
    for i, path in enumerate((files.upload, files.upload_cache)):
        if path.exists():
            os.replace(path, trash / f"{path.name}-{os.getpid()}-{time.monotonic_ns()}-{i}")
    files.upload_order.unlink(missing_ok=True)
    return summary


def empty_trash(files: TaskFiles) -> None:
    shutil.rmtree(files.root / "trash", ignore_errors=True)


def discard(files: TaskFiles) -> None:
    """After a failure: the task takes data again from a clean state."""
    shutil.rmtree(files.build, ignore_errors=True)
    shutil.rmtree(files.upload, ignore_errors=True)
    shutil.rmtree(files.upload_cache, ignore_errors=True)
    files.upload_order.unlink(missing_ok=True)
    files.pending.unlink(missing_ok=True)
