"""Unit tests of the media modules: archive limits, the decompression-bomb
guard, EXIF orientation, sorting, chunk layout, DataRequest validation and the
request lifecycle (lease, cancel, re-delivery)."""
from __future__ import annotations

import io
import os
import time
import zipfile

import pytest
from PIL import Image

from domain import data_request, requests as rq
from domain.errors import Conflict, Invalid
from storage.documents import TinyDBStore
from workers.media import archives, build, chunks, images
from workers.media.images import MediaError


def _zip(path, members):
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return path


def test_archive_member_and_size_limits(tmp_path):
    many = _zip(tmp_path / "many.zip", {f"f{i}.png": b"x" for i in range(11)})
    with pytest.raises(MediaError, match="more than 10 members"):
        archives.extract(many, tmp_path / "out1", "many.zip", 10, 10**9)
    assert not (tmp_path / "out1").exists()
    bomb = _zip(tmp_path / "bomb.zip", {"big.png": b"\0" * 5_000_000})
    assert bomb.stat().st_size < 100_000
    with pytest.raises(MediaError, match="unpacks to more than"):
        archives.extract(bomb, tmp_path / "out2", "bomb.zip", 10, 1_000_000)
    ok = _zip(tmp_path / "ok.zip", {"a/b/c.png": b"1", "d.png": b"2", "a/": b""})
    assert sorted(archives.extract(ok, tmp_path / "out3", "ok.zip", 10, 100)) == ["a/b/c.png", "d.png"]
    assert (tmp_path / "out3" / "a" / "b" / "c.png").read_bytes() == b"1"


def test_a_truncated_archive_fails_by_name(tmp_path):
    import tarfile
    whole = tmp_path / "whole.tar.gz"
    body = tmp_path / "a.png"
    body.write_bytes(os.urandom(200_000))
    with tarfile.open(whole, "w:gz") as tf:
        tf.add(body, "a.png")
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole.read_bytes()[:-5000])
    with pytest.raises(MediaError, match="Archive cut.tar.gz: can't be unpacked"):
        archives.extract(cut, tmp_path / "out", "cut.tar.gz", 10, 10**9)
    assert not (tmp_path / "out").exists()


def test_decompression_bomb_guard(tmp_path):
    path = tmp_path / "wide.png"
    Image.new("L", (200, 200)).save(path)
    images.set_pixel_limit(10_000)
    try:
        with pytest.raises(MediaError, match="wide.png is too large"):
            images.process(path, "wide.png", 70)
    finally:
        images.set_pixel_limit(0)
    assert images.process(path, "wide.png", 70).width == 200


def test_exif_orientation_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    path = tmp_path / "turned.jpg"
    image.save(path, exif=exif.tobytes(), quality=95)
    frame = images.process(path, "turned.jpg", 90)
    assert (frame.width, frame.height) == (20, 40)
    assert images.size(path, "turned.jpg") == (20, 40)
    shown = Image.open(io.BytesIO(frame.compressed))
    assert shown.size == (20, 40)
    assert shown.getpixel((10, 2))[2] > 200  # the blue side is now on top
    assert frame.original_ext == "png" and Image.open(io.BytesIO(frame.original)).size == (20, 40)


def test_corrupt_image_named(tmp_path):
    path = tmp_path / "bad.jpg"
    path.write_bytes(b"\xff\xd8\xff\xe0garbage")
    with pytest.raises(MediaError, match="bad.jpg"):
        images.process(path, "bad.jpg", 70)


def test_natural_sort_and_chunk_size():
    names = ["img10.png", "img2.png", "img1.png", "a/img3.png"]
    assert sorted(names, key=build.natural_key) == ["a/img3.png", "img1.png", "img2.png", "img10.png"]
    assert build.default_chunk_size(1920, 1080) == 36
    assert build.default_chunk_size(64, 48) == 72
    assert build.default_chunk_size(4000, 4000) == 4


def test_zip_chunk_layout(tmp_path):
    chunks.write_zip(tmp_path / "c.zip", [(b"a", "jpeg"), (b"b", "png")])
    with zipfile.ZipFile(tmp_path / "c.zip") as zf:
        assert [(i.filename, i.compress_type) for i in zf.infolist()] == [
            ("000000.jpeg", zipfile.ZIP_STORED), ("000001.png", zipfile.ZIP_STORED)]
    assert chunks.read_member(tmp_path / "c.zip", 1) == (b"b", "png")


