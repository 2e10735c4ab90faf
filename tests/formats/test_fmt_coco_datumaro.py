"""COCO 1.0 / COCO Keypoints 1.0 loaded with pycocotools; Datumaro 1.0 checked by hand with its
RLE decoded by pycocotools; imports compared with what each format holds."""
import json
import zipfile

import pytest

from tests.formats import sample
from workers.formats import geometry, registry


def _export(tmp_path, fmt, **kw):
    d = sample.dataset(**kw.pop("extra", {}))
    out = tmp_path / "out.zip"
    registry.export_dataset(fmt, d, out, **kw)
    return d, out


def test_coco_with_pycocotools(tmp_path):
    coco_mod = pytest.importorskip("pycocotools.coco")
    mu = pytest.importorskip("pycocotools.mask")
    d, out = _export(tmp_path, "COCO 1.0")
    with zipfile.ZipFile(out) as zf:
        assert zf.namelist() == ["annotations/instances_default.json"]  # no empty images/ dir
        raw = zf.read("annotations/instances_default.json")
    (tmp_path / "i.json").write_bytes(raw)
    doc = json.loads(raw)
    assert set(doc) == {"licenses", "info", "categories", "images", "annotations"}
    api = coco_mod.COCO(str(tmp_path / "i.json"))
    assert len(api.getImgIds()) == len(d["frames"])
    assert [c["id"] for c in doc["categories"]] == [1, 2, 3, 4, 5, 6]
    assert [c["supercategory"] for c in doc["categories"]] == ["", "", "", "skel", "skel", ""]
    assert [i["file_name"] for i in doc["images"]] == [f["name"] for f in d["frames"]]
    anns = api.loadAnns(api.getAnnIds())
    assert [a["id"] for a in anns] == list(range(1, len(anns) + 1))
    kinds = {"rect": 0, "poly": 0, "rle": 0}
    for a in anns:
        assert "occluded" in a["attributes"]
        if a["segmentation"] == []:
            kinds["rect"] += 1
            assert a["area"] == pytest.approx(a["bbox"][2] * a["bbox"][3])
            assert "rotation" in a["attributes"] and a["iscrowd"] == 0
            continue
        m = api.annToMask(a)
        assert m.sum() == a["area"]
        if isinstance(a["segmentation"], dict):
            kinds["rle"] += 1
            assert a["iscrowd"] == 1 and a["segmentation"]["size"] == [48, 64]
            rle = mu.frPyObjects(a["segmentation"], 48, 64)
            assert [float(v) for v in mu.toBbox(rle)] == a["bbox"]
        else:
            kinds["poly"] += 1
    assert kinds == {"rect": 5, "poly": 2, "rle": 2}
    # the tracked box carries track_id/keyframe; polylines, points, skeletons, cuboids are dropped
    tracked = [a for a in anns if "track_id" in a["attributes"]]
    assert sorted((a["image_id"], a["attributes"]["keyframe"]) for a in tracked) == [(1, True), (2, False), (3, True)]
    # the group (box + polygon on frame 3) is one annotation: the polygon's category, the union box
    grouped = [a for a in anns if a["image_id"] == 4]
    assert len(grouped) == 1 and grouped[0]["bbox"] == [2.0, 2.0, 28.0, 28.0]
    mask = [a for a in anns if a["area"] == 4.0][0]
    assert mask["segmentation"]["counts"] == [1926, 1, 46, 2, 46, 1, 1050]
    car = [a for a in anns if a["attributes"].get("count") == 3.0][0]
    assert car["attributes"] == {"color": "red", "parked": True, "count": 3.0, "note": 'hello, "world"',
                                 "model": "b", "occluded": True, "rotation": 0.0}


