"""CamVid 1.0 — formats.md §5: label_colors.txt (`r g b name`, by name, no background line),
<subset>.txt (`/<subset>/<image> /<subset>annot/<id>.png`), <subset>annot/<id>.png (RGB class
colours, CVAT label colours), <subset>/<image> with images. Rasterised like Segmentation mask;
no instances, no attributes."""
from __future__ import annotations

from workers.formats import common, geometry
from workers.formats.masks import labelmap
from workers.formats.model import FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, image_name, item_id, subsets
from workers.formats.raster import colors_file, label_colors, paint_instances, read_png
from workers.formats.voc import add_mask, png_bytes


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    colors = {n: c for n, c in labelmap(labels).items() if n != "background"}
    with common.Archive(path) as archive:
        archive.write("label_colors.txt", colors_file(colors))
        for subset, frames in subsets(dataset):
            lines = []
            for frame in frames:
                ident, name = item_id(frame, video), image_name(frame, video)
                img, painted = paint_instances(objects.shapes.get(frame["frame"], ()), frame["width"],
                                               frame["height"], "RGB",
                                               lambda n, s: colors[labels.name(s["label_id"])])
                if painted:
                    archive.write(f"{subset}annot/{ident}.png", png_bytes(img))
                    lines.append(f"/{subset}/{name} /{subset}annot/{ident}.png")
                else:
                    lines.append(f"/{subset}/{name}")
                if save_images:
                    common.write_image(archive, subset, frame, image_bytes, video)
            archive.write(f"{subset}.txt", "".join(l + "\n" for l in lines))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, conv_mask_to_poly: bool = True, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    task_labels = Labels(labels)
    with common.open_input(path) as root:
        colors = label_colors(root, {n: c for n, c in labelmap(task_labels).items() if n != "background"})
        by_color = {c: n for n, c in colors.items()}
        lists = [p for p in common.files(root, ".txt") if p.parent == root and p.name != "label_colors.txt"]
        if not lists:
            raise FormatError("Dataset must contain a file: <subset>.txt (CamVid list)")
        entries = []
        for lst in lists:
            for line in common.read_text(lst, lst.name).splitlines():
                parts = line.split()
                if not parts:
                    continue
                image = parts[0].lstrip("/").split("/", 1)[-1]
                mask = parts[1].lstrip("/") if len(parts) > 1 else None
                entries.append((image.rsplit(".", 1)[0], mask))
        matcher.set_root_hint(e[0] for e in entries)
        for ident, mask in entries:
            frame = matcher.match(ident)
            if not mask:
                continue
            mpath = common.inside(root, mask)
            if not mpath.is_file():
                raise FormatError(f"Mask '{mask}' listed for '{ident}' is missing")
            img = read_png(mpath, mask).convert("RGB")
            for color, m in sorted(geometry.image_to_masks(img).items()):
                name = by_color.get(color)
                if name is None:
                    raise FormatError(f"{mask}: colour {color} is not declared in label_colors.txt")
                if name == "background" and "background" not in builder.labels.by_name:
                    continue
                add_mask(builder, name, frame, m, conv_mask_to_poly)
    return builder.result()
