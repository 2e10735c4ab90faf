"""Ultralytics YOLO Detection / Detection Track / Segmentation / Oriented Bounding Boxes / Pose /
Classification 1.0 — formats.md §4.3 (Ultralytics family).

    data.yaml                      names {index: name}, path, train (+ kpt_shape for pose)
    train.txt                      data/images/train/<frame path>
    labels/train/<path>.txt        only when non-empty
    images/train/<frame path>      with save_images
"""
from __future__ import annotations

import json
import math
import posixpath
import re
from pathlib import Path

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   image_name, item_id, r2, subsets)
from workers.formats.yolo import box_line, parse_box_line


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _subset_name(s: str) -> str:
    return "train" if s == "default" else s


def _write_yaml(archive, names: list[str], subset_names: list[str], kpt: int | None) -> None:
    lines = ["names:"] + [f"  {i}: {_yaml_str(n)}" for i, n in enumerate(names)]
    lines.append("path: .")
    for s in subset_names:
        lines.append(f"{s}: {s}.txt")
    if kpt is not None:
        lines.append(f"kpt_shape: [{kpt}, 3]")
    archive.write("data.yaml", "\n".join(lines) + "\n")


def _norm(xy: list[float], w: int, h: int) -> str:
    return " ".join("%.6f" % (v / (w if i % 2 == 0 else h)) for i, v in enumerate(xy))


def _lines(kind: str, labels: Labels, classes: dict, shapes: list[dict], frame: dict) -> list[str]:
    w, h = frame["width"], frame["height"]
    out = []
    for s in shapes:
        cls = classes.get(s["label_id"])
        if cls is None:
            continue
        if kind in ("detection", "track"):
            if s["type"] != "rectangle" or (s.get("rotation") or 0) % 360:
                continue
            line = box_line(cls, s["points"], w, h)
            if kind == "track" and "track_id" in s:
                line += " %d" % s["track_id"]
            out.append(line)
        elif kind == "segmentation":
            if s["type"] == "polygon":
                out.append("%d %s" % (cls, _norm([r2(v) for v in s["points"]], w, h)))
            elif s["type"] in ("mask", "ellipse"):
                m = geometry.shape_mask(s, w, h)
                for poly in geometry.mask_polygons(m) if m is not None else ():
                    out.append("%d %s" % (cls, _norm(poly, w, h)))
        elif kind == "obb":
            if s["type"] == "rectangle":
                poly = geometry.rectangle_polygon([r2(v) for v in s["points"]], s.get("rotation") or 0.0)
                out.append("%d %s" % (cls, _norm(poly, w, h)))
        elif kind == "pose":
            if s["type"] != "skeleton":
                continue
            by_label = {e["label_id"]: e for e in s.get("elements") or ()}
            kps, xs, ys = [], [], []
            for sub in labels.elements(s["label_id"]):
                e = by_label.get(sub["id"])
                if e is None or e.get("outside"):
                    kps.append((0.0, 0.0, 0))
                    continue
                x, y = r2(e["points"][0]), r2(e["points"][1])
                kps.append((x, y, 1 if e.get("occluded") else 2))
                xs.append(x)
                ys.append(y)
            if not xs:
                continue
            box = [min(xs), min(ys), max(xs), max(ys)]
            kps += [(0.0, 0.0, 0)] * (classes["_kpt"] - len(kps))
            out.append(box_line(cls, box, w, h) + "".join(" %.6f %.6f %d" % (x / w, y / h, v) for x, y, v in kps))
    return out


