"""LabelMe 3.0 — formats.md §4.7: <subset>/<frame path without ext>.xml per frame,
masks as full-frame RGBA PNGs under <subset>/Masks/. Rectangles (as 4-point polygons typed
bounding_box), polygons, masks and ellipses (as masks); groups via hasparts/ispartof."""
from __future__ import annotations

import posixpath
import re
import xml.etree.ElementTree as ET

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   image_name, item_id, r2, shape_attributes, subsets)
from workers.formats.voc import _parse_xml, _text, add_mask, png_bytes

MASK_COLOR = (255, 203, 0, 153)
_NUMBER = re.compile(r"^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$")


def _escape(s: str) -> str:
    return re.sub(r'([\\=",])', r"\\\1", s)


def format_attributes(attrs: dict) -> str:
    parts = []
    for k, v in attrs.items():
        if isinstance(v, bool):
            text = "True" if v else "False"
        elif isinstance(v, (int, float)):
            text = str(v)
        else:
            v = str(v)
            text = _escape(v)
            if _NUMBER.match(v) or v.lower() in ("true", "false"):
                text = '"%s"' % text
        parts.append("%s=%s" % (_escape(str(k)), text))
    return ", ".join(parts)


def parse_attributes(text: str) -> dict:
    """Inverse of format_attributes: `\\` escapes, quoted → string, true/false → bool, numbers."""
    out = {}
    buf, quoted, in_quotes, i = [], False, False, 0
    pairs: list[list] = []
    key = None
    while i <= len(text):
        ch = text[i] if i < len(text) else None
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            in_quotes = not in_quotes
            quoted = True
            i += 1
            continue
        if ch == "=" and key is None and not in_quotes:
            key = "".join(buf).strip()
            buf, quoted = [], False
        elif ch is None or (ch == "," and not in_quotes):
            if key is not None:
                pairs.append([key, "".join(buf), quoted])
            elif "".join(buf).strip():
                pairs.append(["".join(buf).strip(), "", False])
            key, buf, quoted = None, [], False
        else:
            buf.append(ch)
        i += 1
    for k, v, q in pairs:
        if q:
            out[k] = v
            continue
        v = v.strip()
        if v.lower() in ("true", "false"):
            out[k] = v.lower() == "true"
        elif _NUMBER.match(v):
            out[k] = float(v) if any(c in v for c in ".eE") else int(v)
        else:
            out[k] = v
    return out


def _sub(parent, tag, text=None):
    el = ET.SubElement(parent, tag)
    el.text = "" if text is None else str(text)
    return el


