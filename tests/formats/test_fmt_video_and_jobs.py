"""Video tasks (frame_%06d names, .PNG images) and job exports whose frames do not start at 0."""
import json
import zipfile

import pytest

from tests.formats import sample
from workers.formats import registry


def _video():
    d = sample.dataset(video=True)
    for f in d["frames"]:
        f["name"] = "video.mp4"  # what a video task stores; item names come from the frame number
    return d


def _png_frame(frame):
    return b"\x89PNG fake", ".png"


@pytest.mark.parametrize("fmt,member", [("COCO 1.0", "images/default/frame_000001.PNG"),
                                        ("Datumaro 1.0", "images/default/frame_000001.PNG"),
                                        ("YOLO 1.1", "obj_train_data/frame_000001.PNG"),
                                        ("PASCAL VOC 1.1", "JPEGImages/frame_000001.PNG"),
                                        ("MOT 1.1", "img1/frame_000001.PNG"),
                                        ("LabelMe 3.0", "default/frame_000001.PNG"),
                                        ("CVAT for images 1.1", "images/frame_000001.PNG")])
def test_video_frames_are_named_by_number(tmp_path, fmt, member):
    d = _video()
    out = tmp_path / "v.zip"
    registry.export_dataset(fmt, d, out, save_images=True, image_bytes=_png_frame)
    names = zipfile.ZipFile(out).namelist()
    assert member in names and not any("video.mp4" in n for n in names)


@pytest.mark.parametrize("fmt", ["COCO 1.0", "Datumaro 1.0", "YOLO 1.1", "PASCAL VOC 1.1", "LabelMe 3.0",
                                 "Segmentation mask 1.1", "Ultralytics YOLO Detection 1.0"])
def test_video_round_trip(tmp_path, fmt):
    d = _video()
    out = tmp_path / "v.zip"
    registry.export_dataset(fmt, d, out)
    got = registry.import_annotations(fmt, out, d["labels"], d["frames"], video=True)
    assert got["shapes"] and {s["frame"] for s in got["shapes"]} <= {0, 1, 2, 3, 4}
    assert 0 in {s["frame"] for s in got["shapes"]} and 3 in {s["frame"] for s in got["shapes"]}


def _job():
    """Frames 10–14 of a task (a job's segment)."""
    d = sample.dataset()
    for f in d["frames"]:
        f["frame"] += 10
    ann = d["annotations"]
    for obj in ann["shapes"] + ann["tags"]:
        obj["frame"] += 10
        for e in obj.get("elements") or ():
            e["frame"] += 10
    for t in ann["tracks"]:
        t["frame"] += 10
        for s in t["shapes"]:
            s["frame"] += 10
        for e in t.get("elements") or ():
            e["frame"] += 10
            for s in e["shapes"]:
                s["frame"] += 10
    return d


@pytest.mark.parametrize("fmt,reader", [("MOT 1.1", "MOT 1.1"), ("COCO 1.0", "COCO 1.0"),
                                        ("CVAT for video 1.1", "CVAT 1.1"), ("Datumaro 1.0", "Datumaro 1.0")])
def test_job_frames(tmp_path, fmt, reader):
    d = _job()
    out = tmp_path / "j.zip"
    registry.export_dataset(fmt, d, out)
    got = registry.import_annotations(reader, out, d["labels"], d["frames"], stop=14)
    frames = {s["frame"] for s in got["shapes"]} | {s["frame"] for t in got["tracks"] for s in t["shapes"]}
    assert frames and frames <= set(range(10, 15)) and 10 in frames
    car = [t for t in got["tracks"] if t["label_id"] == 1 and len(t["shapes"]) > 1][0]
    assert (car["shapes"][0]["frame"], car["shapes"][-1]["frame"], car["shapes"][-1]["outside"]) == (10, 13, True)


def test_data_step_does_not_skip_frames(tmp_path):
    """workers/datasets.py passes the video's data step (e.g. 2) while numbering frames 0…size-1:
    tracks must still cover every frame and close right after their last one."""
    d = sample.dataset(frame_step=2)
    out = tmp_path / "c.zip"
    registry.export_dataset("COCO 1.0", d, out)
    doc = json.loads(zipfile.ZipFile(out).read("annotations/instances_default.json"))
    tracked = sorted(a["image_id"] for a in doc["annotations"] if "track_id" in a["attributes"])
    assert tracked == [1, 2, 3]
    got = registry.import_annotations("COCO 1.0", out, d["labels"], d["frames"], frame_step=2)
    assert [(s["frame"], s["outside"]) for s in got["tracks"][0]["shapes"]] == [(0, False), (2, False), (3, True)]


def _offset_video():
    """A video task with start_frame 100 and frame step 2: frame i is data frame 100 + 2i."""
    d = _video()
    for f in d["frames"]:
        f["abs_frame"] = 100 + 2 * f["frame"]
    return d


def test_absolute_frame_numbers_in_video_exports(tmp_path):
    d = _offset_video()
    out = tmp_path / "v.zip"
    registry.export_dataset("CVAT for video 1.1", d, out)
    xml = zipfile.ZipFile(out).read("annotations.xml").decode()
    assert '<box frame="100" keyframe="1"' in xml and '<box frame="102" keyframe="0"' in xml
    got = registry.import_annotations("CVAT 1.1", out, d["labels"], d["frames"], video=True)
    assert [(s["frame"], s["outside"]) for s in got["tracks"][0]["shapes"]] == [(0, False), (2, False), (3, True)]
    registry.export_dataset("CVAT for images 1.1", d, tmp_path / "i.zip")
    xml = zipfile.ZipFile(tmp_path / "i.zip").read("annotations.xml").decode()
    assert '<image id="102" name="frame_000102"' in xml
    got = registry.import_annotations("CVAT 1.1", tmp_path / "i.zip", d["labels"], d["frames"], video=True)
    assert {s["frame"] for s in got["shapes"]} == {0, 1, 2, 3, 4}
    registry.export_dataset("COCO 1.0", d, tmp_path / "c.zip")
    doc = json.loads(zipfile.ZipFile(tmp_path / "c.zip").read("annotations/instances_default.json"))
    assert doc["images"][1]["file_name"] == "frame_000102.PNG"
    got = registry.import_annotations("COCO 1.0", tmp_path / "c.zip", d["labels"], d["frames"], video=True)
    assert {s["frame"] for s in got["shapes"]} == {0, 1, 3}