def test_coco_round_trip(tmp_path):
    d, out = _export(tmp_path, "COCO 1.0", save_images=True, image_bytes=sample.image_bytes)
    names = zipfile.ZipFile(out).namelist()
    assert "images/default/sub/img2.png" in names
    got = registry.import_annotations("COCO 1.0", out, d["labels"], d["frames"])
    want = [s for s in d["annotations"]["shapes"] if s["type"] in ("rectangle", "polygon", "mask") and not s["group"]]
    plain = lambda s: sample.key(s, with_attrs=False)  # noqa: E731
    for s in want:
        assert plain(s) in map(plain, got["shapes"])
    # the ellipse comes back as a mask of the same pixels
    ell = [s for s in got["shapes"] if s["type"] == "mask" and s["label_id"] == 1][0]
    assert geometry.decode_cvat_mask(ell["points"]) == geometry.ellipse_mask([32, 24, 40, 18], 0, 64, 48)
    # the track is rebuilt from track_id + keyframe, with an outside keyframe after the last one
    assert len(got["tracks"]) == 1
    assert [(s["frame"], s["outside"]) for s in got["tracks"][0]["shapes"]] == [(0, False), (2, False), (3, True)]
    car = [s for s in got["shapes"] if s["points"] == [10.0, 10.0, 30.0, 20.0]][0]
    assert sample.attrs_of(car) == sample.attrs_of(d["annotations"]["shapes"][0])


def test_coco_bare_json_and_video_names(tmp_path):
    d, out = _export(tmp_path, "COCO 1.0", extra={"video": True})
    doc = json.loads(zipfile.ZipFile(out).read("annotations/instances_default.json"))
    assert doc["images"][0]["file_name"] == "frame_000000.PNG"
    bare = tmp_path / "instances_default.json"
    bare.write_text(json.dumps(doc))
    got = registry.import_annotations("COCO 1.0", bare, d["labels"], d["frames"], video=True)
    assert got["shapes"]


def test_coco_keypoints(tmp_path):
    coco_mod = pytest.importorskip("pycocotools.coco")
    d, out = _export(tmp_path, "COCO Keypoints 1.0")
    raw = zipfile.ZipFile(out).read("annotations/person_keypoints_default.json")
    (tmp_path / "k.json").write_bytes(raw)
    api = coco_mod.COCO(str(tmp_path / "k.json"))
    cats = api.loadCats(api.getCatIds())
    assert [c["name"] for c in cats] == ["car", "person", "skel", "bike"]
    assert [c["id"] for c in cats] == [1, 2, 3, 6]  # ids index the full label list
    skel = [c for c in cats if c["name"] == "skel"][0]
    assert skel["keypoints"] == ["nose", "tail"] and skel["skeleton"] == [[1, 2]]
    anns = api.loadAnns(api.getAnnIds())
    assert len(anns) == 4  # one standalone skeleton + the skeleton track on frames 2, 3, 4
    for a in anns:
        assert len(a["keypoints"]) == 3 * len(skel["keypoints"])
        assert a["num_keypoints"] == sum(1 for v in a["keypoints"][2::3] if v)
    assert anns[0]["keypoints"] == [12.0, 12.0, 2, 22.0, 22.0, 1]
    got = registry.import_annotations("COCO Keypoints 1.0", out, d["labels"], d["frames"])
    sk = [s for s in got["shapes"] if s["frame"] == 1][0]
    assert sample.key(sk, with_attrs=False) == sample.key(sample.by_kind(d["annotations"], "skeleton")[0], with_attrs=False)
    assert len(got["tracks"]) == 1 and got["tracks"][0]["elements"][1]["shapes"][0]["points"] == [40.0, 40.0]


