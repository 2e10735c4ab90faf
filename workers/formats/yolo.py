"""YOLO 1.1 (Darknet) — formats.md §4.3.

obj.data, obj.names (top-level labels only, so class ids and names agree — CVAT writes the
sublabels too, which breaks skeleton projects), <subset>.txt, obj_<subset>_data/<path>.txt.
Only unrotated rectangles are written; values are not clipped.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

from workers.formats import common
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   image_name, item_id, r2, subsets)

RESERVED = {"backup", "classes", "names"}


def box_line(cls: int, points: list, w: int, h: int) -> str:
    x1, y1, x2, y2 = (r2(v) for v in points[:4])
    return "%d %.6f %.6f %.6f %.6f" % (cls, (x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h)


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    groups = [("train" if s == "default" else s, frames) for s, frames in subsets(dataset)]
    for s, _ in groups:
        if s.lower() in RESERVED:
            raise FormatError(f"Subset name '{s}' cannot be used in YOLO (reserved)")
    with common.Archive(path) as archive:
        archive.write("obj.names", "".join(l["name"] + "\n" for l in labels.top))
        data = [f"classes = {len(labels.top)}"]
        data += [f"{s} = data/{s}.txt" for s, _ in groups]
        data += ["names = data/obj.names", "backup = backup/"]
        archive.write("obj.data", "\n".join(data) + "\n")
        for subset, frames in groups:
            folder = f"obj_{subset}_data"
            listing = []
            for frame in frames:
                name = image_name(frame, video)
                listing.append(f"data/{folder}/{name}")
                lines = []
                for s in objects.shapes.get(frame["frame"], ()):
                    if s["type"] != "rectangle" or (s.get("rotation") or 0) % 360:
                        continue
                    if s["label_id"] not in labels.top_index:
                        continue
                    lines.append(box_line(labels.top_index[s["label_id"]], s["points"], frame["width"],
                                          frame["height"]))
                archive.write(f"{folder}/{item_id(frame, video)}.txt", "".join(l + "\n" for l in lines))
                if save_images:
                    common.write_image(archive, folder, frame, image_bytes, video)
            archive.write(f"{subset}.txt", "".join(l + "\n" for l in listing))


def _parse_kv(path: Path) -> dict:
    out = {}
    for line in common.read_text(path, path.name).splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def _strip_data(p: str) -> str:
    p = p.strip().replace("\\", "/")
    for prefix in ("data/", "./"):
        if p.startswith(prefix):
            p = p[len(prefix):]
    return p


def parse_box_line(line: str, names: list[str], w: int, h: int, where: str, allow_track=False):
    parts = line.split()
    if len(parts) != 5 and not (allow_track and len(parts) == 6):
        raise FormatError(f"{where}: a line must have 5 numbers, got '{line.strip()[:60]}'")
    try:
        cls = int(parts[0])
    except ValueError:
        raise FormatError(f"{where}: class '{parts[0]}' is not an integer") from None
    if not 0 <= cls < len(names):
        raise FormatError(f"{where}: class {cls} is not in the names list ({len(names)} classes)")
    cx, cy, bw, bh = (common.parse_float(v, where) for v in parts[1:5])
    pts = [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]
    track = int(parts[5]) if len(parts) == 6 else None
    return names[cls], pts, track


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    with common.open_input(path) as root:
        data_files = common.files(root, "obj.data")
        if not data_files:
            raise FormatError("Dataset must contain a file: obj.data")
        data_file = data_files[0]
        base = data_file.parent
        meta = _parse_kv(data_file)
        names_file = common.inside(base, _strip_data(meta.get("names", "obj.names")))
        if not names_file.is_file():
            raise FormatError(f"The names file '{meta.get('names', 'obj.names')}' is missing")
        names = [n.strip() for n in common.read_text(names_file, "obj.names").splitlines() if n.strip()]
        items = []
        for key, value in meta.items():
            if key in RESERVED:
                continue
            listing = common.inside(base, _strip_data(value))
            if not listing.is_file():
                raise FormatError(f"The subset list '{value}' is missing")
            for line in common.read_text(listing, listing.name).splitlines():
                if not line.strip():
                    continue
                rel = _strip_data(line)
                label_file = common.inside(base, posixpath.splitext(rel)[0] + ".txt")
                parts = rel.split("/", 1)
                ident = posixpath.splitext(parts[1] if len(parts) > 1 else parts[0])[0]
                items.append((ident, label_file))
        matcher.set_root_hint(i for i, _ in items)
        for ident, label_file in items:
            frame = matcher.match(ident)
            w, h = sizes[frame]
            if not label_file.is_file():
                continue
            where = label_file.name
            for line in common.read_text(label_file, where).splitlines():
                if not line.strip():
                    continue
                label, pts, _ = parse_box_line(line, names, w, h, where)
                builder.add_shape(label, frame, "rectangle", pts)
    return builder.result()
