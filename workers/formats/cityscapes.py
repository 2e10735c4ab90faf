"""Cityscapes 1.0 — formats.md §5: label_colors.txt (`r g b name`, background first),
gtFine/<subset>/<id>_gtFine_{color,labelIds,instanceIds}.png,
imgsFine/leftImg8bit/<subset>/<id>_leftImg8bit.png with images.
labelIds = index in label_colors.txt; instanceIds = labelId × 1000 + instance number, or the bare
labelId for labels whose `is_crowd` attribute is true. Rasterised; attributes dropped."""
from __future__ import annotations

import posixpath

from workers.formats import common, geometry
from workers.formats.model import FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id, subsets
from workers.formats.raster import (background_first_colors, colors_file, label_colors, paint_instances,
                                    read_png)
from workers.formats.voc import add_mask, png_bytes


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    colors = background_first_colors(labels)
    ids = {n: i for i, n in enumerate(colors)}
    with common.Archive(path) as archive:
        archive.write("label_colors.txt", colors_file(colors))
        for subset, frames in subsets(dataset):
            for frame in frames:
                ident = item_id(frame, video)
                w, h = frame["width"], frame["height"]
                shapes = objects.shapes.get(frame["frame"], ())
                name = lambda s: labels.name(s["label_id"])  # noqa: E731

                def instance_value(n, s):
                    crowd = labels.typed_attributes(s["label_id"], s.get("attributes")).get("is_crowd")
                    return ids[name(s)] if crowd is True else ids[name(s)] * 1000 + n

                color, painted = paint_instances(shapes, w, h, "RGB", lambda n, s: colors[name(s)])
                if painted:
                    class_ids, _ = paint_instances(shapes, w, h, "L", lambda n, s: ids[name(s)])
                    inst, _ = paint_instances(shapes, w, h, "I", instance_value)
                    base = f"gtFine/{subset}/{ident}_gtFine_"
                    archive.write(base + "color.png", png_bytes(color))
                    archive.write(base + "labelIds.png", png_bytes(class_ids))
                    archive.write(base + "instanceIds.png", png_bytes(inst.convert("I;16")))
                if save_images:
                    ext = ".PNG" if video else posixpath.splitext(frame["name"])[1]  # stored bytes, own extension
                    common.write_image(archive, f"imgsFine/leftImg8bit/{subset}", frame, image_bytes, video,
                                       name=f"{ident}_leftImg8bit{ext}")


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        colors = label_colors(root, background_first_colors(Labels(labels)))
        names = list(colors)
        found = [p for p in common.files(root, "_gtFine_instanceIds.png")
                 if "gtFine" in p.relative_to(root).parts]
        if not found:
            raise FormatError("Dataset must contain a file: gtFine/<subset>/<id>_gtFine_instanceIds.png")
        items = []
        for p in found:
            rel = p.relative_to(root).parts
            ident = "/".join(rel[rel.index("gtFine") + 2:])[:-len("_gtFine_instanceIds.png")]
            items.append((ident, p))
        matcher.set_root_hint(i for i, _ in items)
        for ident, p in items:
            frame = matcher.match(ident)
            img = read_png(p, p.name).convert("I")
            for value, m in sorted(geometry.image_to_masks(img).items()):
                cls = value // 1000 if value >= 1000 else value
                if not 0 <= cls < len(names):
                    raise FormatError(f"{p.name}: class {cls} is not in label_colors.txt")
                name = names[cls]
                if name == "background" and "background" not in builder.labels.by_name:
                    continue
                attrs = {"is_crowd": value < 1000}
                add_mask(builder, name, frame, m, conv_mask_to_poly, attrs)
    return builder.result()