def test_data_request_validation():
    p = data_request.parse({"image_quality": "70", "frame_filter": "step = 3", "use_zip_chunks": "True"})
    assert (p["image_quality"], p["step"], p["frame_filter"], p["use_zip_chunks"]) == (70, 3, "step=3", True)
    assert p["sorting_method"] == "lexicographical" and p["storage_method"] == "file_system"
    assert data_request.parse({"use_cache": True})["storage_method"] == "cache"
    with pytest.raises(Invalid) as e:
        data_request.parse({"image_quality": 0.5, "frame_filter": "step=0", "job_file_mapping": [["a", "a"]]})
    assert set(e.value.detail) == {"image_quality", "frame_filter", "job_file_mapping"}
    assert data_request.collect_form_lists({"server_files[1]": "b", "server_files[0]": "a"}) == {
        "server_files": ["a", "b"]}


def test_request_lifecycle(tmp_path):
    store = TinyDBStore(tmp_path / "db")
    doc = rq.create(store, "action=create&target=task&target_id=1", 1, {"type": "create:task", "target": "task"})
    with pytest.raises(Conflict):
        rq.create(store, doc["rq_id"], 1, {"type": "create:task", "target": "task"})
    assert rq.start(store, doc["id"], lease_seconds=0.2)["status"] == "started"
    assert rq.start(store, doc["id"], lease_seconds=0.2) is None  # a re-delivered message does nothing
    with pytest.raises(Invalid):
        rq.cancel(store, doc["rq_id"])
    rq.report(store, doc["id"], 0.5, "half")
    assert rq.find(store, doc["rq_id"])["progress"] == 0.5
    time.sleep(0.3)
    dead = rq.find(store, doc["rq_id"])
    assert dead["status"] == "failed" and dead["message"] == rq.WORKER_LOST
    rq.finish(store, doc["id"])  # too late: stays failed
    assert rq.find(store, doc["rq_id"])["status"] == "failed"
    again = rq.create(store, doc["rq_id"], 1, {"type": "create:task", "target": "task"})
    rq.cancel(store, again["rq_id"])
    assert rq.find(store, again["rq_id"]) is None


