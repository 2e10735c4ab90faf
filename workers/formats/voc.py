"""PASCAL VOC 1.1 — formats.md §4.4 — and the PNG helpers Segmentation mask 1.1 shares.

Objects are rectangles (unrotated box; `rotation` kept in <attributes>); CVAT masks and
ellipses go to SegmentationClass/SegmentationObject PNGs in VOC palette colours; tags go to
ImageSets/Main/<label>_<subset>.txt; polygons, polylines, points, skeletons, cuboids are dropped.
"""
from __future__ import annotations

import io
import posixpath
import xml.etree.ElementTree as ET
from pathlib import Path

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import parse as safe_parse

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   image_name, item_id, r2, shape_attributes, subsets)

LABELMAP_HEADER = "# label:color_rgb:parts:actions\n"
VOC_CLASSES = ["background", "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat",
               "chair", "cow", "diningtable", "dog", "horse", "motorbike", "person", "pottedplant",
               "sheep", "sofa", "train", "tvmonitor"]


def voc_color(i: int) -> tuple[int, int, int]:
    """The VOC palette: 1 → (128,0,0), 2 → (0,128,0), 3 → (128,128,0), 4 → (0,0,128) …"""
    r = g = b = 0
    c = i
    for j in range(8):
        r |= ((c >> 0) & 1) << (7 - j)
        g |= ((c >> 1) & 1) << (7 - j)
        b |= ((c >> 2) & 1) << (7 - j)
        c >>= 3
    return r, g, b


def hex_color(c: str) -> tuple[int, int, int]:
    c = (c or "#000000").lstrip("#")
    try:
        return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)
    except ValueError:
        return 0, 0, 0


def png_bytes(img) -> bytes:
    """PNG at zlib level 1: mask images are mostly flat, level 1 keeps them small and encodes
    several times faster than the default on 1080p frames."""
    buf = io.BytesIO()
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


def paint(img, mask: geometry.BoxMask, color) -> None:
    """Paint a box mask onto an RGB image in one colour."""
    from PIL import Image
    patch = Image.new("RGB", (mask.width, mask.height), color)
    img.paste(patch, (mask.left, mask.top), geometry.mask_to_image(mask))


def _sub(parent, tag, text=None):
    el = ET.SubElement(parent, tag)
    if text is not None:
        el.text = str(text)
    return el


def _flag(v) -> int:
    if isinstance(v, str):
        return 1 if v.strip().lower() in ("true", "1") else 0
    return 1 if v else 0


def _annotation_xml(labels: Labels, frame: dict, video: bool, boxes: list[dict], segmented: bool) -> bytes:
    root = ET.Element("annotation")
    ident = item_id(frame, video)
    _sub(root, "folder", ident.split("_", 1)[0] if "_" in ident else "")
    _sub(root, "filename", image_name(frame, video))
    src = _sub(root, "source")
    for k in ("database", "annotation", "image"):
        _sub(src, k, "Unknown")
    size = _sub(root, "size")
    _sub(size, "width", frame["width"])
    _sub(size, "height", frame["height"])
    _sub(size, "depth", "")
    _sub(root, "segmented", 1 if segmented else 0)
    for s in boxes:
        attrs = shape_attributes(labels, s)
        obj = _sub(root, "object")
        _sub(obj, "name", labels.name(s["label_id"]))
        if "pose" in attrs:
            _sub(obj, "pose", attrs.pop("pose"))
        _sub(obj, "truncated", _flag(attrs.pop("truncated", 0)))
        _sub(obj, "occluded", _flag(attrs.pop("occluded", 0)))
        _sub(obj, "difficult", _flag(attrs.pop("difficult", 0)))
        x1, y1, x2, y2 = (r2(v) for v in s["points"][:4])
        bb = _sub(obj, "bndbox")
        w, h = x2 - x1, y2 - y1
        for k, v in (("xmin", x1), ("ymin", y1), ("xmax", x1 + w), ("ymax", y1 + h)):
            _sub(bb, k, repr(float(v)))
        if attrs:
            el = _sub(obj, "attributes")
            for k, v in attrs.items():
                a = _sub(el, "attribute")
                _sub(a, "name", k)
                _sub(a, "value", v)
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8")


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    from PIL import Image
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    names = ["background"] + [l["name"] for l in labels.all if l["name"] != "background"]
    class_index = {n: i for i, n in enumerate(names)}
    with common.Archive(path) as archive:
        archive.write("labelmap.txt", LABELMAP_HEADER + "".join(
            "%s:%d,%d,%d::\n" % ((n,) + voc_color(i)) for i, n in enumerate(names)))
        for subset, frames in subsets(dataset):
            ids, seg_ids = [], []
            per_label: dict[str, list[str]] = {n: [] for n in names}
            for frame in frames:
                ident = item_id(frame, video)
                ids.append(ident)
                shapes = objects.shapes.get(frame["frame"], ())
                tags = objects.tags.get(frame["frame"], ())
                boxes = [s for s in shapes if s["type"] == "rectangle"]
                masks = [s for s in shapes if s["type"] in ("mask", "ellipse")]
                tagged = {labels.name(t["label_id"]) for t in tags}
                for n in names:
                    per_label[n].append("%s % d" % (ident, 1 if n in tagged else -1))
                painted = False
                if masks:
                    cls_img = Image.new("RGB", (frame["width"], frame["height"]))
                    obj_img = Image.new("RGB", (frame["width"], frame["height"]))
                    for inst, s in enumerate(sorted(masks, key=lambda s: s.get("z_order") or 0), 1):
                        m = geometry.shape_mask(s, frame["width"], frame["height"])
                        if m is None:
                            continue
                        paint(cls_img, m, voc_color(class_index[labels.name(s["label_id"])]))
                        paint(obj_img, m, voc_color(inst))
                        painted = True
                    if painted:
                        archive.write(f"SegmentationClass/{ident}.png", png_bytes(cls_img))
                        archive.write(f"SegmentationObject/{ident}.png", png_bytes(obj_img))
                if painted or (not shapes and not tags):
                    seg_ids.append(ident)
                archive.write(f"Annotations/{ident}.xml", _annotation_xml(labels, frame, video, boxes, painted))
                if save_images:
                    common.write_image(archive, "JPEGImages", frame, image_bytes, video)
            archive.write(f"ImageSets/Main/{subset}.txt", "".join(i + "\n" for i in ids))
            for n, lines in per_label.items():
                archive.write(f"ImageSets/Main/{n}_{subset}.txt", "".join(l + "\n" for l in lines))
            archive.write(f"ImageSets/Segmentation/{subset}.txt", "".join(i + "\n" for i in seg_ids))


