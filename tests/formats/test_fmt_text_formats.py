"""ICDAR Recognition / Localization and WiderFace: files parsed by hand, imports compared."""
import zipfile

from tests.formats import sample
from workers.formats import registry


def _export(tmp_path, fmt, d, **kw):
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return out, zipfile.ZipFile(out)


def test_icdar_recognition(tmp_path):
    d = sample.icdar_dataset()
    out, zf = _export(tmp_path, "ICDAR Recognition 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    lines = zf.read("default/gt.txt").decode().splitlines()
    assert lines[0] == 'img1.jpg, "Hello, "quoted" word"'
    assert "default/images/sub/img2.png" in zf.namelist()
    got = registry.import_annotations("ICDAR Recognition 1.0", out, d["labels"], d["frames"])
    texts = sorted((t["frame"], sample.attrs_of(t)[1]) for t in got["tags"])
    assert (0, 'Hello, "quoted" word') in texts and (1, "second") in texts and (0, "box text") in texts


def test_icdar_localization(tmp_path):
    d = sample.icdar_dataset()
    out, zf = _export(tmp_path, "ICDAR Localization 1.0", d)
    assert zf.read("default/gt_img1.txt").decode() == '10.0 10.0 30.0 20.0 "box text"\n\n'  # + the tag's line
    assert zf.read("default/sub/gt_img2.txt").decode() == '1.0,1.0,20.0,2.0,20.0,15.0,1.0,15.0,"poly"\n\n'
    assert zf.read("default/gt_img4.txt").decode() == '2.5 2.0 8.0 9.0 ""\n'  # the default text is written
    assert zf.read("default/gt_img3.txt").decode() == ""
    got = registry.import_annotations("ICDAR Localization 1.0", out, d["labels"], d["frames"])
    plain = lambda s: sample.key(s, with_attrs=False)  # noqa: E731
    assert sorted(map(plain, got["shapes"])) == sorted(map(plain, d["annotations"]["shapes"]))
    assert sorted(sample.attrs_of(s).get(1) for s in got["shapes"]) == ["", "box text", "poly"]


def test_widerface(tmp_path):
    d = sample.dataset()
    out, zf = _export(tmp_path, "WiderFace 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    assert zf.read("labels.txt").decode() == "car\nperson\nskel\nnose\ntail\nbike"
    lines = zf.read("wider_face_split/wider_face_default_bbx_gt.txt").decode().splitlines()
    assert lines[:3] == ["0--car/img1.jpg", "3", "10 10 20 10 - - - 1 - - car"]
    assert "1--person/sub/img2.png" in lines and "no_label/img5.jpg" in lines
    assert lines[lines.index("no_label/img5.jpg") - 1] != "0"  # no count line for an empty image
    assert "WIDER_default/images/0--car/img1.jpg" in zf.namelist()
    got = registry.import_annotations("WiderFace 1.0", out, d["labels"], d["frames"])
    want = [s for s in sample.per_frame_shapes(d["annotations"]) if s["type"] == "rectangle"]
    plain = lambda s: sample.key(s, with_attrs=False, with_rotation=False)  # noqa: E731
    assert sorted(map(plain, got["shapes"])) == sorted(map(plain, want))
    assert sorted((t["frame"], t["label_id"]) for t in got["tags"]) == [(0, 1), (1, 2)]


def test_vggface2(tmp_path):
    import csv
    import io
    import pytest
    d = sample.face_dataset()
    out, zf = _export(tmp_path, "VGGFace2 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    assert zf.read("labels.txt").decode().splitlines()[3] == "nose skel"
    bb = list(csv.reader(io.StringIO(zf.read("bb_landmark/loose_bb_default.csv").decode())))
    assert bb[0] == ["NAME_ID", "X", "Y", "W", "H"] and bb[1] == ["person/img1", "10.0", "10.0", "20.0", "10.0"]
    lm = list(csv.reader(io.StringIO(zf.read("bb_landmark/loose_landmark_default.csv").decode())))
    assert len(lm[0]) == 11 and lm[2][0] == "bike/img4"
    assert "default/person/img1.jpg" in zf.namelist() and "default/no_label/img3.jpg" in zf.namelist()
    got = registry.import_annotations("VGGFace2 1.0", out, d["labels"], d["frames"])
    assert sorted(map(sample.key, got["shapes"])) == sorted(map(sample.key, d["annotations"]["shapes"]))
    with pytest.raises(registry.FormatError, match="one box and one 5-point set"):
        registry.export_dataset("VGGFace2 1.0", sample.dataset(), tmp_path / "x.zip")


def test_open_images(tmp_path):
    import csv
    import io
    import json
    from PIL import Image
    from workers.formats import geometry
    d = sample.dataset()
    out, zf = _export(tmp_path, "Open Images V6 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    read = lambda n: list(csv.DictReader(io.StringIO(zf.read(n).decode())))  # noqa: E731
    boxes = read("annotations/default-annotations-bbox.csv")
    car = [b for b in boxes if b["ImageID"] == "img1" and b["IsOccluded"] == "1"][0]
    assert (car["LabelName"], car["XMin"], car["XMax"], car["YMin"], car["YMax"]) == \
        ("car", "0.15625", "0.46875", "0.208333", "0.416667")
    assert car["IsTruncated"] == "-1"
    assert [(t["ImageID"], t["LabelName"]) for t in read("annotations/default-annotations-human-imagelabels.csv")] == \
        [("img1", "car"), ("sub/img2", "person")]
    segm = read("annotations/default-annotations-object-segmentation.csv")
    assert len(segm) == 2
    png = Image.open(io.BytesIO(zf.read("masks/default/" + segm[1]["MaskPath"])))
    assert png.size == (64, 48) and png.getpixel((41, 5)) == 255
    assert json.loads(zf.read("annotations/bbox_labels_600_hierarchy.json"))["Subcategory"][2] == \
        {"LabelName": "skel", "Subcategory": [{"LabelName": "nose"}, {"LabelName": "tail"}]}
    assert "images/default/sub/img2.png" in zf.namelist()
    assert zf.read("annotations/images.meta").decode().splitlines()[2] == "sub/img2 48 64"
    got = registry.import_annotations("Open Images V6 1.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    want = [s for s in sample.per_frame_shapes(d["annotations"]) if s["type"] == "rectangle"]
    plain = lambda s: sample.key(s, nd=2, with_attrs=False, with_rotation=False)  # noqa: E731
    assert sorted(plain(s) for s in got["shapes"] if s["type"] == "rectangle") == sorted(map(plain, want))
    masks = [s for s in got["shapes"] if s["type"] == "mask"]
    assert geometry.decode_cvat_mask(masks[1]["points"]) == geometry.decode_cvat_mask(sample.MASK)
    assert len(got["tags"]) == 2


def test_lfw(tmp_path):
    d = sample.dataset()
    d["labels"][0]["attributes"].append({"id": 9, "name": "positive_pairs", "input_type": "text", "values": [""],
                                         "default_value": "", "mutable": False})
    d["annotations"]["tags"][0]["attributes"].append({"spec_id": 9, "value": "img3"})
    d["annotations"]["tags"].append({"label_id": 1, "frame": 2, "group": 0, "source": "manual", "attributes": []})
    out, zf = _export(tmp_path, "LFW 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    pairs = zf.read("default/annotations/pairs.txt").decode().splitlines()
    assert pairs == ["car\timg1\timg3", "person/sub/img2"]
    people = zf.read("default/annotations/people.txt").decode().splitlines()
    assert people[:2] == ["car\t2", "person\t1"] and len(people) == 6
    landmarks = zf.read("default/annotations/landmarks.txt").decode().splitlines()
    assert landmarks == ["bike/img1.jpg\t3.0\t3.0\t5.0\t7.0"]
    assert {"default/images/car/img1.jpg", "default/images/person/sub/img2.png", "default/images/img4.jpg"} <= \
        set(zf.namelist())
    got = registry.import_annotations("LFW 1.0", out, d["labels"], d["frames"])
    tags = sorted((t["frame"], t["label_id"], tuple(sorted(sample.attrs_of(t).items()))) for t in got["tags"])
    assert tags == [(0, 1, ((9, "img3"),)), (1, 2, ()), (2, 1, ())]
    assert [(s["frame"], s["label_id"], s["points"]) for s in got["shapes"]] == [(0, 6, [3.0, 3.0, 5.0, 7.0])]


def test_market1501(tmp_path):
    d = sample.market_dataset()
    out, zf = _export(tmp_path, "Market-1501 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    lines = zf.read("images_default.txt").decode().splitlines()
    assert lines[:2] == ["query/0012_c1s1_000000_00img1.jpg", "bounding_box_default/sub/0007_c3s1_000000_00img2.png"]
    assert lines[2] == "bounding_box_default/img3.jpg"
    assert "query/0012_c1s1_000000_00img1.jpg" in zf.namelist()
    got = registry.import_annotations("Market-1501 1.0", out, d["labels"], d["frames"])
    assert sorted((t["frame"], tuple(sorted(sample.attrs_of(t).items()))) for t in got["tags"]) == \
        [(0, ((1, "true"), (2, "12"), (3, "0"))), (1, ((1, "false"), (2, "7"), (3, "2")))]


def test_icdar_segmentation(tmp_path):
    import io
    from PIL import Image
    from workers.formats import geometry
    d = sample.icdar_dataset()
    out, zf = _export(tmp_path, "ICDAR Segmentation 1.0", d, save_images=True, image_bytes=sample.image_bytes)
    lines = zf.read("default/img1_GT.txt").decode().splitlines()
    assert len(lines) == 1
    r, g, b, cx, cy, x1, y1, x2, y2, text = lines[0].split(" ", 9)
    assert (cx, cy, text) == ("-", "-", '"box text"') and (x1, y1) == ("10", "10")
    bmp = Image.open(io.BytesIO(zf.read("default/img1_GT.bmp")))
    assert bmp.format == "BMP" and bmp.getpixel((0, 0)) == (255, 255, 255)
    assert bmp.getpixel((15, 15)) == (int(r), int(g), int(b))
    assert zf.read("default/img3_GT.txt").decode() == "" and "default/img3_GT.bmp" not in zf.namelist()
    got = registry.import_annotations("ICDAR Segmentation 1.0", out, d["labels"], d["frames"], conv_mask_to_poly=False)
    assert sorted((s["frame"], sample.attrs_of(s).get(1)) for s in got["shapes"]) == [(0, "box text"), (1, "poly"), (3, "")]
    box = [s for s in got["shapes"] if s["frame"] == 0][0]
    m = geometry.decode_cvat_mask(box["points"])
    assert (m.left, m.top) == (10, 10) and m.area() == 21 * 11  # Pillow fills the box outline inclusively
