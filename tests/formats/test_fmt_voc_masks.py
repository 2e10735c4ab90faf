"""PASCAL VOC 1.1 (lxml + Pillow) and Segmentation mask 1.1 (colours checked against an
independent Pillow rasterisation of the shapes)."""
import io
import zipfile

import pytest
from PIL import Image, ImageDraw

from tests.formats import sample
from workers.formats import geometry, registry

etree = pytest.importorskip("lxml.etree")


def _export(tmp_path, fmt, **kw):
    d = sample.dataset()
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return d, out, zipfile.ZipFile(out)


def test_voc_layout(tmp_path):
    d, out, zf = _export(tmp_path, "PASCAL VOC 1.1", save_images=True, image_bytes=sample.image_bytes)
    names = zf.namelist()
    for f in d["frames"]:
        stem = f["name"].rsplit(".", 1)[0]
        assert f"Annotations/{stem}.xml" in names and f"JPEGImages/{f['name']}" in names
    assert zf.read("ImageSets/Main/default.txt").decode().split() == ["img1", "sub/img2", "img3", "img4", "img5"]
    labelmap = zf.read("labelmap.txt").decode().splitlines()
    assert labelmap[:3] == ["# label:color_rgb:parts:actions", "background:0,0,0::", "car:128,0,0::"]
    assert zf.read("ImageSets/Main/car_default.txt").decode().splitlines()[:2] == ["img1  1", "sub/img2 -1"]
    root = etree.fromstring(zf.read("Annotations/img1.xml"))
    assert root.findtext("filename") == "img1.jpg" and root.findtext("size/width") == "64"
    objs = root.findall("object")
    assert [o.findtext("name") for o in objs] == ["car", "person", "car"]  # rectangles only
    car = objs[0]
    assert car.findtext("occluded") == "1" and car.findtext("bndbox/xmax") == "30.0"
    float(car.findtext("bndbox/xmin"))
    attrs = {a.findtext("name"): a.findtext("value") for a in car.findall("attributes/attribute")}
    assert attrs["parked"] == "True" and attrs["count"] == "3.0" and attrs["rotation"] == "0.0"
    # masks and ellipses of frame 1 → segmentation PNGs in VOC palette colours
    seg = Image.open(io.BytesIO(zf.read("SegmentationClass/sub/img2.png")))
    assert seg.mode == "RGB" and seg.getpixel((41, 5)) == (0, 128, 0) and seg.getpixel((32, 24)) == (128, 0, 0)
    obj = Image.open(io.BytesIO(zf.read("SegmentationObject/sub/img2.png")))
    assert {obj.getpixel((41, 5)), obj.getpixel((32, 24))} == {(128, 0, 0), (0, 128, 0)}
    assert etree.fromstring(zf.read("Annotations/sub/img2.xml")).findtext("segmented") == "1"
    # frames with masks + frames without any annotation (img5 has the skeleton track)
    assert zf.read("ImageSets/Segmentation/default.txt").decode().split() == ["sub/img2"]


def test_voc_round_trip(tmp_path):
    d, out, _ = _export(tmp_path, "PASCAL VOC 1.1")
    got = registry.import_annotations("PASCAL VOC 1.1", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    boxes = [s for s in sample.per_frame_shapes(d["annotations"]) if s["type"] == "rectangle"]
    plain = [s for s in boxes if "track_id" not in s]
    for s in plain:
        assert sample.key(s, with_attrs=False) in [sample.key(g, with_attrs=False) for g in got["shapes"]]
    car = [s for s in got["shapes"] if s["points"] == [10.0, 10.0, 30.0, 20.0]][0]
    assert sample.attrs_of(car) == sample.attrs_of(d["annotations"]["shapes"][0])
    assert len(got["tracks"]) == 1  # track_id + keyframe attributes rebuild the track
    masks = [s for s in got["shapes"] if s["type"] == "mask"]
    assert sorted(geometry.decode_cvat_mask(m["points"]).area() for m in masks) == \
        sorted([4, geometry.ellipse_mask([32, 24, 40, 18], 0, 64, 48).area()])
    assert sorted((t["frame"], t["label_id"]) for t in got["tags"]) == [(0, 1), (1, 2)]


def _reference_class_png(d, frame_no, w=64, h=48):
    """Independent rasterisation of frame `frame_no` in CVAT label colours."""
    colors = {l["id"]: tuple(int(l["color"][i:i + 2], 16) for i in (1, 3, 5)) for l in sample.LABELS}
    img = Image.new("RGB", (w, h))
    draw = ImageDraw.Draw(img)
    shapes = [s for s in sample.per_frame_shapes(d["annotations"]) if s["frame"] == frame_no]
    for s in sorted(shapes, key=lambda s: s["z_order"]):
        c = colors[s["label_id"]]
        if s["type"] == "polygon":
            draw.polygon(list(zip(s["points"][0::2], s["points"][1::2])), fill=c, outline=c)
        elif s["type"] == "rectangle":
            poly = geometry.rectangle_polygon(s["points"], s["rotation"])
            draw.polygon(list(zip(poly[0::2], poly[1::2])), fill=c, outline=c)
    return img


def test_segmentation_mask(tmp_path):
    d, out, zf = _export(tmp_path, "Segmentation mask 1.1")
    lm = zf.read("labelmap.txt").decode().splitlines()
    assert lm[0] == "# label:color_rgb:parts:actions"
    assert lm[1:] == sorted(lm[1:]) and "background:0,0,0::" in lm and "car:255,0,0::" in lm
    assert zf.read("ImageSets/Segmentation/default.txt").decode().split() == ["img1", "sub/img2", "img3", "img4"]
    cls = Image.open(io.BytesIO(zf.read("SegmentationClass/img1.png")))
    assert cls.mode == "RGB"
    ref = _reference_class_png(d, 0)
    diff = sum(1 for a, b in zip(geometry.pixels(cls), geometry.pixels(ref)) if a != b)
    assert diff <= 64 * 2  # boundary pixels only
    obj = Image.open(io.BytesIO(zf.read("SegmentationObject/img1.png")))
    assert {c for _, c in obj.getcolors()} == {(0, 0, 0), (128, 0, 0), (0, 128, 0), (128, 128, 0), (0, 0, 128)}
    got = registry.import_annotations("Segmentation mask 1.1", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    assert {(s["frame"], s["label_id"]) for s in got["shapes"]} == {(0, 1), (0, 2), (1, 1), (1, 2), (2, 1), (3, 6)}
    assert {s["type"] for s in got["shapes"]} == {"mask"}
    polys = registry.import_annotations("Segmentation mask 1.1", out, d["labels"], d["frames"])
    assert {s["type"] for s in polys["shapes"]} == {"polygon"}
