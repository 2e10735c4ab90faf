"""ICDAR Recognition 1.0, ICDAR Localization 1.0 and ICDAR Segmentation 1.0 — formats.md §5.

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


# ---------------------------------------------------------------------------------------------
# ICDAR Segmentation 1.0: <subset>/<id>_GT.bmp (white background, one colour per text instance)
# and <subset>/<id>_GT.txt, one line per instance in index order:
#   `R G B cx cy x1 y1 x2 y2 "text"` (`- -` without a centre; `#` before a line whose text is " ";
#   an empty line between groups), as the fork writes it. Rectangles (rotated ones as polygons),
#   polygons, masks and ellipses are rasterised; attributes `index`, `color`, `center`, `text`
#   of the label are used when present (index = order, colour = a generated one otherwise).

def _instance_colors(n: int) -> list[tuple[int, int, int]]:
    out = []
    for i in range(1, n + 1):
        out.append(((i * 67) % 251, (i * 131) % 241, (i * 199) % 239))
    return out


def export_segmentation(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    from workers.formats.masks import draw, frame_instances, paste
    from PIL import Image
    import io
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            for frame in frames:
                ident = item_id(frame, video)
                w, h = frame["width"], frame["height"]
                instances = frame_instances(objects.shapes.get(frame["frame"], ()))
                entries = []
                for n, members in enumerate(instances):
                    attrs = labels.typed_attributes(members[0]["label_id"], members[0].get("attributes"))
                    try:
                        index = int(float(attrs.get("index", n)))
                    except (TypeError, ValueError):
                        index = n
                    entries.append((index, n, members, attrs))
                entries.sort(key=lambda e: (e[0], e[1]))
                colors = _instance_colors(len(entries))
                lines = []
                img = Image.new("RGB", (w, h), (255, 255, 255))
                group = entries[0][2][0].get("group") or 0 if entries else 0
                for k, (index, _, members, attrs) in enumerate(entries):
                    g = members[0].get("group") or 0
                    if g != group or (not g and k and group):
                        lines.append("")
                    group = g
                    color = colors[k]
                    given = str(attrs.get("color") or "").split()
                    if len(given) == 3 and all(v.isdigit() for v in given):
                        color = tuple(int(v) for v in given)
                    boxes = []
                    for s in members:
                        drawn = draw(s, w, h)
                        if drawn is None:
                            continue
                        paste(img, color, drawn)
                        bx0, by0, bx1, by1 = drawn[0].getbbox()
                        boxes.append((bx0 + drawn[1][0], by0 + drawn[1][1], bx1 + drawn[1][0], by1 + drawn[1][1]))
                    if not boxes:
                        continue
                    x1, y1 = min(b[0] for b in boxes), min(b[1] for b in boxes)
                    x2, y2 = max(b[2] for b in boxes), max(b[3] for b in boxes)
                    text = str(attrs.get("text", ""))
                    center = str(attrs.get("center") or "").strip() or "- -"
                    prefix = "#" if text == " " else ""
                    lines.append('%s%d %d %d %s %d %d %d %d "%s"' % (prefix, color[0], color[1], color[2], center,
                                                                   x1, y1, x2 - 1, y2 - 1, text))
                if entries:
                    buf = io.BytesIO()
                    img.save(buf, "BMP")
                    archive.write(f"{subset}/{ident}_GT.bmp", buf.getvalue())
                archive.write(f"{subset}/{ident}_GT.txt", "".join(l + "\n" for l in lines))
                if save_images:
                    common.write_image(archive, f"{subset}/images", frame, image_bytes, video)


def import_segmentation(path, labels: list[dict], frames: list[dict], *, video: bool = False,
                        conv_mask_to_poly: bool = True, **_) -> dict:
    from workers.formats import geometry
    from workers.formats.raster import read_png
    from workers.formats.voc import add_mask
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        txts = [p for p in common.files(root, "_GT.txt")]
        if not txts:
            raise FormatError("Dataset must contain a file: <subset>/<image>_GT.txt")
        items = []
        for p in txts:
            rel = p.relative_to(root).parts
            ident = "/".join(rel[1:])[:-len("_GT.txt")] if len(rel) > 1 else p.name[:-len("_GT.txt")]
            items.append((ident, p))
        matcher.set_root_hint(i for i, _ in items)
        for ident, p in items:
            frame = matcher.match(ident)
            bmp = p.with_name(p.name[:-len(".txt")] + ".bmp")
            rows = []
            group, index = 0, 0
            for lineno, line in enumerate(common.read_text(p, p.name).splitlines(), 1):
                if not line.strip():
                    group += 1
                    continue
                m = re.match(r'^#?\s*(\d+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\S+)\s+\S+\s+\S+\s+\S+\s+\S+\s*(".*")?\s*$', line)
                if not m:
                    raise FormatError(f"{p.name} line {lineno}: expected 'R G B cx cy x1 y1 x2 y2 \"text\"'")
                color = tuple(int(m.group(i)) for i in (1, 2, 3))
                text = _unquote(m.group(6), f"{p.name} line {lineno}") if m.group(6) else ""
                if line.startswith("#"):
                    text = " "
                center = "" if m.group(4) == "-" else f"{m.group(4)} {m.group(5)}"
                rows.append((color, {"index": index, "text": text, "color": " ".join(map(str, color)),
                                     "center": center}, group))
                index += 1
            if not rows:
                continue
            if not bmp.is_file():
                raise FormatError(f"{p.name}: the mask image {bmp.name} is missing")
            masks = geometry.image_to_masks(read_png(bmp, bmp.name).convert("RGB"))
            groups_used = {g for _, _, g in rows}
            for color, attrs, g in rows:
                m = masks.get(color)
                if m is None:
                    continue
                add_mask(builder, LABEL, frame, m, conv_mask_to_poly, attrs,
                         group=(g + 1) if len(groups_used) > 1 else 0)
    return builder.result()
