"""Datumaro 1.0 — formats.md §4.6: annotations/<subset>.json (+ images/<subset>/<path>).

CVAT's file shape (no dm_format_version/media_type/infos keys). Ellipses and masks become
full-image masks with compressed RLE counts; cuboids are dropped. Streamed item by item.
"""
from __future__ import annotations

import orjson

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   image_name, item_id, r2, shape_attributes, subsets)


def _dumps(obj) -> str:
    return orjson.dumps(obj).decode()


def _categories(labels: Labels) -> dict:
    cats = {"label": {"labels": [{"name": l["name"], "parent": l.get("parent") or "", "attributes": []}
                                 for l in labels.all],
                      "attributes": labels.attribute_names()}}
    points = []
    for l in labels.top:
        if l.get("type") == "skeleton" or l.get("sublabels"):
            points.append({"label_id": labels.index[l["id"]],
                           "labels": [s["name"] for s in labels.elements(l["id"])],
                           "joints": labels.joints(l["id"])})
    if points:
        cats["points"] = {"items": points}
    return cats


def _annotation(labels: Labels, s: dict, frame: dict) -> dict | None:
    kind = s["type"]
    base = {"id": 0, "attributes": shape_attributes(labels, s), "group": s.get("group") or 0,
            "label_id": labels.index[s["label_id"]]}
    p = [r2(v) for v in s.get("points") or ()]
    z = s.get("z_order") or 0
    if kind == "rectangle":
        return dict(base, type="bbox", z_order=z, bbox=[p[0], p[1], r2(p[2] - p[0]), r2(p[3] - p[1])])
    if kind in ("polygon", "polyline"):
        return dict(base, type=kind, z_order=z, points=p)
    if kind == "points":
        return dict(base, type="points", z_order=z, points=p, visibility=[2] * (len(p) // 2))
    if kind in ("mask", "ellipse"):
        m = geometry.shape_mask(s, frame["width"], frame["height"])
        if m is None:
            return None
        counts = geometry.box_to_coco(m, frame["width"], frame["height"])
        return dict(base, type="mask", z_order=z,
                    rle={"counts": geometry.rle_to_string(counts), "size": [frame["height"], frame["width"]]})
    if kind == "skeleton":
        by_label = {e["label_id"]: e for e in s.get("elements") or ()}
        pts, pattrs = [], []
        for sub in labels.elements(s["label_id"]):
            e = by_label.get(sub["id"])
            if e is None:
                pts += [0.0, 0.0, 0]
                pattrs.append({})
                continue
            v = 0 if e.get("outside") else (1 if e.get("occluded") else 2)
            pts += [r2(e["points"][0]), r2(e["points"][1]), v]
            pattrs.append(labels.typed_attributes(e["label_id"], e.get("attributes")))
        return dict(base, type="skeleton", points=pts, points_attributes=pattrs)
    return None  # cuboid


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    cats = _dumps(_categories(labels))
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            with archive.open(f"annotations/{subset}.json") as out:
                out.write('{"info":{},"categories":%s,"items":[' % cats)
                for i, frame in enumerate(frames):
                    f = frame["frame"]
                    anns = []
                    for s in sorted(objects.shapes.get(f, ()), key=lambda s: s.get("z_order") or 0):
                        a = _annotation(labels, s, frame)
                        if a is not None:
                            anns.append(a)
                    for t in objects.tags.get(f, ()):
                        anns.append({"id": 0, "type": "label", "attributes": shape_attributes(labels, t, tag=True),
                                     "group": t.get("group") or 0, "label_id": labels.index[t["label_id"]]})
                    item = {"id": item_id(frame, video), "annotations": anns, "attr": {"frame": f},
                            "image": {"path": image_name(frame, video), "size": [frame["height"], frame["width"]]}}
                    out.write(("," if i else "") + _dumps(item))
                out.write("]}")
            if save_images:
                for frame in frames:
                    common.write_image(archive, f"images/{subset}", frame, image_bytes, video)


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    matcher = FrameMatcher(frames, video=video)
    sizes = {f["frame"]: (f["width"], f["height"]) for f in frames}
    with common.open_input(path) as root:
        found = [p for p in common.files(root, ".json") if p.parent.name == "annotations"]
        if not found:
            jsons = common.files(root, ".json")
            if len(jsons) == 1 and jsons[0].parent == root:
                found = jsons
            else:
                raise FormatError("Dataset must contain a file: annotations/<subset>.json")
        for file in found:
            try:
                doc = orjson.loads(file.read_bytes())
            except orjson.JSONDecodeError as e:
                raise FormatError(f"{file.name} is not valid JSON: {e}") from None
            if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
                raise FormatError(f"{file.name} is not a Datumaro file: it needs an 'items' list")
            try:
                _import_doc(doc, builder, matcher, sizes, file.name)
            except (KeyError, TypeError, ValueError, IndexError) as e:
                if isinstance(e, FormatError):
                    raise
                raise FormatError(f"{file.name} is not a valid Datumaro file: {type(e).__name__} {e}") from None
    return builder.result()


def _import_doc(doc, builder: ImportBuilder, matcher: FrameMatcher, sizes, fname) -> None:
    cats = doc.get("categories") or {}
    names = [l["name"] for l in (cats.get("label") or {}).get("labels", [])]
    parents = [l.get("parent") or "" for l in (cats.get("label") or {}).get("labels", [])]
    point_cats = {p["label_id"]: p.get("labels") or [] for p in (cats.get("points") or {}).get("items", [])}
    items = doc["items"]
    matcher.set_root_hint(str(i.get("id", "")) for i in items)

    def label_of(idx):
        if idx is None or not (0 <= int(idx) < len(names)):
            raise FormatError(f"{fname}: label index {idx} is not in the label categories")
        return names[int(idx)]

    for item in items:
        frame = matcher.match(str(item.get("id", "")), (item.get("attr") or {}).get("frame"))
        w, h = sizes[frame]
        for ann in item.get("annotations") or ():
            kind = ann.get("type")
            attrs = dict(ann.get("attributes") or {})
            group = ann.get("group") or 0
            z = ann.get("z_order") or 0
            if kind == "label":
                builder.add_tag(label_of(ann.get("label_id")), frame, attrs, group=group)
                continue
            label = label_of(ann.get("label_id"))
            if parents[int(ann["label_id"])]:
                continue  # annotations of skeleton sublabels outside a skeleton are not CVAT objects
            if kind == "bbox":
                x, y, bw, bh = (float(v) for v in ann["bbox"])
                builder.add_shape(label, frame, "rectangle", [x, y, x + bw, y + bh], attrs, group=group, z_order=z)
            elif kind in ("polygon", "polyline", "points"):
                builder.add_shape(label, frame, kind, [float(v) for v in ann["points"]], attrs,
                                  group=group, z_order=z)
            elif kind == "mask":
                rle = ann["rle"]
                counts = rle["counts"]
                if isinstance(counts, str):
                    counts = geometry.rle_from_string(counts)
                if [int(v) for v in rle["size"]] != [h, w]:
                    raise FormatError(f"{fname}: a mask of size {rle['size']} on a frame of [{h}, {w}]")
                box = geometry.coco_to_box([int(c) for c in counts], h, w)
                if box is not None:
                    builder.add_shape(label, frame, "mask", geometry.encode_cvat_mask(box), attrs,
                                      group=group, z_order=z)
            elif kind == "skeleton":
                subs = point_cats.get(int(ann["label_id"]), [])
                pts = ann.get("points") or []
                pattrs = ann.get("points_attributes") or []
                elements = []
                for i, name in enumerate(subs):
                    if 3 * i + 2 >= len(pts):
                        break
                    v = int(pts[3 * i + 2])
                    elements.append({"label": name, "points": [float(pts[3 * i]), float(pts[3 * i + 1])],
                                     "occluded": v == 1, "outside": v == 0,
                                     "attributes": pattrs[i] if i < len(pattrs) else {}})
                parent = builder.labels.resolve(label)
                for e in elements:
                    e["label"] = builder.labels.resolve(e["label"], parent["id"])["id"]
                builder.add_shape(parent["id"], frame, "skeleton", [], attrs, group=group, z_order=z,
                                  elements=elements)
            elif kind == "cuboid_3d":
                continue
            else:
                raise FormatError(f"{fname}: unknown annotation type '{kind}'")
