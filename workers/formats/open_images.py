"""Open Images V6 1.0 — formats.md §5.

    annotations/bbox_labels_600_hierarchy.json         label hierarchy (skeleton sublabels under their skeleton)
    annotations/class-descriptions.csv                 `name,name` per label
    annotations/images.meta                            `<image id> <height> <width>` per frame
    annotations/<subset>-images-with-rotation.csv      every image
    annotations/<subset>-annotations-bbox.csv          rectangles, coordinates normalised to [0, 1]
    annotations/<subset>-annotations-human-imagelabels.csv   tags
    annotations/<subset>-annotations-object-segmentation.csv + masks/<subset>/<id>_<label>_<box id>.png
    images/<subset>/<image>                            with images
Rectangles (unrotated; flags from the attributes `occluded`, `truncated`, `is_group_of`,
`is_depiction`, `is_inside`, −1 when unknown), tags, masks and ellipses (binary PNGs, each with its
box); everything else dropped."""
from __future__ import annotations

import csv
import io
import json
import posixpath

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id,
                                   r2, subsets)
from workers.formats.raster import read_png
from workers.formats.voc import add_mask, png_bytes

BBOX_HEADER = ["ImageID", "Source", "LabelName", "Confidence", "XMin", "XMax", "YMin", "YMax", "IsOccluded",
               "IsTruncated", "IsGroupOf", "IsDepiction", "IsInside"]
LABELS_HEADER = ["ImageID", "Source", "LabelName", "Confidence"]
SEGM_HEADER = ["MaskPath", "ImageID", "LabelName", "BoxID", "BoxXMin", "BoxXMax", "BoxYMin", "BoxYMax",
               "PredictedIoU", "Clicks"]
IMAGES_HEADER = ["ImageID", "Subset", "OriginalURL", "OriginalLandingURL", "License", "AuthorProfileURL", "Author",
                 "Title", "OriginalSize", "OriginalMD5", "Thumbnail300KURL", "Rotation"]
FLAGS = [("IsOccluded", "occluded"), ("IsTruncated", "truncated"), ("IsGroupOf", "is_group_of"),
         ("IsDepiction", "is_depiction"), ("IsInside", "is_inside")]


def _flag(attrs: dict, name: str) -> int:
    v = attrs.get(name)
    if v is None:
        return -1
    if isinstance(v, str):
        return 1 if v.lower() in ("true", "1") else 0
    return 1 if v else 0


