"""Cross-check with an independent reader: PyPI datumaro 1.13 (upstream of the code CVAT uses),
run from its own interpreter because it pins pillow~=12 (the server runs Pillow 13) and weighs
~560 MB (formats.md §7). Skipped unless CVAT_DATUMARO_PYTHON (default /tmp/datumaro-venv/bin/python)
exists; set it up with `python3 -m venv /tmp/datumaro-venv && /tmp/datumaro-venv/bin/pip install
datumaro==1.13.12` (45 s here). Workarounds from formats.md §7 are applied where PyPI datumaro
differs from CVAT's fork."""
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.formats import sample
from workers.formats import registry

DM = os.environ.get("CVAT_DATUMARO_PYTHON", "/tmp/datumaro-venv/bin/python")
pytestmark = pytest.mark.skipif(not Path(DM).exists(), reason="no datumaro interpreter (see module docstring)")
READER = Path(__file__).with_name("dm_reader.py")


def _flat(d=None):
    """The sample without sub-directories: PyPI datumaro turns `sub/img2` into a subset in YOLO and
    LabelMe (CVAT's fork keeps the path), so those cross-checks use flat names."""
    d = d or sample.dataset()
    for f in d["frames"]:
        f["name"] = f["name"].rsplit("/", 1)[-1]
    return d


def _read(tmp_path, fmt, dm_format, data=None, save_images=True, prep=None, **kw):
    d = data or sample.dataset()
    tmp_path.mkdir(parents=True, exist_ok=True)
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, save_images=save_images, image_bytes=sample.image_bytes)
    root = tmp_path / "x"
    zipfile.ZipFile(out).extractall(root)
    if prep:
        prep(root)
    res = subprocess.run([DM, str(READER), str(root), dm_format, json.dumps(kw)], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-3000:]
    return d, json.loads(res.stdout.strip().splitlines()[-1])


def _count(items, kind, label=None):
    return sum(1 for anns in items.values() for a in anns if a[0] == kind and (label is None or a[1] == label))


def _rects(d):
    return [s for s in sample.per_frame_shapes(d["annotations"]) if s["type"] == "rectangle"]


def test_coco(tmp_path):
    d, got = _read(tmp_path, "COCO 1.0", "coco_instances")
    items = got["items"]
    assert len(items) == 5
    assert _count(items, "polygon") == 2 and _count(items, "mask") == 2
    boxes = sorted(a[2] for anns in items.values() for a in anns if a[0] == "bbox" and not a[3].get("is_crowd"))
    assert [10.0, 10.0, 20.0, 10.0] in boxes  # x, y, w, h
    car = [a for a in items["img1"] if a[0] == "bbox" and a[2] == [10.0, 10.0, 20.0, 10.0]][0]
    assert car[1] == "car" and car[3]["occluded"] is True and car[3]["count"] == 3.0 and car[3]["parked"] is True


def test_coco_keypoints(tmp_path):
    d, got = _read(tmp_path, "COCO Keypoints 1.0", "coco_person_keypoints")
    pts = [a for anns in got["items"].values() for a in anns if a[0] == "points"]
    assert len(pts) == 4 and [12.0, 12.0, 22.0, 22.0] in [p[2] for p in pts]


def test_datumaro_without_skeletons(tmp_path):
    d = sample.dataset()
    d["annotations"]["shapes"] = [s for s in d["annotations"]["shapes"] if s["type"] != "skeleton"]
    d["annotations"]["tracks"] = d["annotations"]["tracks"][:1]
    d, got = _read(tmp_path, "Datumaro 1.0", "datumaro", data=d)
    items = got["items"]
    assert set(items) == {"img1", "sub/img2", "img3", "img4", "img5"}
    assert _count(items, "mask") == 2 and _count(items, "polyline") == 1 and _count(items, "points") == 1
    assert _count(items, "label") == 2 and _count(items, "bbox") == len(_rects(d))
    tracked = [a for anns in items.values() for a in anns if a[0] == "bbox" and "track_id" in a[3]]
    assert sorted(a[3]["keyframe"] for a in tracked) == [False, True, True]


def test_yolo_and_ultralytics(tmp_path):
    d, got = _read(tmp_path, "YOLO 1.1", "yolo", data=_flat())
    want = sorted([round(v, 2) for v in (s["points"][0], s["points"][1], s["points"][2] - s["points"][0],
                                          s["points"][3] - s["points"][1])]
                  for s in _rects(d) if not s["rotation"])
    assert sorted(a[2] for anns in got["items"].values() for a in anns if a[0] == "bbox") == want
    d, got = _read(tmp_path / "u", "Ultralytics YOLO Detection 1.0", "yolo", data=_flat())
    assert sorted(a[2] for anns in got["items"].values() for a in anns if a[0] == "bbox") == want


def test_voc_and_segmentation_mask(tmp_path):
    d, got = _read(tmp_path, "PASCAL VOC 1.1", "voc_detection")
    boxes = [a for anns in got["items"].values() for a in anns if a[0] == "bbox"]
    assert len(boxes) == len(_rects(d))
    car = [b for b in boxes if b[2] == [10.0, 10.0, 20.0, 10.0]][0]
    assert car[1] == "car" and car[3]["occluded"] is True
    d, got = _read(tmp_path / "s", "Segmentation mask 1.1", "voc_segmentation")
    assert set(got["items"]) == {"img1", "sub/img2", "img3", "img4"}
    assert {a[1] for anns in got["items"].values() for a in anns if a[0] == "mask"} == {"car", "person", "bike"}


