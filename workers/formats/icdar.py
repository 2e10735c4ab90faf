"""ICDAR Recognition 1.0 and ICDAR Localization 1.0 — formats.md §5.

Recognition: <subset>/gt.txt, one `<image file>, "<caption>"` line per captioned object (any tag
or shape with a `text` attribute), images in <subset>/images/. Import: tags of label `icdar`.
Localization: <subset>/gt_<id>.txt per frame: rectangles `x0 y0 x1 y1 ["text"]`, polygons
`x0,y0,…[,"text"]`; every other shape is dropped. Import: shapes of label `icdar`."""
from __future__ import annotations

import posixpath
import re

from workers.formats import common
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, image_name,
                                   item_id, r2, subsets)

LABEL = "icdar"


def _text_of(labels: Labels, obj: dict):
    attrs = labels.typed_attributes(obj["label_id"], obj.get("attributes"))
    return attrs.get("text")


def _quote(s: str) -> str:
    return '"%s"' % s  # as the fork writes it: no escaping, readers strip the outer quotes


def _unquote(s: str, where: str) -> str:
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise FormatError(f"{where}: expected a quoted text, got '{s[:60]}'")
    return s[1:-1]


def export_recognition(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            lines = []
            for frame in frames:
                name = image_name(frame, video)
                for obj in list(objects.tags.get(frame["frame"], ())) + list(objects.shapes.get(frame["frame"], ())):
                    text = _text_of(labels, obj)
                    if text is not None:
                        lines.append("%s, %s" % (name, _quote(str(text))))
                if save_images:
                    common.write_image(archive, f"{subset}/images", frame, image_bytes, video)
            archive.write(f"{subset}/gt.txt", "".join(l + "\n" for l in lines))


def import_recognition(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        gts = common.files(root, "gt.txt")
        gts = [g for g in gts if g.name == "gt.txt"]
        if not gts:
            raise FormatError("Dataset must contain a file: <subset>/gt.txt")
        for gt in gts:
            for lineno, line in enumerate(common.read_text(gt, "gt.txt").splitlines(), 1):
                if not line.strip():
                    continue
                if "," not in line:
                    raise FormatError(f"gt.txt line {lineno}: expected '<image>, \"<text>\"'")
                name, text = line.split(",", 1)
                frame = matcher.match(posixpath.splitext(name.strip())[0])
                builder.add_tag(LABEL, frame, {"text": _unquote(text, f"gt.txt line {lineno}")})
    return builder.result()


def export_localization(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            for frame in frames:
                lines = []
                for s in objects.shapes.get(frame["frame"], ()):
                    text = _text_of(labels, s)
                    suffix = "" if text is None else _quote(str(text))
                    p = [r2(v) for v in s["points"]]
                    if s["type"] == "rectangle":
                        lines.append(" ".join(str(v) for v in p[:4]) + (" " + suffix if suffix else ""))
                    elif s["type"] == "polygon":
                        lines.append(",".join(str(v) for v in p) + ("," + suffix if suffix else ""))
                    else:
                        lines.append("")  # the fork writes an empty line for any other annotation
                lines += [""] * len(objects.tags.get(frame["frame"], ()))
                ident = item_id(frame, video)
                d, base = posixpath.split(ident)
                archive.write(posixpath.join(subset, d, f"gt_{base}.txt"), "".join(l + "\n" for l in lines))
                if save_images:
                    common.write_image(archive, f"{subset}/images", frame, image_bytes, video)


def import_localization(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        files = [p for p in common.files(root, ".txt") if p.name.startswith("gt_")]
        if not files:
            raise FormatError("Dataset must contain a file: <subset>/gt_<image>.txt")
        items = []
        for p in files:
            rel = p.relative_to(root).parts
            sub = "/".join(rel[1:-1]) if len(rel) > 2 else ""
            items.append((posixpath.join(sub, p.name[3:-4]) if sub else p.name[3:-4], p))
        matcher.set_root_hint(i for i, _ in items)
        for ident, p in items:
            frame = matcher.match(ident)
            for lineno, line in enumerate(common.read_text(p, p.name).splitlines(), 1):
                line = line.strip()
                if not line:
                    continue
                where = f"{p.name} line {lineno}"
                text = None
                m = re.search(r'[ ,]\s*(".*")\s*$', line)
                if m:
                    text = _unquote(m.group(1), where)
                    line = line[:m.start()]
                attrs = {} if text is None else {"text": text}
                if "," in line:
                    pts = [common.parse_float(v, where) for v in line.split(",") if v.strip()]
                    if len(pts) < 6 or len(pts) % 2:
                        raise FormatError(f"{where}: a polygon needs an even number (≥ 6) of coordinates")
                    builder.add_shape(LABEL, frame, "polygon", pts, attrs)
                else:
                    pts = [common.parse_float(v, where) for v in line.split()]
                    if len(pts) != 4:
                        raise FormatError(f"{where}: a box needs 4 coordinates")
                    builder.add_shape(LABEL, frame, "rectangle", pts, attrs)
    return builder.result()
