"""CVAT for images / video 1.1 export checked with lxml, and CVAT 1.1 import round trips."""
import zipfile

import pytest

from tests.formats import sample
from workers.formats import geometry, registry

etree = pytest.importorskip("lxml.etree")


def _xml(path):
    with zipfile.ZipFile(path) as zf:
        return etree.fromstring(zf.read("annotations.xml")), zf.namelist()


def test_images_layout_and_content(tmp_path):
    d = sample.dataset()
    out = tmp_path / "a.zip"
    registry.export_dataset("CVAT for images 1.1", d, out, save_images=True, image_bytes=sample.image_bytes)
    root, names = _xml(out)
    assert names[0] == "annotations.xml"
    assert sorted(n for n in names if n.startswith("images/")) == sorted("images/" + f["name"] for f in d["frames"])
    assert root.tag == "annotations" and root.findtext("version") == "1.1"
    task = root.find("meta/task")
    assert task.findtext("size") == "5"
    labels = [l.findtext("name") for l in task.findall("labels/label")]
    assert labels == ["car", "person", "skel", "nose", "tail", "bike"]
    assert task.find("labels/label[name='nose']").findtext("parent") == "skel"
    svg = task.find("labels/label[name='skel']").findtext("svg")
    assert 'data-label-name="nose"' in svg and "data-label-id" not in svg
    car = task.find("labels/label[name='car']")
    assert [a.findtext("input_type") for a in car.findall("attributes/attribute")] == \
        ["select", "checkbox", "number", "text", "radio"]
    images = root.findall("image")
    assert [i.get("name") for i in images] == [f["name"] for f in d["frames"]]  # empty frames too
    assert [i.get("id") for i in images] == ["0", "1", "2", "3", "4"]
    box = images[0].find("box[@label='car'][@occluded='1']")
    assert list(box.attrib) == ["label", "source", "occluded", "xtl", "ytl", "xbr", "ybr", "z_order"]
    assert (box.get("xtl"), box.get("xbr")) == ("10.00", "30.00")
    assert {a.get("name"): a.text for a in box.findall("attribute")}["count"] == "3"
    rotated = images[0].find("box[@label='person']")
    assert rotated.get("rotation") == "30.00"
    assert list(rotated.attrib).index("rotation") == 7
    ellipse = images[1].find("ellipse")
    assert [ellipse.get(k) for k in ("cx", "cy", "rx", "ry")] == ["32.00", "24.00", "8.00", "6.00"]
    mask = images[1].find("mask")
    assert mask.get("rle") == "1, 4, 1"
    runs = [int(v) for v in mask.get("rle").split(",")]
    left, top, w, h = (int(mask.get(k)) for k in ("left", "top", "width", "height"))
    assert geometry.decode_cvat_mask(runs + [left, top, left + w - 1, top + h - 1]) == \
        geometry.decode_cvat_mask(sample.MASK)
    skel = images[1].find("skeleton")
    assert [p.get("label") for p in skel.findall("points")] == ["nose", "tail"]
    assert skel.find("points[@label='tail']").get("occluded") == "1"
    assert images[1].find("cuboid").get("xbr2") == "12.00"
    assert images[3].find("box").get("group_id") == "1"
    assert [t.get("label") for t in images[0].findall("tag")] == ["car"]
    # tracked box: interpolated on frame 1, outside from frame 3 on
    assert images[1].find("box[@label='car']").get("xtl") == "10.00"
    assert images[3].find("box[@label='car']") is None


def test_images_round_trip(tmp_path):
    d = sample.dataset()
    out = tmp_path / "a.zip"
    registry.export_dataset("CVAT for images 1.1", d, out)
    got = registry.import_annotations("CVAT 1.1", out, d["labels"], d["frames"])
    want = sample.per_frame_shapes(d["annotations"])
    assert sorted(map(sample.key, got["shapes"])) == sorted(map(sample.key, want))
    assert sorted((t["frame"], t["label_id"], tuple(sorted(sample.attrs_of(t).items()))) for t in got["tags"]) == \
        sorted((t["frame"], t["label_id"], tuple(sorted(sample.attrs_of(t).items()))) for t in d["annotations"]["tags"])
    assert all(s["source"] == "file" for s in got["shapes"])
    assert [s["group"] for s in got["shapes"] if s["frame"] == 3 and s["label_id"] == 6] == [1, 1]


def test_bare_xml_import(tmp_path):
    d = sample.dataset()
    out = tmp_path / "a.zip"
    registry.export_dataset("CVAT for images 1.1", d, out)
    xml = tmp_path / "annotations.xml"
    xml.write_bytes(zipfile.ZipFile(out).read("annotations.xml"))
    got = registry.import_annotations("CVAT 1.1", xml, d["labels"], d["frames"])
    assert len(got["shapes"]) == len(sample.per_frame_shapes(d["annotations"]))