def export(dataset: dict, path, *, kind: str, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    groups = [(_subset_name(s), frames) for s, frames in subsets(dataset)]
    if kind == "pose":
        tops = [l for l in labels.top if l.get("type") == "skeleton" or l.get("sublabels")]
    else:
        tops = labels.top
    classes: dict = {l["id"]: i for i, l in enumerate(tops)}
    kpt = None
    if kind == "pose":
        kpt = max((len(labels.elements(l["id"])) for l in tops), default=0)
        classes["_kpt"] = kpt
    with common.Archive(path) as archive:
        if kind == "classification":
            _export_classification(archive, labels, objects, groups, video, save_images, image_bytes)
            return
        _write_yaml(archive, [l["name"] for l in tops], [s for s, _ in groups], kpt)
        for subset, frames in groups:
            listing = []
            for frame in frames:
                name = image_name(frame, video)
                listing.append(f"data/images/{subset}/{name}")
                lines = _lines(kind, labels, classes, objects.shapes.get(frame["frame"], ()), frame)
                if lines:
                    archive.write(f"labels/{subset}/{item_id(frame, video)}.txt", "".join(l + "\n" for l in lines))
                if save_images:
                    common.write_image(archive, f"images/{subset}", frame, image_bytes, video)
            archive.write(f"{subset}.txt", "".join(l + "\n" for l in listing))


def _export_classification(archive, labels, objects, groups, video, save_images, image_bytes) -> None:
    for subset, frames in groups:
        index = {}
        used: set = set()
        for frame in frames:
            names = []
            for t in objects.tags.get(frame["frame"], ()):
                n = labels.name(t["label_id"])
                if n not in names:
                    names.append(n)
            ident = item_id(frame, video)
            name = image_name(frame, video)
            base = posixpath.basename(name)
            paths = []
            for label in names or ["no_label"]:
                target = f"{subset}/{label}/{base}"
                i = 0
                while target in used:
                    stem, ext = posixpath.splitext(base)
                    target = f"{subset}/{label}/{stem}.{i}{ext}"
                    i += 1
                used.add(target)
                paths.append(target)
                if save_images:
                    common.write_image(archive, "", frame, image_bytes, video, name=target)
            index[ident] = {"labels": names, "path": paths[0]}
        archive.write(f"{subset}/labels.json", json.dumps(index, ensure_ascii=False, indent=2))


# ---------------------------------------------------------------------------------------------
# import

def _parse_yaml(path: Path) -> dict:
    """The subset of YAML data.yaml files use: top-level `key: value`, `names` as a mapping
    (`  0: car`) or a list (`- car` or `[a, b]`), `kpt_shape: [n, 3]`."""
    text = common.read_text(path, path.name)
    out: dict = {}
    current = None
    for raw in text.splitlines():
        line = raw.split(" #")[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not raw.startswith((" ", "\t", "-")):
            if ":" not in line:
                raise FormatError(f"{path.name}: cannot parse line '{line[:60]}'")
            key, value = line.split(":", 1)
            key, value = key.strip(), value.strip()
            current = key
            if value == "":
                out[key] = None
            elif value.startswith("[") and value.endswith("]"):
                out[key] = [_scalar(v) for v in value[1:-1].split(",") if v.strip()]
            elif value.startswith("{") and value.endswith("}"):
                out[key] = {}
                for pair in value[1:-1].split(","):
                    if ":" in pair:
                        k, v = pair.split(":", 1)
                        out[key][_scalar(k)] = _scalar(v)
            else:
                out[key] = _scalar(value)
        else:
            item = line.strip()
            if item.startswith("- "):
                if not isinstance(out.get(current), list):
                    out[current] = []
                out[current].append(_scalar(item[2:]))
            elif ":" in item:
                if not isinstance(out.get(current), dict):
                    out[current] = {}
                k, v = item.split(":", 1)
                out[current][_scalar(k)] = _scalar(v)
    return out


def _scalar(v: str):
    v = v.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
        return json.loads(v) if v[0] == '"' else v[1:-1]
    if re.fullmatch(r"-?\d+", v):
        return int(v)
    return v


def _names(meta: dict) -> list[str]:
    names = meta.get("names")
    if isinstance(names, dict):
        try:
            return [str(names[i]) for i in range(len(names))]
        except KeyError:
            raise FormatError("data.yaml: 'names' indices must be 0…n-1") from None
    if isinstance(names, list):
        return [str(n) for n in names]
    raise FormatError("data.yaml has no 'names'")


def _label_files(root: Path) -> list[tuple[str, Path]]:
    """(item id, label file) from labels/<subset>/… or <subset>/labels/…"""
    out = []
    for p in common.files(root, ".txt"):
        rel = p.relative_to(root).as_posix()
        parts = rel.split("/")
        if len(parts) >= 3 and parts[0] == "labels":
            out.append((posixpath.splitext("/".join(parts[2:]))[0], p))
        elif len(parts) >= 3 and parts[1] == "labels":
            out.append((posixpath.splitext("/".join(parts[2:]))[0], p))
    return out


def import_(path, labels: list[dict], frames: list[dict], *, kind: str, video: bool = False,
            frame_step: int = 1, stop=None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    matcher = FrameMatcher(frames, video=video)
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    with common.open_input(path) as root:
        if kind == "classification":
            _import_classification(root, builder, matcher)
            return builder.result()
        yamls = common.files(root, "data.yaml")
        if not yamls:
            raise FormatError("Dataset must contain a file: data.yaml")
        meta = _parse_yaml(yamls[0])
        names = _names(meta)
        items = _label_files(yamls[0].parent)
        matcher.set_root_hint(i for i, _ in items)
        for ident, file in items:
            frame = matcher.match(ident)
            w, h = sizes[frame]
            for line in common.read_text(file, file.name).splitlines():
                if line.strip():
                    _import_line(kind, line, names, w, h, frame, builder, file.name)
    return builder.result()


def _import_line(kind, line, names, w, h, frame, builder, where) -> None:
    parts = line.split()
    if kind in ("detection", "track"):
        label, pts, track = parse_box_line(line, names, w, h, where, allow_track=True)
        attrs = {} if track is None else {"track_id": track, "keyframe": True}
        builder.add_shape(label, frame, "rectangle", pts, attrs)
        return
    try:
        cls = int(parts[0])
        values = [common.parse_float(v, where) for v in parts[1:]]
    except (ValueError, IndexError):
        raise FormatError(f"{where}: malformed line '{line.strip()[:60]}'") from None
    if not 0 <= cls < len(names):
        raise FormatError(f"{where}: class {cls} is not in the names list ({len(names)} classes)")
    label = names[cls]
    track = None
    if kind == "segmentation":
        if len(values) % 2:
            track, values = int(values[-1]), values[:-1]
        if len(values) < 6:
            raise FormatError(f"{where}: a polygon needs at least 3 points")
        pts = [v * (w if i % 2 == 0 else h) for i, v in enumerate(values)]
        attrs = {} if track is None else {"track_id": track, "keyframe": True}
        builder.add_shape(label, frame, "polygon", pts, attrs)
    elif kind == "obb":
        if len(values) == 9:
            track, values = int(values[-1]), values[:-1]
        if len(values) != 8:
            raise FormatError(f"{where}: an oriented box needs 4 points")
        p = [v * (w if i % 2 == 0 else h) for i, v in enumerate(values)]
        cx, cy = sum(p[0::2]) / 4, sum(p[1::2]) / 4
        bw = math.hypot(p[2] - p[0], p[3] - p[1])
        bh = math.hypot(p[4] - p[2], p[5] - p[3])
        angle = math.degrees(math.atan2(p[3] - p[1], p[2] - p[0])) % 360.0
        attrs = {} if track is None else {"track_id": track, "keyframe": True}
        builder.add_shape(label, frame, "rectangle", [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2],
                          attrs, rotation=round(angle, 6) % 360.0)
    elif kind == "pose":
        parent = builder.labels.resolve(label)
        subs = builder.labels.elements(parent["id"])
        kp = values[4:]
        if len(kp) % 3:
            if (len(kp) - 1) % 3 == 0:
                track, kp = int(kp[-1]), kp[:-1]
            else:
                raise FormatError(f"{where}: keypoints must be x y v triples")
        elements = []
        for i, sub in enumerate(subs):
            if 3 * i + 2 >= len(kp):
                break
            x, y, v = kp[3 * i:3 * i + 3]
            elements.append({"label": sub["id"], "points": [x * w, y * h], "occluded": int(v) == 1,
                             "outside": int(v) == 0})
        attrs = {} if track is None else {"track_id": track, "keyframe": True}
        builder.add_shape(parent["id"], frame, "skeleton", [], attrs, elements=elements)


def _import_classification(root: Path, builder: ImportBuilder, matcher: FrameMatcher) -> None:
    indexes = common.files(root, "labels.json")
    if indexes:
        for idx in indexes:
            try:
                doc = json.loads(common.read_text(idx, idx.name))
            except json.JSONDecodeError as e:
                raise FormatError(f"{idx.name} is not valid JSON: {e}") from None
            if not isinstance(doc, dict):
                raise FormatError(f"{idx.name} must map item ids to labels")
            matcher.set_root_hint(doc.keys())
            for ident, entry in doc.items():
                frame = matcher.match(ident)
                for name in (entry or {}).get("labels") or ():
                    builder.add_tag(name, frame)
        return
    found = False
    for p in common.files(root, (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")):
        rel = p.relative_to(root).as_posix().split("/")
        if len(rel) < 3:
            continue
        found = True
        label, base = rel[-2], posixpath.splitext(rel[-1])[0]
        frame = matcher.match(re.sub(r"\.\d+$", "", base))
        if label != "no_label":
            builder.add_tag(label, frame)
    if not found:
        raise FormatError("Dataset must contain <subset>/labels.json or <subset>/<label>/<image> files")
