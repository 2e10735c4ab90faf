"""Every importer: unknown labels, garbage files, zip slip, absolute paths, symlinks and archives
over the limits end in a FormatError whose message names the problem; unknown format names too."""
import copy
import json
import io
import os
import stat
import tarfile
import zipfile

import pytest

from tests.formats import sample
from workers import safe_archive
from workers.formats import common, registry
from workers.formats.model import FormatError

# importer → the exporter whose output it reads
PAIRS = {name: ("CVAT for images 1.1" if name == "CVAT 1.1" else name) for name in registry.IMPORTERS}


def _data(fmt):
    if fmt.startswith("ICDAR"):
        return sample.icdar_dataset()
    if fmt.startswith("VGGFace2"):
        return sample.face_dataset()
    if fmt.startswith("Market-1501"):
        return sample.market_dataset()
    return sample.dataset()


def test_registry_lists_exact_names():
    listing = registry.listing()
    exporters = [f["name"] for f in listing["exporters"]]
    importers = [f["name"] for f in listing["importers"]]
    assert "CVAT for images 1.1" in exporters and "CVAT 1.1" not in exporters
    assert "CVAT 1.1" in importers and "CVAT for images 1.1" not in importers
    for f in listing["exporters"] + listing["importers"]:
        assert f["name"].endswith(" " + f["version"]) and f["dimension"] == "2d" and f["enabled"] is True
    assert {f["name"]: f["ext"] for f in listing["importers"]}["COCO 1.0"] == "JSON, ZIP"
    assert set(PAIRS.values()) <= set(exporters)