def test_video_layout_and_round_trip(tmp_path):
    d = sample.dataset()
    out = tmp_path / "v.zip"
    registry.export_dataset("CVAT for video 1.1", d, out)
    root, _ = _xml(out)
    assert root.find("image") is None and root.find(".//tag") is None  # no tags in video XML
    tracks = root.findall("track")
    assert [t.get("id") for t in tracks] == [str(i) for i in range(len(tracks))]
    car = tracks[0]
    frames = [(b.get("frame"), b.get("keyframe"), b.get("outside")) for b in car.findall("box")]
    assert frames == [("0", "1", "0"), ("1", "0", "0"), ("2", "1", "0"), ("3", "1", "1")]
    assert car.find("box[@frame='1']").get("xtl") == "10.00"  # linear interpolation
    skel = tracks[1]
    assert [s.get("frame") for s in skel.findall("skeleton")] == ["2", "3", "4"]  # propagated to the end
    # a standalone shape on frame f becomes a track with an outside copy at f+1 (< stop frame)
    single = [t for t in tracks if t.get("label") == "bike" and t.find("cuboid") is not None][0]
    assert [(c.get("frame"), c.get("outside")) for c in single.findall("cuboid")] == [("1", "0"), ("2", "1")]
    got = registry.import_annotations("CVAT 1.1", out, d["labels"], d["frames"])
    car_track, skel_track = got["tracks"][:2]  # tracks come back in file order
    assert [(s["frame"], s["outside"]) for s in car_track["shapes"]] == [(0, False), (2, False), (3, True)]
    assert sample.attrs_of(car_track) == {1: "red"}  # immutable attribute on the track
    assert [sample.attrs_of(s).get(2) for s in car_track["shapes"][:2]] == ["false", "true"]
    assert [e["label_id"] for e in skel_track["elements"]] == [4, 5]
    assert skel_track["elements"][0]["shapes"][0]["points"] == [30.0, 30.0]
    # standalone masks come back as mask shapes, the rest as tracks
    assert [s["type"] for s in got["shapes"]] == ["mask"]
    assert len(got["tracks"]) == 2 + len(d["annotations"]["shapes"]) - 1


def test_video_task_frame_names(tmp_path):
    d = sample.dataset(video=True)
    out = tmp_path / "a.zip"
    registry.export_dataset("CVAT for images 1.1", d, out, save_images=True, image_bytes=sample.image_bytes)
    root, names = _xml(out)
    assert root.find("image").get("name") == "frame_000000"
    assert "images/frame_000000.PNG" in names
    got = registry.import_annotations("CVAT 1.1", out, d["labels"], d["frames"], video=True)
    assert {s["frame"] for s in got["shapes"]} == {0, 1, 2, 3, 4}


def test_entities_are_refused(tmp_path):
    d = sample.dataset()
    bomb = tmp_path / "annotations.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "xxxxxxxx"><!ENTITY y "&x;&x;&x;">]>'
                    '<annotations><version>&y;</version></annotations>')
    with pytest.raises(registry.FormatError, match="not allowed"):
        registry.import_annotations("CVAT 1.1", bomb, d["labels"], d["frames"])


def test_project_and_job_meta(tmp_path):
    d = sample.dataset(meta={"kind": "project", "id": 7, "name": "p", "subsets": ["train", "val"],
                             "tasks": [{"id": 3, "name": "t", "size": 5, "subset": "train"}],
                             "owner": {"username": "admin", "email": "a@x"}})
    for f in d["frames"]:
        f.update(subset="train", task_id=3)
    out = tmp_path / "p.zip"
    registry.export_dataset("CVAT for images 1.1", d, out, save_images=True, image_bytes=sample.image_bytes)
    root, names = _xml(out)
    project = root.find("meta/project")
    assert [c.tag for c in project] == ["id", "name", "bugtracker", "created", "updated", "tasks", "subsets",
                                        "owner", "assignee", "labels"]
    assert project.findtext("subsets") == "train\nval" and project.findtext("owner/username") == "admin"
    assert project.find("tasks/task/labels") is None and project.findtext("tasks/task/id") == "3"
    assert root.find("image").get("subset") == "train" and root.find("image").get("task_id") == "3"
    assert "images/train/sub/img2.png" in names
    job = sample.dataset(meta={"kind": "job", "id": 9, "segments": [{"id": 9, "start": 0, "stop": 4,
                                                                      "url": "http://h/api/jobs/9"}]})
    registry.export_dataset("CVAT for images 1.1", job, tmp_path / "j.zip")
    root, _ = _xml(tmp_path / "j.zip")
    meta = root.find("meta/job")
    assert meta.findtext("id") == "9" and meta.find("name") is None
    assert meta.findtext("segments/segment/url") == "http://h/api/jobs/9"


def test_nested_meta_shape(tmp_path):
    d = sample.dataset(meta={"task": {"id": 12, "name": "demo", "size": 5, "mode": "annotation"}})
    registry.export_dataset("CVAT for images 1.1", d, tmp_path / "a.zip")
    root, _ = _xml(tmp_path / "a.zip")
    assert root.findtext("meta/task/id") == "12" and root.findtext("meta/task/name") == "demo"
    assert root.findtext("meta/task/stop_frame") == "4"