def _csv(rows: list[list]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _n(v: float) -> str:
    return "%.6g" % v


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        hierarchy = {"LabelName": "", "Subcategory": []}
        for l in labels.top:
            node = {"LabelName": l["name"]}
            subs = [{"LabelName": s["name"]} for s in l.get("sublabels") or ()]
            if subs:
                node["Subcategory"] = subs
            hierarchy["Subcategory"].append(node)
        archive.write("annotations/bbox_labels_600_hierarchy.json", json.dumps(hierarchy, indent=4))
        archive.write("annotations/class-descriptions.csv", _csv([[l["name"], l["name"]] for l in labels.all]))
        meta = ["# image_id height width"]
        for subset, frames in subsets(dataset):
            boxes, tags, segms, images = [BBOX_HEADER], [LABELS_HEADER], [SEGM_HEADER], [IMAGES_HEADER]
            box_id = 0
            for frame in frames:
                ident = item_id(frame, video)
                w, h = frame["width"], frame["height"]
                meta.append(f"{ident} {h} {w}")
                images.append([ident, subset] + [""] * 9 + ["0"])
                for t in objects.tags.get(frame["frame"], ()):
                    tags.append([ident, "", labels.name(t["label_id"]), "1"])
                for s in objects.shapes.get(frame["frame"], ()):
                    attrs = labels.typed_attributes(s["label_id"], s.get("attributes"))
                    attrs["occluded"] = bool(s.get("occluded"))
                    name = labels.name(s["label_id"])
                    if s["type"] == "rectangle":
                        x1, y1, x2, y2 = (r2(v) for v in s["points"][:4])
                        score = attrs.get("score", 1)
                        boxes.append([ident, "", name, _n(float(score) if not isinstance(score, str) else 1.0),
                                      _n(x1 / w), _n(x2 / w), _n(y1 / h), _n(y2 / h)]
                                     + [str(_flag(attrs, a)) for _, a in FLAGS])
                    elif s["type"] in ("mask", "ellipse"):
                        m = geometry.shape_mask(s, w, h)
                        if m is None:
                            continue
                        box_id += 1
                        bid = "%08x" % box_id
                        base = posixpath.basename(ident)
                        mask_path = f"{base}_{name.replace('/', '_')}_{bid}.png"
                        from PIL import Image
                        img = Image.new("L", (w, h))
                        img.paste(geometry.mask_to_image(m), (m.left, m.top))
                        archive.write(f"masks/{subset}/{mask_path}", png_bytes(img))
                        segms.append([mask_path, ident, name, bid, _n(m.left / w), _n((m.left + m.width) / w),
                                      _n(m.top / h), _n((m.top + m.height) / h), "", ""])
                if save_images:
                    common.write_image(archive, f"images/{subset}", frame, image_bytes, video)
            archive.write(f"annotations/{subset}-annotations-bbox.csv", _csv(boxes))
            archive.write(f"annotations/{subset}-annotations-human-imagelabels.csv", _csv(tags))
            archive.write(f"annotations/{subset}-annotations-object-segmentation.csv", _csv(segms))
            archive.write(f"annotations/{subset}-images-with-rotation.csv", _csv(images))
        archive.write("annotations/images.meta", "\n".join(meta) + "\n")


def _rows(path, header: list[str]) -> list[dict]:
    reader = csv.reader(io.StringIO(common.read_text(path, path.name)))
    head = next(reader, None)
    if head is None:
        return []
    head = [c.strip() for c in head]
    missing = [c for c in header if c not in head and c not in ("Source", "Confidence", "PredictedIoU", "Clicks",
                                                                   "IsOccluded", "IsTruncated", "IsGroupOf",
                                                                   "IsDepiction", "IsInside", "BoxID")]
    if missing:
        raise FormatError(f"{path.name}: missing columns {', '.join(missing)}")
    return [dict(zip(head, row)) for row in reader if row]


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False,
            conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    with common.open_input(path) as root:
        csvs = [p for p in common.files(root, ".csv") if "annotations" in p.relative_to(root).parts]
        kinds = {"-annotations-bbox.csv": "bbox", "-annotations-human-imagelabels.csv": "tags",
                 "-annotations-object-segmentation.csv": "segm", "-images-with-rotation.csv": "images"}
        found = [(p, k) for p in csvs for suffix, k in kinds.items() if p.name.endswith(suffix)]
        if not any(k in ("bbox", "images") for _, k in found):
            raise FormatError("Dataset must contain a file: annotations/<subset>-annotations-bbox.csv")
        rows = {}
        for p, k in found:
            header = {"bbox": BBOX_HEADER, "tags": LABELS_HEADER, "segm": SEGM_HEADER, "images": ["ImageID"]}[k]
            rows.setdefault(k, []).extend((p, r) for r in _rows(p, header))
        matcher.set_root_hint(r["ImageID"] for k in rows for _, r in rows[k])
        for p, r in rows.get("bbox", ()):
            frame = matcher.match(r["ImageID"])
            w, h = sizes[frame]
            v = [common.parse_float(r[c], p.name) for c in ("XMin", "XMax", "YMin", "YMax")]
            attrs = {}
            for col, name in FLAGS:
                if r.get(col, "-1").strip() in ("0", "1"):
                    attrs[name] = r[col].strip() == "1"
            if r.get("Confidence", "").strip():
                attrs["score"] = r["Confidence"]
            builder.add_shape(r["LabelName"], frame, "rectangle", [v[0] * w, v[2] * h, v[1] * w, v[3] * h], attrs)
        for p, r in rows.get("tags", ()):
            builder.add_tag(r["LabelName"], matcher.match(r["ImageID"]))
        for p, r in rows.get("segm", ()):
            frame = matcher.match(r["ImageID"])
            mask_name = r["MaskPath"]
            if "/" in mask_name or "\\" in mask_name or mask_name.startswith("."):
                raise FormatError(f"{p.name}: bad mask path '{mask_name}'")
            candidates = [q for q in common.files(root / "masks", mask_name)] if (root / "masks").is_dir() else []
            candidates = [q for q in candidates if q.name == mask_name]
            if not candidates:
                raise FormatError(f"{p.name}: mask file '{mask_name}' is missing")
            img = read_png(candidates[0], mask_name).convert("L").point(lambda v: 1 if v else 0)
            m = geometry.image_to_masks(img).get(1)
            if m is not None:
                add_mask(builder, r["LabelName"], frame, m, conv_mask_to_poly)
    return builder.result()