def test_labelme(tmp_path):
    def prep(root):
        shutil.copytree(root / "default" / "Masks", root / "Masks")
    d, got = _read(tmp_path, "LabelMe 3.0", "label_me", data=_flat(), prep=prep)
    items = got["items"]
    assert _count(items, "polygon") + _count(items, "bbox") >= 5 and _count(items, "mask") == 2
    car = [a for anns in items.values() for a in anns if a[3].get("count") == 3.0][0]
    assert car[3]["parked"] is True and car[3]["note"] == 'hello, "world"'


def test_mot_and_imagenet(tmp_path):
    d, got = _read(tmp_path, "MOT 1.1", "mot_seq", save_images=False)  # PyPI wants integer image names
    boxes = [a for anns in got["items"].values() for a in anns if a[0] == "bbox"]
    assert len(boxes) == len(_rects(d))
    assert sorted(b[3]["track_id"] for b in boxes if "track_id" in b[3]) == [1, 1, 1]
    d, got = _read(tmp_path / "i", "ImageNet 1.0", "imagenet_txt", save_images=False)
    assert len(got["items"]) == 5 and _count(got["items"], "label") == 2
    d, got = _read(tmp_path / "j", "ImageNet 1.0", "imagenet", data=_flat())
    assert _count(got["items"], "label", "car") == 1 and _count(got["items"], "label", "person") == 1


def _upstream_cityscapes(root):
    (root / "imgsFine" / "leftImg8bit").rename(root / "leftImg8bit")  # upstream has no imgsFine/ level


def _crowd():
    """Upstream reads instanceIds as plain label ids (the fork decodes class × 1000 + instance), so
    its cross-check uses `is_crowd` labels, whose pixels are the bare label id in both."""
    d = sample.dataset()
    for i, lab in enumerate(d["labels"]):
        lab["attributes"] = list(lab["attributes"]) + [{"id": 100 + i, "name": "is_crowd", "input_type": "checkbox",
                                                        "values": ["true"], "default_value": "true", "mutable": False}]
    return d


@pytest.mark.parametrize("fmt,dm_format,prep", [("CamVid 1.0", "camvid", None),
                                                ("Cityscapes 1.0", "cityscapes", _upstream_cityscapes),
                                                ("KITTI 1.0", "kitti_segmentation", None),
                                                ("MOTS PNG 1.0", "mots", None)])
def test_rasterised(tmp_path, fmt, dm_format, prep):
    d, got = _read(tmp_path, fmt, dm_format, prep=prep, data=_crowd() if fmt.startswith("Cityscapes") else None)
    masks = [a for anns in got["items"].values() for a in anns if a[0] == "mask"]
    assert masks and {m[1] for m in masks} <= {"car", "person", "bike", "background"}
    if fmt != "MOTS PNG 1.0":
        assert {m[1] for m in masks} >= {"car", "person", "bike"}


def test_kitti_detection(tmp_path):
    d, got = _read(tmp_path, "KITTI 1.0", "kitti_detection")
    boxes = [a for anns in got["items"].values() for a in anns if a[0] == "bbox"]
    assert len(boxes) == len(_rects(d))
    assert [b[3] for b in boxes if b[2] == [10.0, 10.0, 20.0, 10.0]] == [{"truncated": False, "occluded": True,
                                                                         "score": 1.0}]


def test_face_and_text_formats(tmp_path):
    d, got = _read(tmp_path, "WiderFace 1.0", "wider_face")
    assert _count(got["items"], "bbox") == len(_rects(d))
    d, got = _read(tmp_path / "v", "VGGFace2 1.0", "vgg_face2", data=sample.face_dataset())
    assert _count(got["items"], "bbox") == 2 and _count(got["items"], "points") == 2
    d, got = _read(tmp_path / "o", "Open Images V6 1.0", "open_images")
    assert _count(got["items"], "bbox") == len(_rects(d)) and _count(got["items"], "label") == 2
    d, got = _read(tmp_path / "l", "LFW 1.0", "lfw")
    assert _count(got["items"], "label", "car") == 1 and _count(got["items"], "points") == 1
    icdar = sample.icdar_dataset()
    icdar["annotations"]["tags"][0]["attributes"][0]["value"] = "Hello world"  # the reader splits lines on ", "
    d, got = _read(tmp_path / "r", "ICDAR Recognition 1.0", "icdar_word_recognition", data=icdar)
    assert sorted(a[2] for anns in got["items"].values() for a in anns if a[0] == "caption") == \
        ["", "Hello world", "box text", "poly", "second"]  # "" = the default text of the untexted box
    d, got = _read(tmp_path / "t", "ICDAR Localization 1.0", "icdar_text_localization", data=sample.icdar_dataset())
    assert _count(got["items"], "bbox") == 2 and _count(got["items"], "polygon") == 1
    d, got = _read(tmp_path / "m", "Market-1501 1.0", "market1501", data=sample.market_dataset())
    assert len(got["items"]) == 5