# ---------------------------------------------------------------------------------------------
# import

def parse_labelmap(root: Path) -> dict | None:
    """{name: (r, g, b) or None} from labelmap.txt, in file order; None when absent."""
    files = common.files(root, "labelmap.txt")
    if not files:
        return None
    out: dict = {}
    for line in common.read_text(files[0], "labelmap.txt").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split(":")
        name = parts[0].strip()
        color = None
        if len(parts) > 1 and parts[1].strip():
            try:
                color = tuple(int(v) for v in parts[1].split(","))
            except ValueError:
                raise FormatError(f"labelmap.txt: bad colour in line '{line[:60]}'") from None
            if len(color) != 3:
                raise FormatError(f"labelmap.txt: bad colour in line '{line[:60]}'")
        out[name] = color
    return out


def _text(el, tag, default=""):
    c = el.find(tag)
    return c.text.strip() if c is not None and c.text else default


def _parse_xml(path: Path):
    try:
        return safe_parse(str(path)).getroot()
    except ET.ParseError as e:
        raise FormatError(f"{path.name} is not valid XML: {e}") from None
    except DefusedXmlException as e:
        raise FormatError(f"{path.name} was refused: {type(e).__name__} (XML entities/DTDs are not allowed)") from None


def _match_item(matcher: FrameMatcher, *candidates: str) -> int:
    last = None
    for c in candidates:
        if not c:
            continue
        try:
            return matcher.match(c)
        except FormatError as e:
            last = e
    raise last or FormatError("Could not match an item with any task frame")


