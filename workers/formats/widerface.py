"""WiderFace 1.0 — formats.md §5: labels.txt (no trailing newline),
wider_face_split/wider_face_<subset>_bbx_gt.txt, WIDER_<subset>/images/<idx>--<label>/<image>.
Per image: its path `<idx>--<label>/<image>` (first tag's label, else `no_label`), the box count
(omitted when 0), then `x y w h blur expression illumination occluded pose invalid [label]` per
rectangle (`-` for an attribute the label lacks; label omitted when it is `face`)."""
from __future__ import annotations

import posixpath
import re

from workers.formats import common
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, image_name, r2,
                                   subsets)

ATTRS = ("blur", "expression", "illumination", "occluded", "pose", "invalid")


def _value(v) -> str:
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        archive.write("labels.txt", "\n".join(l["name"] for l in labels.all))
        for subset, frames in subsets(dataset):
            out = []
            for frame in frames:
                tags = objects.tags.get(frame["frame"], ())
                folder = ("%d--%s" % (labels.index[tags[0]["label_id"]], labels.name(tags[0]["label_id"]))
                          if tags else "no_label")
                rel = posixpath.join(folder, image_name(frame, video))
                out.append(rel)
                boxes = [s for s in objects.shapes.get(frame["frame"], ()) if s["type"] == "rectangle"]
                if boxes:
                    out.append(str(len(boxes)))
                for s in boxes:
                    x1, y1, x2, y2 = (r2(v) for v in s["points"][:4])
                    attrs = labels.typed_attributes(s["label_id"], s.get("attributes"))
                    attrs["occluded"] = bool(s.get("occluded"))
                    fields = ["%g" % v for v in (x1, y1, r2(x2 - x1), r2(y2 - y1))]
                    fields += [_value(attrs[a]) if a in attrs else "-" for a in ATTRS]
                    name = labels.name(s["label_id"])
                    if name != "face":
                        fields.append(name)
                    out.append(" ".join(fields))
                if save_images:
                    common.write_image(archive, f"WIDER_{subset}/images/{folder}", frame, image_bytes, video)
            archive.write(f"wider_face_split/wider_face_{subset}_bbx_gt.txt", "".join(l + "\n" for l in out))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        gts = [p for p in common.files(root, "_bbx_gt.txt") if p.name.startswith("wider_face_")]
        if not gts:
            raise FormatError("Dataset must contain a file: wider_face_split/wider_face_<subset>_bbx_gt.txt")
        for gt in gts:
            lines = [l.strip() for l in common.read_text(gt, gt.name).splitlines()]
            lines = [l for l in lines if l]
            i = 0
            while i < len(lines):
                rel = lines[i]
                where = f"{gt.name} line {i + 1}"
                if re.fullmatch(r"[-\d. ]+", rel):
                    raise FormatError(f"{where}: expected an image path, got '{rel[:60]}'")
                i += 1
                folder, _, image = rel.partition("/")
                if not image:
                    folder, image = "", rel
                frame = matcher.match(posixpath.splitext(image)[0])
                m = re.fullmatch(r"\d+--(.+)", folder)
                if m:
                    builder.add_tag(m.group(1), frame)
                count = 0
                if i < len(lines) and re.fullmatch(r"\d+", lines[i]):
                    count = int(lines[i])
                    i += 1
                for _ in range(count):
                    if i >= len(lines):
                        raise FormatError(f"{gt.name}: the file ends before {count} boxes of '{rel}'")
                    parts = lines[i].split()
                    i += 1
                    if len(parts) < 4:
                        raise FormatError(f"{gt.name}: a box line needs x y w h, got '{' '.join(parts)[:60]}'")
                    x, y, w, h = (common.parse_float(v, where) for v in parts[:4])
                    attrs = {}
                    for name, v in zip(ATTRS, parts[4:10]):
                        if v != "-":
                            attrs[name] = v
                    label = parts[10] if len(parts) > 10 else "face"
                    attrs["occluded"] = attrs.get("occluded") == "1"
                    builder.add_shape(label, frame, "rectangle", [x, y, x + w, y + h], attrs)
    return builder.result()
