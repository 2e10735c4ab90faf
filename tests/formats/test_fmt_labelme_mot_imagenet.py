"""LabelMe 3.0 (lxml, attribute strings), MOT 1.1 (csv), ImageNet 1.0 (both layouts)."""
import csv
import io
import zipfile

import pytest
from PIL import Image

from tests.formats import sample
from workers.formats import geometry, registry
from workers.formats.labelme import format_attributes, parse_attributes

etree = pytest.importorskip("lxml.etree")


def _export(tmp_path, fmt, **kw):
    d = sample.dataset(**kw.pop("extra", {}))
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return d, out, zipfile.ZipFile(out)


def test_labelme_attribute_strings():
    attrs = {"b": True, "n": 3.0, "s": "3", "t": "a, b=c \"q\" \\", "f": False, "e": ""}
    text = format_attributes(attrs)
    assert text.startswith('b=True, n=3.0, s="3", t=a\\, b\\=c \\"q\\" \\\\')
    assert parse_attributes(text) == attrs


def test_labelme_layout_and_round_trip(tmp_path):
    d, out, zf = _export(tmp_path, "LabelMe 3.0", save_images=True, image_bytes=sample.image_bytes)
    names = zf.namelist()
    assert "default/img1.xml" in names and "default/sub/img2.xml" in names and "default/sub/img2.png" in names
    root = etree.fromstring(zf.read("default/sub/img2.xml"))
    assert root.findtext("filename") == "img2.png" and root.findtext("folder") == "sub"
    assert (root.findtext("imagesize/nrows"), root.findtext("imagesize/ncols")) == ("48", "64")
    segm = [o for o in root.findall("object") if o.find("segm") is not None]
    assert len(segm) == 2
    mask_name = segm[1].findtext("segm/mask")
    png = Image.open(io.BytesIO(zf.read(f"default/Masks/{mask_name}")))
    assert png.mode == "RGBA" and png.size == (64, 48) and png.getpixel((41, 5)) == (255, 203, 0, 153)
    assert png.getpixel((40, 5))[3] == 0
    assert segm[1].findtext("segm/box/xmax") == "43.00"
    img1 = etree.fromstring(zf.read("default/img1.xml"))
    car = img1.findall("object")[0]
    assert car.findtext("type") == "bounding_box" and car.findtext("occluded") == "yes"
    assert len(car.findall("polygon/pt")) == 4
    grouped = etree.fromstring(zf.read("default/img4.xml")).findall("object")
    assert grouped[0].findtext("parts/hasparts") == "1" and grouped[1].findtext("parts/ispartof") == "0"
    got = registry.import_annotations("LabelMe 3.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    kept = [s for s in sample.per_frame_shapes(d["annotations"]) if s["type"] in ("rectangle", "polygon")]
    plain = lambda s: sample.key(s, with_attrs=False)  # noqa: E731
    assert sorted(plain(s) for s in got["shapes"] if s["type"] != "mask") == sorted(plain(s) for s in kept)
    car = [s for s in got["shapes"] if s["points"] == [10.0, 10.0, 30.0, 20.0]][0]
    assert sample.attrs_of(car) == sample.attrs_of(d["annotations"]["shapes"][0])  # quotes, commas survive
    masks = [s for s in got["shapes"] if s["type"] == "mask"]
    assert geometry.decode_cvat_mask(masks[1]["points"]) == geometry.decode_cvat_mask(sample.MASK)
    assert [s["group"] for s in got["shapes"] if s["frame"] == 3] == [1, 1]


def test_mot(tmp_path):
    d, out, zf = _export(tmp_path, "MOT 1.1", save_images=True, image_bytes=sample.image_bytes)
    raw = zf.read("gt/gt.txt").decode()
    assert raw.endswith("\r\n") and "\n" not in raw.replace("\r\n", "")
    rows = list(csv.reader(io.StringIO(raw)))
    assert all(len(r) == 9 for r in rows)
    assert rows[0] == ["1", "-1", "10.0", "10.0", "20.0", "10.0", "1", "1", "0.0"]
    tracked = [r for r in rows if r[1] != "-1"]
    assert [(r[0], r[1]) for r in tracked] == [("1", "1"), ("2", "1"), ("3", "1")]
    assert zf.read("gt/labels.txt").decode() == "car\nperson\nskel\nnose\ntail\nbike"
    assert "img1/sub/img2.png" in zf.namelist()
    got = registry.import_annotations("MOT 1.1", out, d["labels"], d["frames"])
    assert len(got["tracks"]) == 1
    assert [(s["frame"], s["outside"]) for s in got["tracks"][0]["shapes"]] == \
        [(0, False), (1, False), (2, False), (3, True)]
    assert sorted(sample.key(s, with_attrs=False, with_rotation=False) for s in got["shapes"]) == sorted(
        sample.key(s, with_attrs=False, with_rotation=False) for s in d["annotations"]["shapes"] if s["type"] == "rectangle")


def test_imagenet_both_layouts(tmp_path):
    d, out, zf = _export(tmp_path, "ImageNet 1.0")
    assert sorted(zf.namelist()) == ["default.txt", "synsets.txt"]
    assert zf.read("default.txt").decode().splitlines() == ["img1.jpg 0", "sub/img2.png 1", "img3.jpg ", "img4.jpg ", "img5.jpg "]
    assert zf.read("synsets.txt").decode().splitlines() == ["car", "person", "skel", "nose", "tail", "bike"]
    got = registry.import_annotations("ImageNet 1.0", out, d["labels"], d["frames"])
    assert sorted((t["frame"], t["label_id"]) for t in got["tags"]) == [(0, 1), (1, 2)]
    d, out, zf = _export(tmp_path, "ImageNet 1.0", save_images=True, image_bytes=sample.image_bytes)
    assert sorted(zf.namelist()) == ["car/img1.jpg", "no_label/img3.jpg", "no_label/img4.jpg", "no_label/img5.jpg",
                                     "person/sub/img2.png"]
    got = registry.import_annotations("ImageNet 1.0", out, d["labels"], d["frames"])
    assert sorted((t["frame"], t["label_id"]) for t in got["tags"]) == [(0, 1), (1, 2)]