def import_segmentation(root: Path, builder: ImportBuilder, matcher: FrameMatcher, labelmap: dict | None,
                        conv_mask_to_poly: bool) -> bool:
    """SegmentationClass (+ SegmentationObject) PNGs → masks or polygons. True if any found."""
    from PIL import Image
    class_dir = None
    for p in common.files(root, ".png"):
        parts = p.relative_to(root).parts
        if "SegmentationClass" in parts[:-1]:
            class_dir = root.joinpath(*parts[:parts.index("SegmentationClass") + 1])
            break
    if class_dir is None:
        return False
    if labelmap is None:
        labelmap = {n: voc_color(i) for i, n in enumerate(VOC_CLASSES)}
    colors = {c: n for n, c in labelmap.items() if c is not None}
    index_names = list(labelmap)
    for png in common.files(class_dir, ".png"):
        ident = png.relative_to(class_dir).as_posix()[:-4]
        frame = _match_item(matcher, ident)
        try:
            cls_img = Image.open(png)
            cls_img.load()
        except Exception as e:  # Pillow raises many types for garbage
            raise FormatError(f"{png.name} is not a readable PNG: {e}") from None
        obj_path = class_dir.parent / "SegmentationObject" / png.relative_to(class_dir)
        if cls_img.mode in ("P", "L"):
            cls_of = lambda v: index_names[v] if v < len(index_names) else None  # noqa: E731
            cls_px = geometry.pixels(cls_img)
        else:
            cls_px = geometry.pixels(cls_img.convert("RGB"))
            cls_of = colors.get
        width = cls_img.size[0]
        if obj_path.is_file():
            obj_img = Image.open(obj_path)
            obj_img = obj_img.convert("RGB") if obj_img.mode not in ("P", "L") else obj_img
            instances = geometry.image_to_masks(obj_img)
            instances.pop(255, None)  # VOC "void" border
        else:
            instances = geometry.image_to_masks(cls_img if cls_img.mode in ("P", "L") else cls_img.convert("RGB"))
        for key, m in sorted(instances.items(), key=lambda kv: str(kv[0])):
            votes: dict = {}
            for y in range(m.height):
                for x in range(m.width):
                    if m.bits[y * m.width + x]:
                        v = cls_px[(m.top + y) * width + m.left + x]
                        votes[v] = votes.get(v, 0) + 1
            if not votes:
                continue
            v = max(votes, key=votes.get)
            name = cls_of(v)
            if name is None:
                raise FormatError(f"{png.name}: colour {v} is not declared in labelmap.txt")
            if name == "background" and "background" not in builder.labels.by_name:
                continue
            add_mask(builder, name, frame, m, conv_mask_to_poly)
    return True


def add_mask(builder: ImportBuilder, label, frame: int, m: geometry.BoxMask, conv_mask_to_poly: bool,
             attrs: dict | None = None, group: int = 0) -> None:
    if conv_mask_to_poly:
        polys = geometry.mask_polygons(m)
        if len(polys) > 1 and not group:
            builder._group_seq = getattr(builder, "_group_seq", 1 << 20) + 1
            group = builder._group_seq
        for poly in polys:
            builder.add_shape(label, frame, "polygon", poly, dict(attrs or {}), group=group)
    else:
        pts = geometry.encode_cvat_mask(m)
        if pts is not None:
            builder.add_shape(label, frame, "mask", pts, dict(attrs or {}), group=group)


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        xmls = common.files(root, ".xml")
        ann_dirs = [p for p in xmls if "Annotations" in p.relative_to(root).parts]
        xmls = ann_dirs or xmls
        labelmap = parse_labelmap(root)
        found_seg = False
        if not xmls:
            found_seg = import_segmentation(root, builder, matcher, labelmap, conv_mask_to_poly)
            if not found_seg:
                raise FormatError("Dataset must contain a file: Annotations/<id>.xml")
            return builder.result()
        for xml in xmls:
            rel = xml.relative_to(root).as_posix()
            ident = rel.split("Annotations/", 1)[1][:-4] if "Annotations/" in rel else rel[:-4]
            doc = _parse_xml(xml)
            if doc.tag != "annotation":
                raise FormatError(f"{xml.name}: the root element is <{doc.tag}>, not <annotation>")
            filename = _text(doc, "filename")
            frame = _match_item(matcher, ident, posixpath.splitext(filename)[0])
            for obj in doc.findall("object"):
                name = _text(obj, "name")
                bb = obj.find("bndbox")
                if not name or bb is None:
                    raise FormatError(f"{xml.name}: an <object> needs <name> and <bndbox>")
                pts = [common.parse_float(_text(bb, k), f"{xml.name} <{k}>") for k in ("xmin", "ymin", "xmax", "ymax")]
                attrs = {}
                for k in ("truncated", "difficult"):
                    if obj.find(k) is not None:
                        attrs[k] = _text(obj, k) == "1"
                if obj.find("pose") is not None:
                    attrs["pose"] = _text(obj, "pose")
                attrs["occluded"] = _text(obj, "occluded") == "1"
                for a in obj.findall("attributes/attribute"):
                    attrs[_text(a, "name")] = _text(a, "value")
                builder.add_shape(name, frame, "rectangle", pts, attrs)
        import_segmentation(root, builder, matcher, labelmap, conv_mask_to_poly)
        # tags from the classification lists
        for lst in common.files(root, ".txt"):
            rel = lst.relative_to(root).as_posix()
            if "ImageSets/Main/" not in rel:
                continue
            stem = lst.name[:-4]
            if "_" not in stem:
                continue
            label = stem.rsplit("_", 1)[0]
            for line in common.read_text(lst, lst.name).splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[1] == "1":
                    if label == "background" and "background" not in builder.labels.by_name:
                        continue
                    builder.add_tag(label, _match_item(matcher, parts[0]))
    return builder.result()
