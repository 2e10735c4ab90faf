"""The media of a task backup.

`data/` holds the original files as CVAT lays them out, with data/manifest.jsonl.
`chunks/`, which CVAT's importer ignores (it reads only task.json,
annotations.json, data/ and task/), holds this server's compressed chunks and an
index of the frames they were built from. Re-encoding every frame was nearly all
of a restore's time (500 1080p frames: 9 of 11 s). So a restore adopts the
shipped chunks when they are exactly what its own build would make of data/:
the same frames in the same order, the same quality and chunk size, the same
bytes by size and CRC, no frame that the build would re-encode, and every
header agreeing with the index. Anything else (a backup made by CVAT, changed
settings, a doubtful chunk) gets the ordinary build from the extracted data/.
"""
from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path

import orjson

from domain import task_data
from domain.task_data import TaskFiles, write_json
from storage import composed
from workers.media import build, chunks, images
from workers.media.images import MediaError

INDEX = "chunks/index.json"
INDEX_VERSION = 1


def manifest(frames: list[dict], data: dict, video_path: Path | None) -> bytes:
    lines = [{"version": "1.1"}]
    if video_path is not None:
        lines.append({"type": "video"})
        lines.append({"properties": {"name": video_path.name, "resolution": [frames[0]["width"], frames[0]["height"]],
                                     "length": data["size"]}})
        lines.append({"number": 0, "pts": 0})
    else:
        lines.append({"type": "images"})
        for f in frames:
            stem, ext = os.path.splitext(f["name"])
            lines.append({"name": stem, "extension": ext, "width": f["width"], "height": f["height"],
                          "meta": {"related_images": []}})
    return b"\n".join(orjson.dumps(line) for line in lines) + b"\n"


# -- backup -------------------------------------------------------------------------------
def write(out, prefix: str, layout, task: dict, frames: list[dict]) -> None:
    """Adds data/ (and, for image tasks, chunks/) of one task to `out` (a
    workers.zip_out writer): each original is the byte range its original
    chunk holds it at, each compressed chunk the file (or range) it is."""
    data = task["data"]
    if data["media"] == "video":
        video_path = Path(data["video_path"])
        out.add_range(prefix + "data/" + video_path.name, video_path, 0, video_path.stat().st_size)
        out.writestr(prefix + "data/manifest.jsonl", manifest(frames, data, video_path))
        return
    files = TaskFiles(layout, task["id"])
    size = data["chunk_size"]
    index = []
    for number in range(task_data.chunk_count(data)):
        members = composed.members(files.chunk("original", number, "zip"))
        for (_, path, offset, length, crc), frame in zip(members, frames[number * size:(number + 1) * size]):
            out.add_range(f"{prefix}data/{frame['name']}", path, offset, length, crc)
            index.append({"name": frame["name"], "width": frame["width"], "height": frame["height"],
                          "size": length, "crc": crc})
        out.add_range(f"{prefix}chunks/compressed/{number}.zip", *composed.span(files.chunk("compressed", number, "zip")))
    out.writestr(prefix + INDEX, orjson.dumps({"version": INDEX_VERSION, "image_quality": data["image_quality"],
                                               "chunk_size": size, "frames": index}))
    out.writestr(prefix + "data/manifest.jsonl", manifest(frames, data, None))


# -- restore ------------------------------------------------------------------------------
class _NotAdoptable(Exception):
    """The shipped chunks cannot stand for a build: build instead."""


def _index(folder) -> dict:
    info = folder.info(INDEX)
    if info is None or info.file_size > 64 << 20:
        raise _NotAdoptable("no index")
    try:
        index = orjson.loads(folder.read(INDEX))
        frames = index["frames"]
        ok = (index["version"] == INDEX_VERSION and isinstance(index["chunk_size"], int)
              and isinstance(index["image_quality"], int) and isinstance(frames, list) and frames
              and all(isinstance(f, dict) and isinstance(f.get("name"), str)
                      and all(isinstance(f.get(k), int) for k in ("width", "height", "size", "crc"))
                      for f in frames))
    except (orjson.JSONDecodeError, KeyError, TypeError, zipfile.BadZipFile):
        raise _NotAdoptable("unreadable index") from None
    if not ok:
        raise _NotAdoptable("malformed index")
    return index