def _pt(parent, x, y):
    pt = _sub(parent, "pt")
    _sub(pt, "x", "%.2f" % x)
    _sub(pt, "y", "%.2f" % y)


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    from PIL import Image
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            for frame in frames:
                ident = item_id(frame, video)
                name = image_name(frame, video)
                w, h = frame["width"], frame["height"]
                root = ET.Element("annotation")
                _sub(root, "filename", posixpath.basename(name))
                _sub(root, "folder", posixpath.dirname(name))
                src = _sub(root, "source")
                _sub(src, "sourceImage", "")
                _sub(src, "sourceAnnotation", "Datumaro")
                size = _sub(root, "imagesize")
                _sub(size, "nrows", h)
                _sub(size, "ncols", w)
                kept = [s for s in objects.shapes.get(frame["frame"], ())
                        if s["type"] in ("rectangle", "polygon", "mask", "ellipse")]
                leaders: dict = {}
                members: dict = {}
                for idx, s in enumerate(kept):
                    g = s.get("group") or 0
                    if g:
                        leaders.setdefault(g, idx)
                        members.setdefault(g, []).append(idx)
                for idx, s in enumerate(kept):
                    attrs = shape_attributes(labels, s)
                    occluded = attrs.pop("occluded", False)
                    obj = _sub(root, "object")
                    _sub(obj, "name", labels.name(s["label_id"]))
                    _sub(obj, "deleted", 0)
                    _sub(obj, "verified", 0)
                    _sub(obj, "occluded", "yes" if occluded else "no")
                    _sub(obj, "date", "")
                    _sub(obj, "id", idx)
                    parts = _sub(obj, "parts")
                    g = s.get("group") or 0
                    has, part_of = "", ""
                    if g and leaders[g] == idx:
                        has = ",".join(str(i) for i in members[g] if i != idx)
                    elif g:
                        part_of = str(leaders[g])
                    _sub(parts, "hasparts", has)
                    _sub(parts, "ispartof", part_of)
                    if s["type"] in ("rectangle", "polygon"):
                        p = [r2(v) for v in s["points"]]
                        if s["type"] == "rectangle":
                            _sub(obj, "type", "bounding_box")
                            p = [p[0], p[1], p[2], p[1], p[2], p[3], p[0], p[3]]
                        poly = _sub(obj, "polygon")
                        for i in range(0, len(p) - 1, 2):
                            _pt(poly, p[i], p[i + 1])
                        _sub(poly, "username", "")
                    else:
                        m = geometry.shape_mask(s, w, h)
                        if m is None:
                            root.remove(obj)
                            continue
                        mask_name = "%s_mask_%d.png" % (ident, idx)  # <subset>/Masks/<item id>_mask_<n>.png
                        img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
                        img.paste(Image.new("RGBA", (m.width, m.height), MASK_COLOR), (m.left, m.top),
                                  geometry.mask_to_image(m))
                        archive.write(f"{subset}/Masks/{mask_name}", png_bytes(img))
                        segm = _sub(obj, "segm")
                        _sub(segm, "mask", mask_name)
                        box = _sub(segm, "box")
                        for k, v in (("xmin", m.left), ("ymin", m.top), ("xmax", m.left + m.width),
                                     ("ymax", m.top + m.height)):
                            _sub(box, k, "%.2f" % v)
                        _sub(segm, "username", "")
                    _sub(obj, "attributes", format_attributes(attrs))
                ET.indent(root)
                archive.write(f"{subset}/{ident}.xml", ET.tostring(root, encoding="utf-8"))
                if save_images:
                    common.write_image(archive, subset, frame, image_bytes, video)


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    from PIL import Image
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        xmls = common.files(root, ".xml")
        if not xmls:
            raise FormatError("Dataset must contain a file: <subset>/<image>.xml (LabelMe annotations)")
        docs = []
        for xml in xmls:
            doc = _parse_xml(xml)
            if doc.tag != "annotation":
                raise FormatError(f"{xml.name}: the root element is <{doc.tag}>, not <annotation>")
            folder, filename = _text(doc, "folder"), _text(doc, "filename")
            ident = posixpath.splitext(posixpath.join(folder, filename) if folder else filename)[0]
            docs.append((xml, doc, ident))
        matcher.set_root_hint(i for _, _, i in docs)
        for xml, doc, ident in docs:
            frame = matcher.match(ident)
            rel = xml.relative_to(root).parts
            subset_dir = root / rel[0] if len(rel) > 1 else root
            group_of: dict = {}
            objs = doc.findall("object")
            next_group = 1
            for obj in objs:
                oid = _text(obj, "id")
                has = _text(obj, "parts/hasparts")
                if has:
                    for other in [oid] + [p.strip() for p in has.split(",") if p.strip()]:
                        group_of[other] = next_group
                    next_group += 1
            for obj in objs:
                if _text(obj, "deleted") == "1":
                    continue
                name = _text(obj, "name")
                if not name:
                    raise FormatError(f"{xml.name}: an <object> has no <name>")
                attrs = parse_attributes(_text(obj, "attributes"))
                attrs["occluded"] = _text(obj, "occluded").lower() == "yes"
                oid = _text(obj, "id")
                part_of = _text(obj, "parts/ispartof")
                group = group_of.get(oid) or group_of.get(part_of) or 0
                poly = obj.find("polygon")
                segm = obj.find("segm")
                if poly is not None:
                    pts = []
                    for pt in poly.findall("pt"):
                        pts += [common.parse_float(_text(pt, "x"), f"{xml.name} <x>"),
                                common.parse_float(_text(pt, "y"), f"{xml.name} <y>")]
                    if _text(obj, "type") == "bounding_box" and len(pts) >= 4:
                        xs, ys = pts[0::2], pts[1::2]
                        builder.add_shape(name, frame, "rectangle", [min(xs), min(ys), max(xs), max(ys)], attrs,
                                          group=group)
                    elif len(pts) >= 6:
                        builder.add_shape(name, frame, "polygon", pts, attrs, group=group)
                elif segm is not None:
                    mask_name = _text(segm, "mask")
                    mask_path = common.inside(subset_dir, "Masks", mask_name)
                    if not mask_path.is_file():
                        mask_path = common.inside(root, "Masks", mask_name)
                    if not mask_path.is_file():
                        raise FormatError(f"{xml.name}: mask file '{mask_name}' is missing")
                    try:
                        img = Image.open(mask_path)
                        img.load()
                    except Exception as e:
                        raise FormatError(f"{mask_name} is not a readable PNG: {e}") from None
                    alpha = img.convert("RGBA").getchannel("A") if "A" in img.getbands() else img.convert("L")
                    binary = alpha.point(lambda v: 1 if v else 0)
                    masks = geometry.image_to_masks(binary)
                    m = masks.get(1)
                    if m is None:
                        continue
                    add_mask(builder, name, frame, m, conv_mask_to_poly, attrs, group=group)
    return builder.result()
