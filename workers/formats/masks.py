"""Segmentation mask 1.1 — formats.md §4.5: VOC segmentation layout with CVAT label colours.

Rotated boxes → polygons, boxes/polygons/masks/ellipses rasterised; each group becomes one
instance; overlaps resolved by z_order (higher painted last). Polylines, points, skeletons,
cuboids, tags and attributes are dropped.
"""
from __future__ import annotations

import math

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id,
                                   r2, subsets)
from workers.formats.voc import (LABELMAP_HEADER, hex_color, import_segmentation, parse_labelmap,
                                 png_bytes, voc_color)

RASTER_TYPES = ("rectangle", "polygon", "mask", "ellipse")


def labelmap(labels: Labels) -> dict:
    colors = {l["name"]: hex_color(l.get("color")) for l in labels.all}
    if "background" not in colors:
        colors["background"] = (0, 0, 0)
    return dict(sorted(colors.items()))


def draw(shape: dict, w: int, h: int):
    """(Pillow 'L' mask cropped to the shape's box, (left, top)) for one shape, clipped to the
    frame; None when nothing of it is inside. Only the box is allocated and painted, so a
    rasterised frame costs its shapes' areas, not (frame size × shapes)."""
    from PIL import Image, ImageDraw
    kind = shape["type"]
    if kind in ("mask", "ellipse"):
        m = geometry.shape_mask(shape, w, h)
        if m is None:
            return None
        return geometry.mask_to_image(m), (m.left, m.top)
    if kind == "rectangle":
        poly = geometry.rectangle_polygon([r2(v) for v in shape["points"]], shape.get("rotation") or 0.0)
    else:
        poly = [r2(v) for v in shape["points"]]
    xs, ys = poly[0::2], poly[1::2]
    x0, y0 = max(int(math.floor(min(xs))), 0), max(int(math.floor(min(ys))), 0)
    x1, y1 = min(int(math.ceil(max(xs))), w - 1), min(int(math.ceil(max(ys))), h - 1)
    if x1 < x0 or y1 < y0:
        return None
    img = Image.new("L", (x1 - x0 + 1, y1 - y0 + 1))
    ImageDraw.Draw(img).polygon([(x - x0, y - y0) for x, y in zip(xs, ys)], fill=255, outline=255)
    if not img.getbbox():
        return None
    return img, (x0, y0)


def paste(img, value, drawn) -> None:
    """Paint `value` onto `img` where the drawn mask is set."""
    m, (x0, y0) = drawn
    img.paste(value, (x0, y0, x0 + m.size[0], y0 + m.size[1]), m)


def frame_instances(shapes) -> list[list[dict]]:
    """Rasterisable shapes of a frame as instances (a group is one instance, led by its first
    member), in paint order (z_order ascending)."""
    instances: list[list[dict]] = []
    groups: dict = {}
    for s in sorted(shapes, key=lambda s: s.get("z_order") or 0):
        if s["type"] not in RASTER_TYPES:
            continue
        g = s.get("group") or 0
        if g and g in groups:
            groups[g].append(s)
        else:
            instances.append([s])
            if g:
                groups[g] = instances[-1]
    return instances


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    from PIL import Image
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    lm = labelmap(labels)
    with common.Archive(path) as archive:
        archive.write("labelmap.txt", LABELMAP_HEADER + "".join(
            "%s:%d,%d,%d::\n" % ((n,) + c) for n, c in lm.items()))
        for subset, frames in subsets(dataset):
            seg_ids = []
            for frame in frames:
                ident = item_id(frame, video)
                w, h = frame["width"], frame["height"]
                shapes = objects.shapes.get(frame["frame"], ())
                tags = objects.tags.get(frame["frame"], ())
                instances = frame_instances(shapes)
                painted = False
                if instances:
                    cls_img = Image.new("RGB", (w, h))
                    obj_img = Image.new("RGB", (w, h))
                    for n, members in enumerate(instances, 1):
                        leader = members[0]
                        color = lm[labels.name(leader["label_id"])]
                        for s in members:
                            drawn = draw(s, w, h)
                            if drawn is None:
                                continue
                            paste(cls_img, color, drawn)
                            paste(obj_img, voc_color(n), drawn)
                            painted = True
                    if painted:
                        archive.write(f"SegmentationClass/{ident}.png", png_bytes(cls_img))
                        archive.write(f"SegmentationObject/{ident}.png", png_bytes(obj_img))
                if painted or (not shapes and not tags):
                    seg_ids.append(ident)
                if save_images:
                    common.write_image(archive, "JPEGImages", frame, image_bytes, video)
            archive.write(f"ImageSets/Segmentation/{subset}.txt", "".join(i + "\n" for i in seg_ids))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        lm = parse_labelmap(root)
        if not import_segmentation(root, builder, matcher, lm, conv_mask_to_poly):
            if not any("ImageSets/Segmentation/" in p.relative_to(root).as_posix()
                       for p in common.files(root, ".txt")):
                raise FormatError("Dataset must contain a file: ImageSets/Segmentation/<subset>.txt")
    return builder.result()