def test_unknown_format_names():
    with pytest.raises(FormatError, match="Unknown input format 'CVAT for images 1.1'"):
        registry.import_annotations("CVAT for images 1.1", "x", [], [])
    with pytest.raises(FormatError, match="Unknown format"):
        registry.export_dataset("CVAT 1.1", sample.dataset(), "x")


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_unknown_label(tmp_path, fmt):
    d = _data(fmt)
    out = tmp_path / "out.zip"
    registry.export_dataset(PAIRS[fmt], d, out, save_images=True, image_bytes=sample.image_bytes)
    renamed = copy.deepcopy(d["labels"])
    for lab in renamed:
        lab["name"] = "other_" + lab["name"]
    with pytest.raises(FormatError, match=r"Label '[\w-]+' is not registered for this task"):
        registry.import_annotations(fmt, out, renamed, d["frames"])


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_unmatched_frames(tmp_path, fmt):
    if fmt in ("MOT 1.1",):
        pytest.skip("MOT matches frames by number only")
    d = _data(fmt)
    out = tmp_path / "out.zip"
    registry.export_dataset(PAIRS[fmt], d, out, save_images=True, image_bytes=sample.image_bytes)
    others = [dict(f, name="zz/other%d.jpg" % f["frame"], frame=f["frame"] + 100) for f in d["frames"]]
    with pytest.raises(FormatError, match="Could not match item id|not a frame of this task"):
        registry.import_annotations(fmt, out, d["labels"], others)


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_garbage(tmp_path, fmt):
    d = sample.dataset()
    junk = tmp_path / "garbage.zip"
    junk.write_bytes(os.urandom(3000))
    with pytest.raises(FormatError) as e:
        registry.import_annotations(fmt, junk, d["labels"], d["frames"])
    assert "Traceback" not in str(e.value) and str(e.value)
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.md", "nothing here")
    with pytest.raises(FormatError, match="must contain|no .xml|not a"):
        registry.import_annotations(fmt, empty, d["labels"], d["frames"])


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_garbage_inside_a_valid_layout(tmp_path, fmt):
    d = _data(fmt)
    out = tmp_path / "out.zip"
    # ImageNet with images is only directories of images (never parsed): check its text layout
    registry.export_dataset(PAIRS[fmt], d, out, save_images=fmt != "ImageNet 1.0", image_bytes=sample.image_bytes)
    broken = tmp_path / "broken.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(broken, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith((".xml", ".json", ".txt", ".csv", ".yaml", ".data", ".png", ".bmp")) \
                    and data.strip():
                data = data[: len(data) // 2] + b"\x00<<garbage ]]} 1 2 x"
            dst.writestr(info.filename, data)
    with pytest.raises(FormatError) as e:
        registry.import_annotations(fmt, broken, d["labels"], d["frames"])
    assert str(e.value)


def _zip_with(tmp_path, name, data=b"x", mode=None):
    path = tmp_path / "evil.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo(name)
        if mode is not None:
            info.external_attr = mode << 16
        zf.writestr(info, data)
    return path


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_zip_slip_absolute_and_symlink(tmp_path, fmt):
    d = sample.dataset()
    with pytest.raises(FormatError, match="zip slip"):
        registry.import_annotations(fmt, _zip_with(tmp_path, "../../evil.xml"), d["labels"], d["frames"])
    assert not (tmp_path.parent / "evil.xml").exists()
    with pytest.raises(FormatError, match="absolute path"):
        registry.import_annotations(fmt, _zip_with(tmp_path, "/tmp/evil.xml"), d["labels"], d["frames"])
    with pytest.raises(FormatError, match="symbolic link"):
        registry.import_annotations(fmt, _zip_with(tmp_path, "annotations.xml", b"/etc/passwd",
                                                   stat.S_IFLNK | 0o777), d["labels"], d["frames"])


@pytest.mark.parametrize("fmt", sorted(PAIRS))
def test_archive_limits(tmp_path, fmt, monkeypatch):
    d = _data(fmt)
    out = tmp_path / "out.zip"
    registry.export_dataset(PAIRS[fmt], d, out, save_images=True, image_bytes=sample.image_bytes)
    monkeypatch.setattr(common, "MAX_MEMBERS", 2)
    with pytest.raises(FormatError, match="more than 2 members"):
        registry.import_annotations(fmt, out, d["labels"], d["frames"])
    monkeypatch.setattr(common, "MAX_MEMBERS", 1000)
    monkeypatch.setattr(common, "MAX_BYTES", 100)
    with pytest.raises(FormatError, match="more than 100 bytes"):
        registry.import_annotations(fmt, out, d["labels"], d["frames"])


def test_zip_bomb_stops_at_the_limit(tmp_path):
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("a.json", b"0" * (20 << 20))
    assert bomb.stat().st_size < 100_000
    with pytest.raises(safe_archive.ArchiveError, match="more than 1048576 bytes"):
        safe_archive.extract(bomb, tmp_path / "x", max_bytes=1 << 20)
    assert not (tmp_path / "x").exists()  # nothing half-unpacked is left behind


def test_safe_archive_tar(tmp_path):
    good = tmp_path / "good.tar"
    with tarfile.open(good, "w") as tf:
        info = tarfile.TarInfo("dir/a.txt")
        info.size = 3
        tf.addfile(info, io.BytesIO(b"abc"))
    assert safe_archive.extract(good, tmp_path / "g") == ["dir/a.txt"]
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        info = tarfile.TarInfo("link")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tf.addfile(info)
    with pytest.raises(safe_archive.ArchiveError, match="is a link"):
        safe_archive.extract(evil, tmp_path / "e")
    slip = tmp_path / "slip.tar"
    with tarfile.open(slip, "w") as tf:
        info = tarfile.TarInfo("../x.txt")
        info.size = 1
        tf.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(safe_archive.ArchiveError, match="zip slip"):
        safe_archive.extract(slip, tmp_path / "s")
    cut = tmp_path / "cut.tar"
    cut.write_bytes(good.read_bytes()[:700])  # the member's bytes end early
    with pytest.raises(safe_archive.ArchiveError, match="cut.tar: can't be unpacked"):
        safe_archive.extract(cut, tmp_path / "c")
    assert not (tmp_path / "c").exists()


def test_registry_names_match_cvat():
    """formats.md §1: CVAT's exporters (minus the 3D/audio ones this server has no tasks for);
    importers = the same minus the two CVAT XML writers and Detection Track, plus CVAT 1.1."""
    cvat_2d = ["CVAT for images 1.1", "CVAT for video 1.1", "COCO 1.0", "COCO Keypoints 1.0", "Datumaro 1.0",
               "YOLO 1.1", "Ultralytics YOLO Detection 1.0", "Ultralytics YOLO Detection Track 1.0",
               "Ultralytics YOLO Segmentation 1.0", "Ultralytics YOLO Oriented Bounding Boxes 1.0",
               "Ultralytics YOLO Pose 1.0", "Ultralytics YOLO Classification 1.0", "PASCAL VOC 1.1",
               "Segmentation mask 1.1", "LabelMe 3.0", "MOT 1.1", "MOTS PNG 1.0", "ImageNet 1.0", "CamVid 1.0",
               "Cityscapes 1.0", "KITTI 1.0", "ICDAR Recognition 1.0", "ICDAR Localization 1.0",
               "ICDAR Segmentation 1.0", "Market-1501 1.0", "VGGFace2 1.0", "WiderFace 1.0", "Open Images V6 1.0",
               "LFW 1.0"]
    listing = registry.listing()
    assert sorted(f["name"] for f in listing["exporters"]) == sorted(cvat_2d)
    importers = set(cvat_2d) - {"CVAT for images 1.1", "CVAT for video 1.1", "Ultralytics YOLO Detection Track 1.0"}
    assert sorted(f["name"] for f in listing["importers"]) == sorted(importers | {"CVAT 1.1"})
    ext = {f["name"]: f["ext"] for f in listing["importers"]}
    assert ext["CVAT 1.1"] == "XML, ZIP" and ext["Datumaro 1.0"] == "JSON, ZIP" and ext["YOLO 1.1"] == "ZIP"


def test_oversized_mask_image_is_refused(tmp_path, monkeypatch):
    from workers.formats import geometry
    d = sample.dataset()
    out = tmp_path / "out.zip"
    registry.export_dataset("Segmentation mask 1.1", d, out)
    monkeypatch.setattr(geometry, "MAX_MASK_PIXELS", 1000)
    with pytest.raises(FormatError, match="larger than any frame"):
        registry.import_annotations("Segmentation mask 1.1", out, d["labels"], d["frames"])


def test_file_names_inside_the_input_cannot_leave_it(tmp_path):
    d = sample.dataset()
    out = tmp_path / "out.zip"
    registry.export_dataset("LabelMe 3.0", d, out)
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(evil, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "default/sub/img2.xml":
                data = data.replace(b"<mask>sub/img2_mask_0.png</mask>", b"<mask>/etc/passwd</mask>")
                assert b"/etc/passwd" in data
            dst.writestr(info.filename, data)
    with pytest.raises(FormatError, match="points outside the dataset"):
        registry.import_annotations("LabelMe 3.0", evil, d["labels"], d["frames"])


def test_yolo_paths_cannot_leave_the_dataset(tmp_path):
    d = sample.dataset()
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("obj.data", "classes = 1\ntrain = data/../../../../etc/passwd\nnames = data/obj.names\n")
        zf.writestr("obj.names", "car\n")
    with pytest.raises(FormatError, match="points outside the dataset"):
        registry.import_annotations("YOLO 1.1", evil, d["labels"], d["frames"])


def test_rle_of_another_size_is_refused(tmp_path):
    d = sample.dataset()
    doc = {"images": [{"id": 1, "file_name": "img1.jpg", "width": 64, "height": 48}],
           "categories": [{"id": 1, "name": "car"}],
           "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "iscrowd": 1, "bbox": [0, 0, 1, 1],
                            "segmentation": {"counts": [0, 10**12], "size": [10**6, 10**6]}}]}
    bad = tmp_path / "instances_default.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(FormatError, match="RLE size"):
        registry.import_annotations("COCO 1.0", bad, d["labels"], d["frames"])
