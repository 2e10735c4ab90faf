"""MOTS PNG, CamVid, Cityscapes, KITTI: PNGs read with Pillow and compared with an independent
rasterisation; text files parsed by hand; imports compared per frame and label."""
import io
import zipfile

from PIL import Image, ImageDraw

from tests.formats import sample
from workers.formats import geometry, registry


def _export(tmp_path, fmt, **kw):
    d = sample.dataset()
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return d, out, zipfile.ZipFile(out)


def _png(zf, name):
    return Image.open(io.BytesIO(zf.read(name)))


def test_mots(tmp_path):
    d, out, zf = _export(tmp_path, "MOTS PNG 1.0", save_images=True, image_bytes=sample.image_bytes)
    assert zf.read("default/instances/labels.txt").decode() == "car\nperson\nskel\nnose\ntail\nbike"
    assert "default/images/sub/img2.png" in zf.namelist()
    img = _png(zf, "default/instances/img1.png")
    assert img.mode.startswith("I;16")
    # only the tracked car box (label index 0, track 0): 1000 × 1 + 0, painted over [0, 10]²
    assert set(geometry.pixels(img)) == {0, 1000}
    assert img.getpixel((5, 5)) == 1000 and img.getpixel((20, 20)) == 0
    assert "default/instances/img4.png" not in zf.namelist()  # standalone shapes are not exported
    got = registry.import_annotations("MOTS PNG 1.0", out, d["labels"], d["frames"])
    assert not got["shapes"] and len(got["tracks"]) == 1
    track = got["tracks"][0]
    assert track["label_id"] == 1 and [(s["frame"], s["outside"]) for s in track["shapes"]] == \
        [(0, False), (1, False), (2, False), (3, True)]
    assert {s["type"] for s in track["shapes"]} == {"polygon"}


def _reference(d, frame_no, color_of, w=64, h=48):
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    shapes = [s for s in sample.per_frame_shapes(d["annotations"]) if s["frame"] == frame_no
              and s["type"] in ("rectangle", "polygon")]
    from workers.formats.geometry import rectangle_polygon
    for s in sorted(shapes, key=lambda s: s["z_order"]):
        pts = s["points"] if s["type"] == "polygon" else rectangle_polygon(s["points"], s["rotation"])
        draw.polygon(list(zip(pts[0::2], pts[1::2])), fill=color_of(s), outline=color_of(s))
    return img


def _diff(a, b):
    return sum(1 for x, y in zip(a.convert("RGB").tobytes(), b.convert("RGB").tobytes()) if x != y)


def test_camvid(tmp_path):
    d, out, zf = _export(tmp_path, "CamVid 1.0", save_images=True, image_bytes=sample.image_bytes)
    colors = zf.read("label_colors.txt").decode().splitlines()
    assert colors == sorted(colors, key=lambda l: l.split()[3]) and "0 0 0 background" not in colors
    assert "255 0 0 car" in colors
    listing = zf.read("default.txt").decode().splitlines()
    assert listing[0] == "/default/img1.jpg /defaultannot/img1.png" and listing[-1] == "/default/img5.jpg"
    hexc = {l["id"]: tuple(int(l["color"][i:i + 2], 16) for i in (1, 3, 5)) for l in sample.LABELS}
    ref = _reference(d, 0, lambda s: hexc[s["label_id"]])
    assert _diff(_png(zf, "defaultannot/img1.png"), ref) <= 3 * 64 * 2
    got = registry.import_annotations("CamVid 1.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    assert {(s["frame"], s["label_id"]) for s in got["shapes"]} == {(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (3, 6)}


def test_cityscapes(tmp_path):
    d, out, zf = _export(tmp_path, "Cityscapes 1.0", save_images=True, image_bytes=sample.image_bytes)
    colors = zf.read("label_colors.txt").decode().splitlines()
    assert colors[0] == "0 0 0 background" and colors[1] == "255 0 0 car"
    assert "imgsFine/leftImg8bit/default/sub/img2_leftImg8bit.png" in zf.namelist()
    ids = _png(zf, "gtFine/default/img1_gtFine_labelIds.png")
    inst = _png(zf, "gtFine/default/img1_gtFine_instanceIds.png")
    assert ids.getpixel((25, 15)) == 1 and inst.getpixel((25, 15)) // 1000 == 1
    assert inst.getpixel((60, 45)) == 0
    values = set(geometry.pixels(inst)) - {0}
    assert all(v // 1000 in (1, 2) for v in values) and len(values) == 4  # 4 instances on frame 0
    got = registry.import_annotations("Cityscapes 1.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    assert sum(1 for s in got["shapes"] if s["frame"] == 0) == 4


def test_kitti(tmp_path):
    d, out, zf = _export(tmp_path, "KITTI 1.0", save_images=True, image_bytes=sample.image_bytes)
    lines = zf.read("default/label_2/img1.txt").decode().splitlines()
    assert len(lines) == 3 and all(len(l.split()) == 16 for l in lines)
    assert lines[0] == "car 0.0 1 -1 10.0 10.0 30.0 20.0 -1 -1 -1 -1 -1 -1 -1 1.0"
    assert "default/label_2/img5.txt" not in zf.namelist()  # written only for frames with boxes
    assert "default/image_2/sub/img2.png" in zf.namelist()
    sem = _png(zf, "default/semantic/img1.png")
    assert sem.getpixel((10, 8)) == 2  # the person polygon, label index 2 (background is 0)
    got = registry.import_annotations("KITTI 1.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    boxes = sorted(sample.key(s, with_attrs=False, with_rotation=False) for s in got["shapes"] if s["type"] == "rectangle")
    want = sorted(sample.key(s, with_attrs=False, with_rotation=False) for s in sample.per_frame_shapes(d["annotations"])
                  if s["type"] == "rectangle")
    assert boxes == want


def test_without_label_colors_the_task_labels_give_the_classes(tmp_path):
    """A CamVid, Cityscapes or KITTI dataset without label_colors.txt imports
    with the colours and class order made from the task's labels."""
    import pytest
    for fmt in ("CamVid 1.0", "Cityscapes 1.0", "KITTI 1.0"):
        d, out, zf = _export(tmp_path, fmt)
        bare = tmp_path / f"bare-{fmt[:4]}.zip"
        with zipfile.ZipFile(bare, "w") as z:
            for name in zf.namelist():
                if name != "label_colors.txt":
                    z.writestr(name, zf.read(name))
        kw = {"conv_mask_to_poly": False}
        with_file = registry.import_annotations(fmt, out, d["labels"], d["frames"], **kw)
        without = registry.import_annotations(fmt, bare, d["labels"], d["frames"], **kw)
        assert without["shapes"], fmt
        key = lambda s: (s["frame"], s["label_id"], s["type"], tuple(s["points"]))  # noqa: E731
        assert sorted(map(key, without["shapes"])) == sorted(map(key, with_file["shapes"])), fmt
    with zipfile.ZipFile(tmp_path / "bad.zip", "w") as z:
        z.writestr("label_colors.txt", "1 2 car\n")
        z.writestr("default/label_2/img1.txt", "")
    with pytest.raises(registry.FormatError, match="label_colors.txt: expected 'r g b name'"):
        registry.import_annotations("KITTI 1.0", tmp_path / "bad.zip", d["labels"], d["frames"])
