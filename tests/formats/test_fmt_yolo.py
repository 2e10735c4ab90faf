"""YOLO 1.1 and the Ultralytics family: files parsed by hand as Darknet / Ultralytics read them
(a line per object, normalised numbers), then imported back."""
import json
import zipfile

import pytest

from tests.formats import sample
from workers.formats import registry


def _export(tmp_path, fmt, **kw):
    d = sample.dataset(**kw.pop("extra", {}))
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return d, out, zipfile.ZipFile(out)


def _boxes(d):
    """Unrotated rectangles per frame (tracks expanded): what YOLO can hold."""
    return [s for s in sample.per_frame_shapes(d["annotations"])
            if s["type"] == "rectangle" and not (s.get("rotation") or 0) % 360]


def test_yolo_layout(tmp_path):
    d, out, zf = _export(tmp_path, "YOLO 1.1", save_images=True, image_bytes=sample.image_bytes)
    assert zf.read("obj.data").decode().splitlines() == [
        "classes = 4", "train = data/train.txt", "names = data/obj.names", "backup = backup/"]
    names = zf.read("obj.names").decode()
    assert names == "car\nperson\nskel\nbike\n"
    listing = zf.read("train.txt").decode().splitlines()
    assert listing == ["data/obj_train_data/" + f["name"] for f in d["frames"]]
    for f in d["frames"]:
        stem = f["name"].rsplit(".", 1)[0]
        assert f"obj_train_data/{stem}.txt" in zf.namelist()  # empty frames too
        assert f"obj_train_data/{f['name']}" in zf.namelist()
    lines = zf.read("obj_train_data/img1.txt").decode().splitlines()
    for line in lines:
        parts = line.split()
        assert len(parts) == 5 and all(len(p.split(".")[1]) == 6 for p in parts[1:])
    assert lines[0] == "0 0.312500 0.312500 0.312500 0.208333"
    total = sum(len(zf.read(n).decode().splitlines()) for n in zf.namelist() if n.endswith(".txt")
                and n.startswith("obj_train_data/"))
    assert total == len(_boxes(d))  # the rotated box is skipped, everything else dropped


def test_yolo_round_trip(tmp_path):
    d, out, _ = _export(tmp_path, "YOLO 1.1")
    got = registry.import_annotations("YOLO 1.1", out, d["labels"], d["frames"])
    assert sorted(sample.key(s, nd=2, with_attrs=False) for s in got["shapes"]) == \
        sorted(sample.key(dict(s, occluded=False), nd=2, with_attrs=False) for s in _boxes(d))


def test_ultralytics_detection_and_track(tmp_path):
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Detection 1.0")
    yaml = zf.read("data.yaml").decode()
    assert 'names:\n  0: "car"\n  1: "person"\n  2: "skel"\n  3: "bike"\n' in yaml and "train: train.txt" in yaml
    assert zf.read("train.txt").decode().splitlines()[1] == "data/images/train/sub/img2.png"
    assert "labels/train/img5.txt" not in zf.namelist()  # written only when non-empty
    got = registry.import_annotations("Ultralytics YOLO Detection 1.0", out, d["labels"], d["frames"])
    assert len(got["shapes"]) == len(_boxes(d))
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Detection Track 1.0")
    tracked = [l for l in zf.read("labels/train/img1.txt").decode().splitlines() if len(l.split()) == 6]
    assert len(tracked) == 1 and tracked[0].endswith(" 0")
    got = registry.import_annotations("Ultralytics YOLO Detection 1.0", out, d["labels"], d["frames"])
    assert len(got["tracks"]) == 1
    assert [(s["frame"], s["outside"]) for s in got["tracks"][0]["shapes"]] == [(0, False), (1, False), (2, False), (3, True)]


def test_ultralytics_segmentation(tmp_path):
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Segmentation 1.0")
    line = zf.read("labels/train/img1.txt").decode().splitlines()[0].split()
    assert line[0] == "1" and len(line) == 7
    got = registry.import_annotations("Ultralytics YOLO Segmentation 1.0", out, d["labels"], d["frames"])
    poly = [s for s in got["shapes"] if s["frame"] == 0][0]
    assert sample.norm_points(poly["points"], 2) == (1.0, 1.0, 20.0, 2.0, 10.0, 15.0)
    assert {s["type"] for s in got["shapes"]} == {"polygon"}
    assert {(s["frame"], s["label_id"]) for s in got["shapes"]} == {(0, 2), (1, 1), (1, 2), (3, 6)}


def test_ultralytics_obb(tmp_path):
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Oriented Bounding Boxes 1.0")
    got = registry.import_annotations("Ultralytics YOLO Oriented Bounding Boxes 1.0", out, d["labels"], d["frames"])
    rotated = [s for s in got["shapes"] if s["label_id"] == 2][0]
    assert rotated["rotation"] == pytest.approx(30.0, abs=0.01)
    assert rotated["points"] == pytest.approx([5.0, 5.0, 15.0, 25.0], abs=0.01)


def test_ultralytics_pose(tmp_path):
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Pose 1.0")
    yaml = zf.read("data.yaml").decode()
    assert 'names:\n  0: "skel"\n' in yaml and "kpt_shape: [2, 3]" in yaml
    parts = zf.read("labels/train/sub/img2.txt").decode().split()
    assert len(parts) == 5 + 3 * 2 and parts[7] == "2" and parts[10] == "1"
    got = registry.import_annotations("Ultralytics YOLO Pose 1.0", out, d["labels"], d["frames"])
    sk = [s for s in got["shapes"] if s["frame"] == 1][0]
    assert sample.key(sk, nd=2, with_attrs=False) == \
        sample.key(sample.by_kind(d["annotations"], "skeleton")[0], nd=2, with_attrs=False)


def test_ultralytics_classification(tmp_path):
    d, out, zf = _export(tmp_path, "Ultralytics YOLO Classification 1.0", save_images=True,
                         image_bytes=sample.image_bytes)
    assert "train/car/img1.jpg" in zf.namelist() and "train/no_label/img3.jpg" in zf.namelist()
    index = json.loads(zf.read("train/labels.json"))
    assert index["sub/img2"] == {"labels": ["person"], "path": "train/person/img2.png"}
    got = registry.import_annotations("Ultralytics YOLO Classification 1.0", out, d["labels"], d["frames"])
    assert sorted((t["frame"], t["label_id"]) for t in got["tags"]) == [(0, 1), (1, 2)]