def test_datumaro_layout_and_round_trip(tmp_path):
    mu = pytest.importorskip("pycocotools.mask")
    d, out = _export(tmp_path, "Datumaro 1.0", save_images=True, image_bytes=sample.image_bytes)
    with zipfile.ZipFile(out) as zf:
        doc = json.loads(zf.read("annotations/default.json"))
        assert "images/default/sub/img2.png" in zf.namelist()
    assert set(doc) == {"info", "categories", "items"}
    assert [l["name"] for l in doc["categories"]["label"]["labels"]] == ["car", "person", "skel", "nose", "tail", "bike"]
    assert doc["categories"]["label"]["attributes"] == sorted(doc["categories"]["label"]["attributes"])
    assert doc["categories"]["points"]["items"] == [{"label_id": 2, "labels": ["nose", "tail"], "joints": [[1, 2]]}]
    items = doc["items"]
    assert [i["id"] for i in items] == ["img1", "sub/img2", "img3", "img4", "img5"]
    assert items[1]["image"] == {"path": "sub/img2.png", "size": [48, 64]} and items[1]["attr"] == {"frame": 1}
    types = sorted(a["type"] for i in items for a in i["annotations"])
    assert "cuboid" not in types and types.count("mask") == 2 and types.count("label") == 2
    masks = [a for a in items[1]["annotations"] if a["type"] == "mask"]
    decoded = [mu.decode({"counts": m["rle"]["counts"].encode(), "size": m["rle"]["size"]}) for m in masks]
    assert sorted(int(x.sum()) for x in decoded) == sorted([4, geometry.ellipse_mask([32, 24, 40, 18], 0, 64, 48).area()])
    sk = [a for a in items[1]["annotations"] if a["type"] == "skeleton"][0]
    assert sk["points"] == [12.0, 12.0, 2, 22.0, 22.0, 1] and "z_order" not in sk
    got = registry.import_annotations("Datumaro 1.0", out, d["labels"], d["frames"])
    want = [s for s in d["annotations"]["shapes"] if s["type"] not in ("cuboid", "ellipse")]
    for s in want:
        assert sample.key(s) in [sample.key(g) for g in got["shapes"]] or \
            sample.key(s, with_attrs=False) in [sample.key(g, with_attrs=False) for g in got["shapes"]], s
    assert len(got["tags"]) == 2 and len(got["tracks"]) == 2
    assert [s["group"] for s in got["shapes"] if s["frame"] == 3] == [1, 1]


def test_unsorted_input_gives_the_same_archive(tmp_path):
    d = sample.dataset()
    registry.export_dataset("COCO 1.0", d, tmp_path / "a.zip")
    shuffled = sample.dataset()
    shuffled["annotations"]["shapes"] = sorted(shuffled["annotations"]["shapes"], key=lambda s: -s["frame"])
    shuffled["annotations"]["shapes"].sort(key=lambda s: s["frame"] % 2)
    registry.export_dataset("COCO 1.0", shuffled, tmp_path / "b.zip")
    load = lambda p: json.loads(zipfile.ZipFile(p).read("annotations/instances_default.json"))  # noqa: E731
    a, b = load(tmp_path / "a.zip"), load(tmp_path / "b.zip")
    key = lambda x: (x["image_id"], x["bbox"], str(x["segmentation"]))  # noqa: E731
    assert sorted(map(key, a["annotations"])) == sorted(map(key, b["annotations"]))


def test_project_subsets_and_duplicate_names(tmp_path):
    d = sample.dataset()
    d["frames"][0]["subset"] = d["frames"][1]["subset"] = "train"
    for f in d["frames"][2:]:
        f["subset"] = "val"
        f["name"] = "same.jpg"
    out = tmp_path / "p.zip"
    registry.export_dataset("COCO 1.0", d, out, save_images=True, image_bytes=sample.image_bytes)
    zf = zipfile.ZipFile(out)
    assert {"annotations/instances_train.json", "annotations/instances_val.json"} <= set(zf.namelist())
    val = json.loads(zf.read("annotations/instances_val.json"))
    assert [i["file_name"] for i in val["images"]] == ["same.jpg", "same_1.jpg", "same_2.jpg"]
    assert [i["id"] for i in val["images"]] == [3, 4, 5]  # ids continue across subset files
    assert {"images/val/same.jpg", "images/val/same_1.jpg", "images/val/same_2.jpg"} <= set(zf.namelist())
    assert d["frames"][3]["name"] == "same.jpg"  # the input is not modified


def test_sorted_input_is_not_indexed():
    from workers.formats.model import FrameObjects
    objects = FrameObjects(sample.dataset())
    for f in sample.FRAMES:
        objects.shapes.get(f["frame"])
    assert objects.shapes.index is None  # walked with a cursor, no per-frame copy of the input
    assert [s["frame"] for s in objects.shapes.get(3)] == [3, 3, 3]  # the group + the skeleton track
    assert objects.shapes.index is not None  # a backwards lookup falls back to an index, same answer
    assert len(objects.shapes.get(0)) == 6  # 5 shapes + the tracked box