def _plan(folder, params: dict, names: list[str]) -> tuple[dict, int]:
    """The index and chunk size, once they are known to match what a build of
    `names` with `params` would make."""
    index = _index(folder)
    frames = index["frames"]
    if any(not images.is_image(n) or build.RELATED_DIR in n.split("/") for n in names):
        raise _NotAdoptable("media the index does not describe")
    try:
        selected = build.select_images([build.Source(n, Path(n)) for n in names], params, None)
    except MediaError:
        raise _NotAdoptable("no frames selected") from None
    if [s.name for s in selected] != [f["name"] for f in frames]:
        raise _NotAdoptable("other frames or order")
    chunk_size = params["chunk_size"] or build.default_chunk_size(frames[0]["width"], frames[0]["height"])
    if (index["image_quality"], index["chunk_size"]) != (params["image_quality"], chunk_size):
        raise _NotAdoptable("other quality or chunk size")
    for f in frames:
        info = folder.info("data/" + f["name"])
        if info is None or (info.file_size, info.CRC) != (f["size"], f["crc"]):
            raise _NotAdoptable(f"{f['name']} is not the file the chunks were made from")
    for number in range(-(-len(frames) // chunk_size)):
        if folder.info(f"chunks/compressed/{number}.zip") is None:
            raise _NotAdoptable(f"chunk {number} is missing")
    return index, chunk_size


KEPT_BACKUP = "backup.zip"
_BLOCK = 1 << 20


def _keep(archive: Path, base: Path) -> Path:
    """The uploaded backup, kept under build/ for the composed chunks to point
    into: a hard link where the storage allows one (it is dropped after the
    restore anyway), else a copy."""
    target = base / KEPT_BACKUP
    try:
        os.link(archive, target)
    except OSError:
        shutil.copyfile(archive, target)
    return target


def _verify(folder, kept, rel: str, buffer) -> tuple[int, int] | None:
    """Checks a member's bytes against its CRC; returns its stored span.
    Stored bytes are read straight from the archive (zipfile's reader costs
    as much again as the CRC); others are read through zipfile, which checks."""
    info = folder.info(rel)
    span = composed.stored_span(kept.fileno(), info)
    if span is None:
        with folder.open(rel) as source:
            while source.readinto(buffer):
                pass
        return None
    try:
        matches = composed.crc(Path(kept.name), *span, buffer) == info.CRC
    except OSError:
        matches = False
    if not matches:
        raise zipfile.BadZipFile(f"Bad CRC-32 for file {rel!r}")
    return span


def _adopt_compressed(folder, kept, base: Path, number: int, target: Path, part: list[dict], buffer) -> None:
    rel = f"chunks/compressed/{number}.zip"
    span = _verify(folder, kept, rel, buffer)
    if span is not None:
        composed.write_range_plan(target, base, Path(kept.name), *span)
    else:
        with folder.open(rel) as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out, _BLOCK)
    try:
        with composed.open_chunk(target) as f, zipfile.ZipFile(f) as chunk:
            members = chunk.infolist()
            if [m.filename for m in members] != [chunks.member_name(i, "jpeg") for i in range(len(part))]:
                raise _NotAdoptable(f"chunk {number} holds other members")
            for member, frame in zip(members, part):
                if member.compress_type != zipfile.ZIP_STORED:
                    raise _NotAdoptable(f"chunk {number} is compressed")
                with chunk.open(member) as jpeg:
                    head = images.header(jpeg, member.filename)[:3]
                if head != ("JPEG", frame["width"], frame["height"]):
                    raise _NotAdoptable(f"chunk {number} has frames of another size")
    except (zipfile.BadZipFile, MediaError):
        raise _NotAdoptable(f"chunk {number} is not a readable zip of JPEGs") from None


def _adopt_original(folder, kept, base: Path, target: Path, part: list[dict], buffer) -> None:
    """The original chunk composed from the data/ members in place, or
    written out when a member is compressed in the archive."""
    members = []
    for i, frame in enumerate(part):
        rel = "data/" + frame["name"]
        info = folder.info(rel)
        with folder.open(rel) as source:
            image_format, width, height, turn = images.header(source, frame["name"])
        if images.reencoded(image_format, turn) or (width, height) != (frame["width"], frame["height"]):
            raise _NotAdoptable(f"{frame['name']} would be re-encoded or has another size")
        span = _verify(folder, kept, rel, buffer)
        ext = Path(frame["name"]).suffix.lower().lstrip(".") or "bin"
        members.append((chunks.member_name(i, ext), info, span))
    if all(span is not None for _, _, span in members) and composed.composable(
            [(name, info.file_size) for name, info, _ in members]):
        composed.write_zip_plan(target, base, [(name, Path(kept.name), offset, size, info.CRC)
                                               for name, info, (offset, size) in members])
        return
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED) as out:
        for (name, info, _), frame in zip(members, part):
            with folder.open("data/" + frame["name"]) as source:
                chunks.add_member(out, name, source, info.file_size)


def adopt(folder, files: TaskFiles, params: dict, names: list[str], progress) -> dict | None:
    """Writes build/ from the chunks the backup carries and returns the summary
    for build.commit_build, or None when the ordinary build must run instead.
    Nothing is copied where the archive stores members as they are: the
    archive is kept beside the chunks and they are composed from its byte
    ranges. A data/ member whose bytes do not match its CRC fails the restore
    (the ordinary build could not read it either)."""
    base = files.build
    try:
        index, chunk_size = _plan(folder, params, names)
        shutil.rmtree(base, ignore_errors=True)
        (base / "chunks" / "compressed").mkdir(parents=True)
        (base / "chunks" / "original").mkdir(parents=True)
        frames = index["frames"]
        buffer = memoryview(bytearray(_BLOCK))
        with open(_keep(Path(folder.zf.filename), base), "rb") as kept:
            for number, first in enumerate(range(0, len(frames), chunk_size)):
                part = frames[first:first + chunk_size]
                _adopt_compressed(folder, kept, base, number, files.chunk("compressed", number, "zip", base), part,
                                  buffer)
                _adopt_original(folder, kept, base, files.chunk("original", number, "zip", base), part, buffer)
                done = first + len(part)
                progress(done / len(frames), f"Checked {done} of {len(frames)} frames")
        first_frame = chunks.read_member(files.chunk("compressed", 0, "zip", base), 0)[0]
        files.preview(base).write_bytes(images.preview(first_frame))
        write_json(files.frames(base), [build.frame_meta(f["name"], f["width"], f["height"]) for f in frames])
        return build.images_summary(chunk_size, len(frames))
    except _NotAdoptable:
        shutil.rmtree(base, ignore_errors=True)
        return None
    except zipfile.BadZipFile as e:
        shutil.rmtree(base, ignore_errors=True)
        raise MediaError(f"The backup is damaged: {e}") from None
    except BaseException:
        shutil.rmtree(base, ignore_errors=True)
        raise


def extract_data(folder, names: list[str], upload: Path) -> None:
    """data/ members into the upload directory, for the ordinary build."""
    for name in names:
        target = upload / name
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with folder.open("data/" + name) as source, open(target, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)
        except zipfile.BadZipFile as e:
            raise MediaError(f"The backup's data/{name} is damaged: {e}") from None
