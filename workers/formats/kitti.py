"""KITTI 1.0 — formats.md §5: label_colors.txt, <subset>/label_2/<id>.txt (boxes as KITTI
detection lines), <subset>/{instance,semantic,semantic_rgb}/<id>.png, <subset>/image_2/ with images.
Rectangles → detection lines (attributes `truncated`, `occluded`); polygons, masks, ellipses →
segmentation PNGs (semantic = class index, instance = class index × 256 + instance number)."""
from __future__ import annotations

import posixpath

from workers.formats import common, geometry
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id, r2,
                                   subsets)
from workers.formats.raster import (background_first_colors, colors_file, label_colors, paint_instances,
                                    read_png)
from workers.formats.voc import add_mask, png_bytes


def _cast(v, default: float) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    try:
        return float(v)
    except (TypeError, ValueError):
        return default


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
                lines = []
                for s in shapes:
                    if s["type"] != "rectangle":
                        continue
                    attrs = labels.typed_attributes(s["label_id"], s.get("attributes"))
                    x1, y1, x2, y2 = (r2(v) for v in s["points"][:4])
                    line: list = [-1] * 16  # the fork's line: name truncated occluded -1 x1 y1 x2 y2 -1… score
                    line[0] = labels.name(s["label_id"]).replace(" ", "_")
                    line[1] = _cast(attrs.get("truncated"), 0.0)
                    line[2] = 1 if s.get("occluded") else 0
                    line[4:8] = x1, y1, r2(x1 + r2(x2 - x1)), r2(y1 + r2(y2 - y1))
                    line[15] = _cast(attrs.get("score"), 1.0)
                    lines.append(" ".join(str(v) for v in line))
                if lines:
                    archive.write(f"{subset}/label_2/{ident}.txt", "".join(l + "\n" for l in lines))
                segm = [s for s in shapes if s["type"] in ("polygon", "mask", "ellipse")]
                if segm:
                    name = lambda s: labels.name(s["label_id"])  # noqa: E731
                    sem, painted = paint_instances(segm, w, h, "L", lambda n, s: ids[name(s)])
                    if painted:
                        rgb, _ = paint_instances(segm, w, h, "RGB", lambda n, s: colors[name(s)])
                        inst, _ = paint_instances(segm, w, h, "I", lambda n, s: ids[name(s)] * 256 + n)
                        archive.write(f"{subset}/semantic/{ident}.png", png_bytes(sem))
                        archive.write(f"{subset}/semantic_rgb/{ident}.png", png_bytes(rgb))
                        archive.write(f"{subset}/instance/{ident}.png", png_bytes(inst.convert("I;16")))
                if save_images:
                    common.write_image(archive, f"{subset}/image_2", frame, image_bytes, video)


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    task_labels = Labels(labels)
    with common.open_input(path) as root:
        colors = label_colors(root, background_first_colors(task_labels))
        names = list(colors)
        txts = [p for p in common.files(root, ".txt") if "label_2" in p.relative_to(root).parts]
        pngs = [p for p in common.files(root, ".png") if "instance" in p.relative_to(root).parts]
        if not txts and not pngs:
            raise FormatError("Dataset must contain <subset>/label_2/<id>.txt or <subset>/instance/<id>.png files")
        task_names = {n.replace(" ", "_"): n for n in task_labels.by_name}

        def ident_of(p, folder):
            rel = p.relative_to(root).parts
            return posixpath.splitext("/".join(rel[rel.index(folder) + 1:]))[0]
        matcher.set_root_hint([ident_of(p, "label_2") for p in txts] + [ident_of(p, "instance") for p in pngs])
        for p in txts:
            frame = matcher.match(ident_of(p, "label_2"))
            for lineno, line in enumerate(common.read_text(p, p.name).splitlines(), 1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < 8:
                    raise FormatError(f"{p.name} line {lineno}: a KITTI line needs at least 8 fields")
                label = task_names.get(parts[0], parts[0])
                if label == "DontCare" and "DontCare" not in task_labels.by_name:
                    continue
                x1, y1, x2, y2 = (common.parse_float(v, f"{p.name} line {lineno}") for v in parts[4:8])
                trunc = common.parse_float(parts[1], f"{p.name} line {lineno}")
                occluded = parts[2] not in ("0", "0.0")
                builder.add_shape(label, frame, "rectangle", [x1, y1, x2, y2],
                                  {"truncated": trunc > 0, "occluded": occluded})
        for p in pngs:
            frame = matcher.match(ident_of(p, "instance"))
            img = read_png(p, p.name).convert("I")
            for value, m in sorted(geometry.image_to_masks(img).items()):
                cls = value // 256
                if not 0 <= cls < len(names):
                    raise FormatError(f"{p.name}: class {cls} is not in label_colors.txt")
                name = names[cls]
                if name == "background" and "background" not in task_labels.by_name:
                    continue
                add_mask(builder, name, frame, m, conv_mask_to_poly)
    return builder.result()
