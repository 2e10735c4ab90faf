"""COCO 1.0 (instances) and COCO Keypoints 1.0 — formats.md §4.2.

Export streams the JSON: header, then one `images` entry per frame, then the annotations of
each frame as they are computed, each serialised with orjson — the whole document never sits
in memory. Polygon areas use pycocotools' own rasteriser (geometry.polygon_counts), so
`annToMask(ann).sum() == area` holds for every annotation.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

import orjson

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, image_name,
                                   r2, shape_attributes, subsets)

INSTANCE_TYPES = ("rectangle", "polygon", "mask", "ellipse")
LICENSES = [{"name": "", "id": 0, "url": ""}]
INFO = {"contributor": "", "date_created": "", "description": "", "url": "", "version": "", "year": ""}


def _box_of(shape: dict, w: int, h: int):
    """(bbox [x, y, w, h], area, kind-specific data) of one member of an instance."""
    kind = shape["type"]
    p = shape["points"]
    if kind == "rectangle":
        x1, y1, x2, y2 = (r2(v) for v in p[:4])
        return [x1, y1, r2(x2 - x1), r2(y2 - y1)], (x2 - x1) * (y2 - y1), None, None
    if kind == "polygon":
        pts = [r2(v) for v in p]
        counts = geometry.polygon_counts(pts, h, w)
        return geometry.points_bbox(pts), geometry.counts_area(counts), pts, counts
    mask = geometry.shape_mask(shape, w, h)
    if mask is None:
        return None
    counts = geometry.box_to_coco(mask, w, h)
    return [float(mask.left), float(mask.top), float(mask.width), float(mask.height)], mask.area(), counts, counts


def _union(boxes):
    x0 = min(b[0] for b in boxes)
    y0 = min(b[1] for b in boxes)
    x1 = max(b[0] + b[2] for b in boxes)
    y1 = max(b[1] + b[3] for b in boxes)
    return [r2(x0), r2(y0), r2(x1 - x0), r2(y1 - y0)]


def _instances(shapes: list[dict]) -> list[list[dict]]:
    groups: dict = {}
    out = []
    for s in shapes:
        if s["type"] not in INSTANCE_TYPES:
            continue
        g = s.get("group") or 0
        if g:
            if g not in groups:
                groups[g] = []
                out.append(groups[g])
            groups[g].append(s)
        else:
            out.append([s])
    return out


def _single(labels: Labels, s: dict, w: int, h: int) -> dict | None:
    """Fast path of _instance_annotation for an ungrouped rectangle or polygon (the bulk of
    real tasks): the same output without the group bookkeeping."""
    attrs = shape_attributes(labels, s)
    if "is_crowd" in attrs or "score" in attrs:
        return None
    p = s["points"]
    if s["type"] == "rectangle":
        x1, y1, x2, y2 = round(p[0], 2), round(p[1], 2), round(p[2], 2), round(p[3], 2)
        bw, bh = round(x2 - x1, 2), round(y2 - y1, 2)
        return {"category_id": labels.index[s["label_id"]] + 1, "bbox": [float(x1), float(y1), bw, bh],
                "segmentation": [], "area": float(round(bw * bh, 2)), "iscrowd": 0, "attributes": attrs}
    pts = [round(v, 2) for v in p]
    xs, ys = pts[0::2], pts[1::2]
    x0, y0 = min(xs), min(ys)
    return {"category_id": labels.index[s["label_id"]] + 1,
            "bbox": [round(x0, 2), round(y0, 2), round(max(xs) - x0, 2), round(max(ys) - y0, 2)],
            "segmentation": [pts], "area": float(geometry.counts_area(geometry.polygon_counts(pts, h, w))),
            "iscrowd": 0, "attributes": attrs}


def _instance_annotation(labels: Labels, members: list[dict], frame: dict) -> dict | None:
    w, h = frame["width"], frame["height"]
    if len(members) == 1 and members[0]["type"] in ("rectangle", "polygon"):
        fast = _single(labels, members[0], w, h)
        if fast is not None:
            return fast
    measured = []
    for s in members:
        m = _box_of(s, w, h)
        if m is not None:
            measured.append((s, m))
    if not measured:
        return None
    leader = max(measured, key=lambda t: t[1][1])[0]  # first of the largest
    attrs = shape_attributes(labels, leader)
    is_crowd = attrs.pop("is_crowd", None)
    score = attrs.pop("score", None)
    polygons = [m[2] for s, m in measured if s["type"] == "polygon"]
    polygon_rles = [m[3] for s, m in measured if s["type"] == "polygon"]
    masks = [(s, m[2]) for s, m in measured if s["type"] in ("mask", "ellipse")]
    if is_crowd is not None:
        use_masks = bool(is_crowd) if not isinstance(is_crowd, str) else is_crowd.lower() in ("true", "1")
    else:
        use_masks = any(s["label_id"] == leader["label_id"] for s, _ in masks)
    bbox = _union([m[0] for _, m in measured])
    ann = {"category_id": labels.index[leader["label_id"]] + 1, "bbox": bbox}
    if use_masks and (polygons or masks):
        rles = polygon_rles + [c for _, c in masks]
        counts = rles[0] if len(rles) == 1 else geometry.merge_counts(rles, w * h)
        ann["segmentation"] = {"counts": counts, "size": [h, w]}
        ann["area"] = float(geometry.counts_area(counts))
        ann["iscrowd"] = 1
    else:
        for s, counts in masks:  # masks vectorised into polygons
            box = geometry.coco_to_box(counts, h, w)
            if box is not None:
                polygons += geometry.mask_polygons(box)
        if polygons:
            rles = polygon_rles + [geometry.polygon_counts(p, h, w) for p in polygons[len(polygon_rles):]]
            counts = rles[0] if len(rles) == 1 else geometry.merge_counts(rles, w * h)
            ann["segmentation"] = polygons
            ann["area"] = float(geometry.counts_area(counts))
        else:
            ann["segmentation"] = []
            ann["area"] = float(r2(bbox[2] * bbox[3]))
        ann["iscrowd"] = 0
    if score is not None:
        try:
            ann["score"] = float(score)
        except (TypeError, ValueError):
            pass
    ann["attributes"] = attrs
    return ann


def _keypoint_annotations(labels: Labels, shapes: list[dict]) -> list[dict]:
    out = []
    grouped: dict = {}
    for s in shapes:
        if s.get("group") and s["type"] in ("rectangle", "polygon"):
            grouped.setdefault(s["group"], []).append(s)
    for s in shapes:
        if s["type"] != "skeleton":
            continue
        order = labels.elements(s["label_id"])
        by_label = {e["label_id"]: e for e in s.get("elements") or ()}
        kps, xs, ys, n = [], [], [], 0
        for sub in order:
            e = by_label.get(sub["id"])
            if e is None:
                kps += [0.0, 0.0, 0]
                continue
            x, y = r2(e["points"][0]), r2(e["points"][1])
            v = 0 if e.get("outside") else (1 if e.get("occluded") else 2)
            kps += [x, y, v]
            if v:
                n += 1
                xs.append(x)
                ys.append(y)
        parts = grouped.get(s.get("group") or 0) if s.get("group") else None
        if parts:
            boxes = []
            for p in parts:
                pts = [r2(v) for v in p["points"]]
                if p["type"] == "rectangle":
                    boxes.append([pts[0], pts[1], pts[2] - pts[0], pts[3] - pts[1]])
                else:
                    boxes.append(geometry.points_bbox(pts))
            bbox = _union(boxes)
        elif xs:
            bbox = [min(xs), min(ys), r2(max(xs) - min(xs)), r2(max(ys) - min(ys))]
        else:
            bbox = [0.0, 0.0, 0.0, 0.0]
        attrs = shape_attributes(labels, s)
        attrs.pop("is_crowd", None)
        score = attrs.pop("score", None)
        ann = {"category_id": labels.index[s["label_id"]] + 1, "segmentation": [],
               "area": float(r2(bbox[2] * bbox[3])), "bbox": bbox, "iscrowd": 0,
               "keypoints": kps, "num_keypoints": n}
        if score is not None:
            ann["score"] = float(score)
        ann["attributes"] = attrs
        out.append(ann)
    return out


def _categories(labels: Labels, keypoints: bool) -> list[dict]:
    if not keypoints:
        return [{"id": i + 1, "name": l["name"], "supercategory": l.get("parent") or ""}
                for i, l in enumerate(labels.all)]
    out = []
    for l in labels.top:
        cat = {"id": labels.index[l["id"]] + 1, "name": l["name"], "supercategory": "",
               "keypoints": [], "skeleton": []}
        if l.get("type") == "skeleton" or l.get("sublabels"):
            cat["keypoints"] = [s["name"] for s in labels.elements(l["id"])]
            cat["skeleton"] = labels.joints(l["id"])
        out.append(cat)
    return out


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None, keypoints: bool = False) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    prefix = "person_keypoints" if keypoints else "instances"
    dumps = orjson.dumps
    head = (b'{"licenses":' + dumps(LICENSES) + b',"info":' + dumps(INFO) + b',"categories":'
            + dumps(_categories(labels, keypoints)) + b',"images":[')
    image_id = 0
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            with archive.open(f"annotations/{prefix}_{subset}.json", text=False) as out:
                out.write(head)
                first_id = image_id + 1
                for start in range(0, len(frames), 1000):  # images in batches: few writes, bounded memory
                    batch = []
                    for frame in frames[start:start + 1000]:
                        image_id += 1
                        batch.append({"id": image_id, "width": frame["width"], "height": frame["height"],
                                      "file_name": image_name(frame, video), "license": 0, "flickr_url": "",
                                      "coco_url": "", "date_captured": 0})
                    out.write((b"," if start else b"") + dumps(batch)[1:-1])
                out.write(b'],"annotations":[')
                ann_id = 0
                for i, frame in enumerate(frames):
                    shapes = objects.shapes.get(frame["frame"], ())
                    if not shapes:
                        continue
                    if keypoints:
                        anns = _keypoint_annotations(labels, shapes)
                    else:
                        anns = [a for a in (_instance_annotation(labels, m, frame)
                                            for m in _instances(shapes)) if a is not None]
                    if not anns:
                        continue
                    recs = []
                    for a in anns:
                        ann_id += 1
                        rec = {"id": ann_id, "image_id": first_id + i}
                        rec.update(a)
                        recs.append(rec)
                    out.write((b"," if ann_id > len(recs) else b"") + dumps(recs)[1:-1])  # one write per frame
                out.write(b"]}")
            if save_images:
                for frame in frames:
                    common.write_image(archive, f"images/{subset}", frame, image_bytes, video)


def export_instances(dataset, path, **kw):
    export(dataset, path, keypoints=False, **kw)


def export_keypoints(dataset, path, **kw):
    export(dataset, path, keypoints=True, **kw)


# ---------------------------------------------------------------------------------------------
# import

def _load(path: Path) -> dict:
    try:
        doc = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as e:
        raise FormatError(f"{path.name} is not valid JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list) \
            or not isinstance(doc.get("annotations"), list) or not isinstance(doc.get("categories"), list):
        raise FormatError(f"{path.name} is not a COCO file: it needs 'images', 'annotations' and 'categories' lists")
    return doc


def _find_files(root: Path, keypoints: bool) -> list[Path]:
    prefix = "person_keypoints_" if keypoints else "instances_"
    found = [p for p in common.files(root, ".json") if p.name.startswith(prefix)]
    if not found:
        jsons = common.files(root, ".json")
        if len(jsons) == 1 and jsons[0].parent == root:
            return jsons  # a bare JSON
        raise FormatError(f"Dataset must contain a file: annotations/{prefix}<subset>.json")
    return found


def import_(path, labels: list[dict], frames: list[dict], *, keypoints: bool = False, video: bool = False,
            frame_step: int = 1, stop=None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    matcher = FrameMatcher(frames, video=video)
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    with common.open_input(path) as root:
        for file in _find_files(root, keypoints):
            doc = _load(file)
            _import_doc(doc, builder, matcher, sizes, keypoints, file.name)
    return builder.result()


def _import_doc(doc, builder: ImportBuilder, matcher: FrameMatcher, sizes, keypoints: bool, fname: str) -> None:
    try:
        cats = {c["id"]: c for c in doc["categories"]}
        images = {}
        for img in doc["images"]:
            images[img["id"]] = img
        matcher.set_root_hint(posixpath.splitext(str(i.get("file_name", "")))[0] for i in images.values())
        frame_of = {}
        for img_id, img in images.items():
            frame_of[img_id] = matcher.match(posixpath.splitext(str(img.get("file_name", "")))[0])
        next_group = 1 << 20
        for ann in doc["annotations"]:
            if ann.get("image_id") not in frame_of:
                raise FormatError(f"{fname}: annotation {ann.get('id')} refers to unknown image {ann.get('image_id')}")
            cat = cats.get(ann.get("category_id"))
            if cat is None:
                raise FormatError(f"{fname}: annotation {ann.get('id')} has unknown category {ann.get('category_id')}")
            frame = frame_of[ann["image_id"]]
            w, h = sizes[frame]
            attrs = dict(ann.get("attributes") or {})
            if "iscrowd" in ann:
                attrs.setdefault("is_crowd", bool(ann["iscrowd"]))
            if "score" in ann:
                attrs["score"] = ann["score"]
            if keypoints:
                _import_keypoints(builder, cat, ann, frame, attrs, cats)
                continue
            seg = ann.get("segmentation")
            label = cat["name"]
            if isinstance(seg, dict):
                counts = seg.get("counts")
                size = seg.get("size") or [h, w]
                if isinstance(counts, str):
                    counts = geometry.rle_from_string(counts)
                if not isinstance(counts, list):
                    raise FormatError(f"{fname}: annotation {ann.get('id')} has a malformed RLE")
                if [int(v) for v in size] != [h, w]:
                    raise FormatError(f"{fname}: annotation {ann.get('id')}: RLE size {size} is not the frame's [{h}, {w}]")
                box = geometry.coco_to_box([int(c) for c in counts], h, w)
                if box is None:
                    continue
                builder.add_shape(label, frame, "mask", geometry.encode_cvat_mask(box), attrs)
            elif isinstance(seg, list) and any(isinstance(p, list) and len(p) >= 6 for p in seg):
                parts = [p for p in seg if isinstance(p, list) and len(p) >= 6]
                group = 0
                if len(parts) > 1:
                    next_group += 1
                    group = next_group
                for p in parts:
                    builder.add_shape(label, frame, "polygon", [float(v) for v in p], dict(attrs), group=group)
            else:
                x, y, bw, bh = (float(v) for v in ann["bbox"])
                builder.add_shape(label, frame, "rectangle", [x, y, x + bw, y + bh], attrs)
    except (KeyError, TypeError, ValueError) as e:
        if isinstance(e, FormatError):
            raise
        raise FormatError(f"{fname} is not a valid COCO file: {type(e).__name__} {e}") from None


def _import_keypoints(builder: ImportBuilder, cat: dict, ann: dict, frame: int, attrs: dict, cats) -> None:
    names = cat.get("keypoints") or []
    kps = ann.get("keypoints")
    if not names or not isinstance(kps, list):
        return
    if len(kps) != 3 * len(names):
        raise FormatError(f"Annotation {ann.get('id')}: {len(kps) // 3} keypoints for {len(names)} names")
    elements = []
    for i, name in enumerate(names):
        x, y, v = kps[3 * i:3 * i + 3]
        elements.append({"label": name, "points": [float(x), float(y)], "occluded": int(v) == 1,
                         "outside": int(v) == 0})
    parent = builder.labels.resolve(cat["name"])
    for e in elements:
        e["label"] = builder.labels.resolve(e["label"], parent["id"])["id"]
    builder.add_shape(parent["id"], frame, "skeleton", [], attrs, elements=elements)


def import_instances(path, labels, frames, **kw):
    return import_(path, labels, frames, keypoints=False, **kw)


def import_keypoints(path, labels, frames, **kw):
    return import_(path, labels, frames, keypoints=True, **kw)