def test_video_split_between_processes(tmp_path):
    from tests.media_helpers import frame_index, make_video
    from workers.media import video
    path = make_video(tmp_path / "v.mp4", 27, size=(32, 32))
    whole = [frame_index(j, 27) for j in video.jpeg_frames(path, "v.mp4", 80)]
    assert whole == list(range(27))
    halves = [[frame_index(j, 27) for j in video.jpeg_frames(path, "v.mp4", 80, chunk_size=4, part=p, parts=2)]
              for p in (0, 1)]
    assert halves[0] == [n for n in range(27) if (n // 4) % 2 == 0]
    assert halves[1] == [n for n in range(27) if (n // 4) % 2 == 1]
    picked = [[frame_index(j, 27) for j in video.jpeg_frames(path, "v.mp4", 80, 2, 25, 3, 2, p, 2)]
              for p in (0, 1)]
    assert picked == [[2, 5, 14, 17], [8, 11, 20, 23]]
    with pytest.raises(MediaError, match="junk.mp4"):
        (tmp_path / "junk.mp4").write_bytes(b"not a video")
        list(video.jpeg_frames(tmp_path / "junk.mp4", "junk.mp4", 70))


def test_precompress_cache_matches_direct_processing(tmp_path):
    from workers.media import precompress
    upload = tmp_path / "upload"
    upload.mkdir()
    Image.new("RGB", (30, 10), (0, 200, 0)).save(upload / "plain.png")
    exif = Image.Exif()
    exif[0x0112] = 8
    Image.new("RGB", (30, 10), (200, 0, 0)).save(upload / "turned.jpg", exif=exif.tobytes())
    (upload / "bad.jpg").write_bytes(b"junk")
    assert precompress.precompress(upload, tmp_path / "cache", ["plain.png", "turned.jpg", "bad.jpg"], 80, False) == 2
    cache = precompress.FrameCache(tmp_path / "cache", 80, False)
    for name in ("plain.png", "turned.jpg"):
        direct = images.process(upload / name, name, 80)
        cached = cache.get(name, upload / name)
        assert (cached.width, cached.height, cached.original_ext) == (direct.width, direct.height, direct.original_ext)
        assert cached.compressed == direct.compressed and cached.original == direct.original
    assert cache.get("bad.jpg", upload / "bad.jpg") is None and not cache.claimed("bad.jpg")
    assert precompress.FrameCache(tmp_path / "cache", 70, False).get("plain.png", upload / "plain.png") is None
    calls = []
    assert cache.take("bad.jpg", upload / "bad.jpg", lambda: calls.append(1) or "computed") == "computed"
    taken = cache.take("plain.png", upload / "plain.png", lambda: calls.append(1) or "computed")
    assert taken.compressed == images.process(upload / "plain.png", "plain.png", 80).compressed and calls == [1]
    assert cache.get("plain.png", upload / "plain.png") is None, "the build is the last user of an entry"
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        f"turned.jpg.q80.{kind}" for kind in ("json", "jpeg", "orig"))


def test_precompress_from_staging_name_and_stale_cache(tmp_path):
    import os
    from workers.media import precompress
    upload = tmp_path / "upload"
    upload.mkdir()
    Image.new("RGB", (12, 12), (9, 9, 200)).save(upload / ".x.png.77.part", format="PNG")
    assert precompress.precompress(upload, tmp_path / "c", [["x.png", ".x.png.77.part"]], 70, False) == 1
    os.replace(upload / ".x.png.77.part", upload / "x.png")
    cache = precompress.FrameCache(tmp_path / "c", 70, False)
    assert cache.get("x.png", upload / "x.png").original == upload / "x.png", "the file itself, streamed later"
    # another file under the same name (e.g. a retried upload) must not reuse the entry
    (upload / "x.png").unlink()
    Image.new("RGB", (14, 14), (200, 9, 9)).save(upload / "x.png")
    assert cache.get("x.png", upload / "x.png") is None
    assert precompress.precompress(upload, tmp_path / "c", [["../x.png", None]], 70, False) == 0


def test_expired_requests_are_dropped(tmp_path):
    store = TinyDBStore(tmp_path / "db")
    old = rq.create(store, "a", 1, {"type": "create:task", "target": "task"})
    rq.start(store, old["id"], 30)
    rq.finish(store, old["id"])
    store.update("requests", old["id"], lambda d: d.update(expiry_date="2000-01-01T00:00:00.000000Z"))
    assert rq.find(store, "a") is None
    rq.create(store, "b", 1, {"type": "create:task", "target": "task"})
    assert store.get("requests", old["id"]) is None


def test_build_of_a_deleted_task_fails_cleanly(tmp_path):
    import os

    import settings as settings_module
    from domain import task_data, tasks as task_ops
    from storage.layout import Layout
    from workers.data_tasks import create_task_data_now
    settings = settings_module.load({**os.environ, "CVAT_STORAGE_DIR": str(tmp_path / "s"),
                                     "CVAT_SHARE_DIR": str(tmp_path)})
    layout = Layout(settings.storage_dir)
    store = TinyDBStore(layout.db)
    store.insert("users", {"id": 1, "username": "u"})
    task = task_ops.create_task(store, {"id": 1}, {"name": "t"}, lambda p: True)
    task_data.begin_upload(store, layout, task["id"])
    png = io.BytesIO()
    Image.new("RGB", (8, 8)).save(png, format="PNG")
    task_data.add_upload(layout, task["id"], "/a/b/x.png", lambda p: p.write_bytes(png.getvalue()))
    assert task_data.uploaded_names(layout, task["id"]) == ["x.png"]
    sent = []
    rq_id = task_data.submit(store, layout, settings, task["id"], {"id": 1}, {"image_quality": 70},
                             lambda *args: sent.append(args))
    task_ops.delete_task(store, layout, task["id"])
    create_task_data_now(store, layout, settings, *sent[0])
    request = rq.find(store, rq_id)
    assert request["status"] == "failed" and "deleted" in request["message"]
    assert not layout.task_dir(task["id"]).exists()
