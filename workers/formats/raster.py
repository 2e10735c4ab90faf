"""Shared code of the rasterised formats (MOTS PNG, CamVid, Cityscapes, KITTI): frames turned
into class / instance images, and class or instance images read back as masks."""
from __future__ import annotations

from workers.formats import common, geometry
from workers.formats.masks import draw, frame_instances, labelmap, paste
from workers.formats.model import FormatError, ImportBuilder, Labels
from workers.formats.voc import add_mask


def paint_instances(shapes, w: int, h: int, mode: str, value_of) -> tuple[object, bool]:
    """One image of `mode` where each instance's pixels hold value_of(instance index from 1,
    leader shape); later (higher z_order) instances win. Returns (image, anything painted)."""
    from PIL import Image
    img = Image.new(mode, (w, h))
    painted = False
    for n, members in enumerate(frame_instances(shapes), 1):
        value = value_of(n, members[0])
        if value is None:
            continue
        for s in members:
            drawn = draw(s, w, h)
            if drawn is None:
                continue
            paste(img, value, drawn)
            painted = True
    return img, painted


def read_png(path, what: str):
    from PIL import Image
    try:
        img = Image.open(path)
        img.load()
    except Exception as e:  # Pillow raises many types on garbage
        raise FormatError(f"{what} is not a readable image: {e}") from None
    return img


def add_region(builder: ImportBuilder, label, frame: int, mask: geometry.BoxMask, conv_mask_to_poly: bool,
               attrs: dict | None = None) -> None:
    add_mask(builder, label, frame, mask, conv_mask_to_poly, attrs)


def colors_file(labels_colors: dict) -> str:
    """`r g b name` lines (CamVid / Cityscapes / KITTI label_colors.txt)."""
    return "".join("%d %d %d %s\n" % (c[0], c[1], c[2], n) for n, c in labels_colors.items())


def parse_colors_file(text: str, what: str) -> dict:
    out = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 4:
            raise FormatError(f"{what}: expected 'r g b name', got '{line[:60]}'")
        try:
            color = tuple(int(v) for v in parts[:3])
        except ValueError:
            raise FormatError(f"{what}: bad colour in '{line[:60]}'") from None
        out[" ".join(parts[3:])] = color
    return out


def background_first_colors(labels: Labels) -> dict:
    """{name: (r, g, b)} of the task's labels after `background` (black unless
    a label has that name): class index = position (Cityscapes, KITTI)."""
    lm = labelmap(labels)
    out = {"background": lm.pop("background", (0, 0, 0))}
    out.update((l["name"], lm[l["name"]]) for l in labels.all if l["name"] in lm)
    return out


def label_colors(root, fallback: dict) -> dict:
    """The dataset's label_colors.txt, or `fallback` (made from the task's
    labels) when it has none."""
    found = root / "label_colors.txt"
    if not found.is_file():
        return fallback
    return parse_colors_file(common.read_text(found, "label_colors.txt"), "label_colors.txt")
