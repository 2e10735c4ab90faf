"""MOTS PNG 1.0 — formats.md §4.8: <subset>/instances/<id>.png (16-bit, pixel =
1000 × (label index + 1) + track id), <subset>/instances/labels.txt, <subset>/images/ with images.
Only tracks are exported (standalone shapes are skipped); rectangles, polygons, masks and
ellipses are rasterised. Import builds polygon tracks."""
from __future__ import annotations


from workers.formats import common, geometry
from workers.formats.model import FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id, subsets
from workers.formats.raster import paint_instances, read_png
from workers.formats.voc import png_bytes

MAX_INSTANCES = 1000


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            for frame in frames:
                shapes = [s for s in objects.shapes.get(frame["frame"], ()) if "track_id" in s]
                if shapes:
                    img, painted = paint_instances(
                        shapes, frame["width"], frame["height"], "I",
                        lambda n, s: MAX_INSTANCES * (labels.index[s["label_id"]] + 1) + s["track_id"] % MAX_INSTANCES)
                    if painted:
                        archive.write(f"{subset}/instances/{item_id(frame, video)}.png", png_bytes(img.convert("I;16")))
                if save_images:
                    common.write_image(archive, f"{subset}/images", frame, image_bytes, video)
            archive.write(f"{subset}/instances/labels.txt", "\n".join(l["name"] for l in labels.all))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop=None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        label_files = [p for p in common.files(root, "labels.txt") if p.parent.name == "instances"]
        if not label_files:
            raise FormatError("Dataset must contain a file: <subset>/instances/labels.txt")
        for lf in label_files:
            names = [n.strip() for n in common.read_text(lf, "labels.txt").splitlines() if n.strip()]
            pngs = common.files(lf.parent, ".png")
            matcher.set_root_hint(p.relative_to(lf.parent).as_posix()[:-4] for p in pngs)
            for png in pngs:
                frame = matcher.match(png.relative_to(lf.parent).as_posix()[:-4])
                img = read_png(png, png.name)
                if img.mode not in ("I;16", "I", "L", "I;16B"):
                    raise FormatError(f"{png.name}: expected a single-channel instance image, got {img.mode}")
                for value, m in sorted(geometry.image_to_masks(img.convert("I")).items()):
                    cls, track = divmod(int(value), MAX_INSTANCES)
                    if not 1 <= cls <= len(names):
                        raise FormatError(f"{png.name}: class {cls} is not in labels.txt ({len(names)} labels)")
                    polys = geometry.mask_polygons(m)
                    if not polys:
                        continue
                    poly = max(polys, key=lambda p: geometry.points_bbox(p)[2] * geometry.points_bbox(p)[3])
                    builder.add_shape(names[cls - 1], frame, "polygon", poly, {"track_id": track, "keyframe": True})
    return builder.result()
