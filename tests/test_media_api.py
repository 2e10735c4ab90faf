"""Task data over raw HTTP against the real stack: the requests API, TUS,
every refused input, conditional GETs, job data and data/meta edits."""
from __future__ import annotations

import base64
import io
import tarfile
import time
import zipfile

import pytest
from PIL import Image


def _task(session, stack, name="t", **kw):
    r = session.post(stack.url + "/api/tasks", json={"name": name, "labels": [{"name": "car"}], **kw})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _wait(session, stack, rq_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = session.get(f"{stack.url}/api/requests/{rq_id}")
        assert r.status_code == 200, r.text
        if r.json()["status"] in ("finished", "failed"):
            return r.json()
        time.sleep(0.1)
    raise AssertionError(f"request {rq_id} did not end")


def _upload(session, stack, task_id, files: dict, **data):
    """One-shot multipart upload: {name: bytes}."""
    multipart = {f"client_files[{i}]": (name, body) for i, (name, body) in enumerate(files.items())}
    form = {"image_quality": str(data.pop("image_quality", 70)), **{k: str(v) for k, v in data.items()}}
    r = session.post(f"{stack.url}/api/tasks/{task_id}/data/", files=multipart, data=form)
    return r


def _png(i=0, size=(16, 16)):
    buf = io.BytesIO()
    Image.new("RGB", size, (i * 20 % 256, 0, 0)).save(buf, format="PNG")
    return buf.getvalue()


def _create(session, stack, files, **data):
    task_id = _task(session, stack)
    r = _upload(session, stack, task_id, files, **data)
    assert r.status_code == 202, r.text
    return task_id, _wait(session, stack, r.json()["rq_id"])


def test_one_shot_upload_and_requests_api(admin_session, stack):
    task_id, request = _create(admin_session, stack, {f"/abs/path/f{i}.png": _png(i) for i in range(3)})
    assert request["status"] == "finished" and request["progress"] == 1.0 and request["message"] == ""
    assert request["operation"]["type"] == "create:task" and request["operation"]["task_id"] == task_id
    assert request["owner"]["username"] == "admin"
    names = [f["name"] for f in admin_session.get(f"{stack.url}/api/tasks/{task_id}/data/meta").json()["frames"]]
    assert names == ["f0.png", "f1.png", "f2.png"]
    listed = admin_session.get(f"{stack.url}/api/requests", params={"task_id": task_id}).json()
    assert [r["id"] for r in listed["results"]] == [request["id"]]
    assert admin_session.get(f"{stack.url}/api/requests", params={"task_id": task_id, "status": "failed"}
                             ).json()["count"] == 0
    assert admin_session.get(f"{stack.url}/api/requests", params={"action": "create", "target": "task"}
                             ).json()["count"] >= 1
    r = admin_session.get(f"{stack.url}/api/requests/nope")
    assert r.status_code == 404
    r = admin_session.post(f"{stack.url}/api/requests/{request['id']}/cancel")
    assert r.status_code == 400
    status = admin_session.get(f"{stack.url}/api/tasks/{task_id}/status")
    assert status.json()["state"] == "Finished" and status.headers["Deprecation"] == "true"
    # data can be attached once
    again = _upload(admin_session, stack, task_id, {"x.png": _png()})
    assert again.status_code == 400 and "Adding more data is not supported" in again.text


def test_conditional_get_and_content_types(admin_session, stack):
    task_id, _ = _create(admin_session, stack, {f"f{i}.png": _png(i) for i in range(3)})
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    chunk = admin_session.get(url, params={"type": "chunk", "number": 0, "quality": "compressed"})
    assert chunk.status_code == 200 and chunk.headers["Content-Type"] == "application/zip"
    assert chunk.headers["ETag"] and chunk.headers["Last-Modified"] and chunk.headers["X-Updated-Date"]
    again = admin_session.get(url, params={"type": "chunk", "number": 0, "quality": "compressed"},
                              headers={"If-None-Match": chunk.headers["ETag"]})
    assert again.status_code == 304 and again.content == b""
    frame = admin_session.get(url, params={"type": "frame", "number": 1, "quality": "original"})
    assert frame.headers["Content-Type"] == "image/png" and frame.content == _png(1)
    frame = admin_session.get(url, params={"type": "frame", "number": 1})
    assert frame.headers["Content-Type"] == "image/jpeg"
    assert admin_session.get(url, params={"type": "frame", "number": 1},
                             headers={"If-None-Match": frame.headers["ETag"]}).status_code == 304
    preview = admin_session.get(f"{stack.url}/api/tasks/{task_id}/preview")
    assert preview.headers["Content-Type"] == "image/jpeg"
    for params, text in [({"type": "nope"}, "Data type"), ({"type": "frame"}, "Number is not specified"),
                         ({"type": "frame", "number": 3}, "Invalid frame"),
                         ({"type": "chunk", "number": 1}, "Invalid chunk number"),
                         ({"type": "frame", "number": 0, "quality": "best"}, "quality")]:
        r = admin_session.get(url, params=params)
        assert r.status_code == 400 and text in r.text, (params, r.text)
    assert admin_session.get(url, params={"type": "context_image", "number": 0}).status_code == 404
    empty = _task(admin_session, stack)
    assert admin_session.get(f"{stack.url}/api/tasks/{empty}/preview",
                             headers={"Prefer": "handling=empty"}).status_code == 204


def test_job_data_and_meta(admin_session, stack):
    task_id = _task(admin_session, stack, segment_size=3)
    r = _upload(admin_session, stack, task_id, {f"f{i}.png": _png(i) for i in range(8)}, chunk_size=2)
    assert _wait(admin_session, stack, r.json()["rq_id"])["status"] == "finished"
    jobs = sorted(admin_session.get(f"{stack.url}/api/jobs", params={"task_id": task_id}).json()["results"],
                  key=lambda j: j["start_frame"])
    assert [(j["start_frame"], j["stop_frame"]) for j in jobs] == [(0, 2), (3, 5), (6, 7)]
    job = jobs[1]
    url = f"{stack.url}/api/jobs/{job['id']}/data"
    chunk = admin_session.get(url, params={"type": "chunk", "index": 0, "quality": "original"})
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as zf:
        assert [zf.read(n) for n in zf.namelist()] == [_png(3), _png(4)]
        assert zf.namelist() == ["000000.png", "000001.png"]
    chunk = admin_session.get(url, params={"type": "chunk", "index": 1, "quality": "original"})
    with zipfile.ZipFile(io.BytesIO(chunk.content)) as zf:
        assert [zf.read(n) for n in zf.namelist()] == [_png(5)]
    assert admin_session.get(url, params={"type": "chunk", "index": 0, "number": 1}).status_code == 400
    assert admin_session.get(url, params={"type": "frame", "number": 6}).status_code == 400
    assert admin_session.get(url, params={"type": "frame", "number": 4, "quality": "original"}).content == _png(4)
    meta = admin_session.get(f"{url}/meta").json()
    assert meta["size"] == 3 and [f["name"] for f in meta["frames"]] == ["f3.png", "f4.png", "f5.png"]
    task_meta = f"{stack.url}/api/tasks/{task_id}/data/meta"
    assert admin_session.patch(task_meta, json={"deleted_frames": [1, 1]}).status_code == 400
    assert admin_session.patch(task_meta, json={"deleted_frames": [8]}).status_code == 400
    assert admin_session.patch(task_meta, json={"deleted_frames": [7, 1]}).json()["deleted_frames"] == [1, 7]
    assert admin_session.patch(f"{url}/meta", json={"deleted_frames": [0]}).status_code == 400
    assert admin_session.patch(f"{url}/meta", json={"deleted_frames": [4]}).json()["deleted_frames"] == [4]
    assert admin_session.get(task_meta).json()["deleted_frames"] == [1, 4, 7]


def _tus_create(session, stack, task_id, name, length):
    return session.post(f"{stack.url}/api/tasks/{task_id}/data/", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(length),
        "Upload-Metadata": "filename " + base64.b64encode(name.encode()).decode()})


def test_tus_interrupted_and_resumed(admin_session, stack):
    body = _png(5, size=(300, 200))
    task_id = _task(admin_session, stack)
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    assert admin_session.post(url, headers={"Upload-Start": ""}).status_code == 202
    created = _tus_create(admin_session, stack, task_id, "big.png", len(body))
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location.startswith("http://") and created.headers["Upload-Filename"] == "big.png"
    half = len(body) // 2
    r = admin_session.patch(location, data=body[:half], headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(half)
    # the client lost track: a wrong offset is refused with the real one
    r = admin_session.patch(location, data=body[half:], headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 409 and r.headers["Upload-Offset"] == str(half)
    head = admin_session.head(location, headers={"Tus-Resumable": "1.0.0"})
    assert head.status_code == 200 and head.headers["Upload-Offset"] == str(half)
    assert head.headers["Upload-Length"] == str(len(body))
    r = admin_session.patch(location, data=body[half:], headers={
        "Tus-Resumable": "1.0.0", "Upload-Offset": str(half), "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204 and r.headers["Upload-Offset"] == str(len(body))
    dup = _tus_create(admin_session, stack, task_id, "big.png", len(body))
    assert dup.status_code == 409
    finish = admin_session.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    assert finish.status_code == 202
    assert _wait(admin_session, stack, finish.json()["rq_id"])["status"] == "finished"
    frame = admin_session.get(url, params={"type": "frame", "number": 0, "quality": "original"})
    assert frame.content == body


def test_tus_refusals(admin_session, stack):
    task_id = _task(admin_session, stack)
    assert _tus_create(admin_session, stack, task_id, "x.png", 10**15).status_code == 413
    assert _tus_create(admin_session, stack, task_id, "../x.png", 10).status_code == 400
    r = admin_session.post(f"{stack.url}/api/tasks/{task_id}/data/",
                           headers={"Tus-Resumable": "1.0.0", "Upload-Length": "10"})
    assert r.status_code == 400
    missing = f"{stack.url}/api/tasks/{task_id}/data/1_00000000-0000-0000-0000-000000000000"
    assert admin_session.head(missing).status_code == 404


def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, body in members.items():
            zf.writestr(name, body)
    return buf.getvalue()


def _tar(add) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        add(tf)
    return buf.getvalue()


def _tar_symlink(tf):
    info = tarfile.TarInfo("link.png")
    info.type = tarfile.SYMTYPE
    info.linkname = "/etc/passwd"
    tf.addfile(info)


def _tar_absolute(tf):
    body = _png()
    info = tarfile.TarInfo("/tmp/evil.png")
    info.size = len(body)
    tf.addfile(info, io.BytesIO(body))


def _zip_symlink() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("link.png")
        info.external_attr = (0o120777 << 16)
        zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize("files,needle", [
    ({"slip.zip": _zip({"../../evil.png": _png()})}, "slip.zip"),
    ({"abs.tar.gz": _tar(_tar_absolute)}, "abs.tar.gz"),
    ({"link.tar.gz": _tar(_tar_symlink)}, "link.tar.gz"),
    ({"zlink.zip": _zip_symlink()}, "zlink.zip"),
    ({"broken.jpg": b"\xff\xd8\xff\xe0 not really a jpeg"}, "broken.jpg"),
    ({"ok.png": _png(), "notes.txt": b"hello"}, "notes.txt"),
    ({"clip.mp4": b"\x00\x00\x00\x18ftypmp42 garbage" * 10}, "clip.mp4"),
    ({"a.png": _png(), "clip.mp4": b"x"}, "video"),
    ({"empty.zip": _zip({})}, "No media"),
])
def test_bad_media_fails_and_task_can_take_data_again(admin_session, stack, files, needle):
    task_id = _task(admin_session, stack)
    r = _upload(admin_session, stack, task_id, files)
    assert r.status_code == 202, r.text
    request = _wait(admin_session, stack, r.json()["rq_id"])
    assert request["status"] == "failed" and needle in request["message"], request["message"]
    assert "Traceback" not in request["message"]
    task = admin_session.get(f"{stack.url}/api/tasks/{task_id}").json()
    assert "size" not in task or task["size"] == 0
    assert admin_session.get(f"{stack.url}/api/jobs", params={"task_id": task_id}).json()["count"] == 0
    r = _upload(admin_session, stack, task_id, {"good.png": _png()})
    assert r.status_code == 202
    assert _wait(admin_session, stack, r.json()["rq_id"])["status"] == "finished"
    assert admin_session.get(f"{stack.url}/api/tasks/{task_id}").json()["size"] == 1


@pytest.mark.parametrize("data,field", [
    ({"image_quality": 101}, "image_quality"),
    ({"frame_filter": "every=2"}, "frame_filter"),
    ({"start_frame": 5, "stop_frame": 2}, "stop_frame"),
    ({"sorting_method": "backwards"}, "sorting_method"),
    ({"chunk_size": 0}, "chunk_size"),
    ({"server_files": ["../../etc/passwd"]}, "invalid"),
    ({"server_files": ["missing.png"]}, "server_files"),
    ({"remote_files": ["file:///etc/passwd"]}, "remote_files"),
    ({"upload_file_order": ["nope.png"], "sorting_method": "predefined"}, "upload_file_order"),
])
def test_bad_request_is_refused_and_changes_nothing(admin_session, stack, data, field):
    task_id = _task(admin_session, stack)
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    if "server_files" in data or "remote_files" in data:
        r = admin_session.post(url, json={"image_quality": 70, **data})
    else:
        admin_session.post(url, headers={"Upload-Start": ""})
        admin_session.post(url, headers={"Upload-Multiple": ""}, files={"client_files[0]": ("a.png", _png())},
                           data={"image_quality": "70"})
        r = admin_session.post(url, headers={"Upload-Finish": ""}, json={"image_quality": 70, **data})
    assert r.status_code == 400 and field in r.text, r.text
    assert admin_session.get(f"{stack.url}/api/requests", params={"task_id": task_id}).json()["count"] == 0
    assert "size" not in admin_session.get(f"{stack.url}/api/tasks/{task_id}").json()


def test_share_symlink_escape_refused(admin_session, stack, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(_png())
    (stack.share / "escape.png").symlink_to(outside)
    task_id = _task(admin_session, stack)
    r = admin_session.post(f"{stack.url}/api/tasks/{task_id}/data/",
                           json={"image_quality": 70, "server_files": ["escape.png"]})
    assert r.status_code == 400


def test_manifest_gives_predefined_order(admin_session, stack):
    manifest = '{"version":"1.1"}\n{"type":"images"}\n' + "".join(
        f'{{"name":"{n}","extension":".png","width":16,"height":16}}\n' for n in ("c", "a", "b"))
    files = {"a.png": _png(1), "b.png": _png(2), "c.png": _png(3), "index.jsonl": manifest.encode()}
    task_id, request = _create(admin_session, stack, files, sorting_method="predefined")
    assert request["status"] == "finished", request["message"]
    frames = admin_session.get(f"{stack.url}/api/tasks/{task_id}/data/meta").json()["frames"]
    assert [f["name"] for f in frames] == ["c.png", "a.png", "b.png"]


def test_upload_options_and_status_while_queued(admin_session, stack):
    task_id = _task(admin_session, stack)
    r = admin_session.options(f"{stack.url}/api/tasks/{task_id}/data/")
    assert r.status_code == 204 and r.headers["Tus-Version"] == "1.0.0" and "Tus-Max-Size" in r.headers
    status = admin_session.get(f"{stack.url}/api/tasks/{task_id}/status").json()
    assert status["state"] == "Finished"


def test_context_images_from_archive(admin_session, stack):
    archive = _zip({"scene/a.png": _png(1), "scene/b.png": _png(2),
                    "scene/related_images/a_png/left.png": _png(7, size=(8, 6)),
                    "scene/related_images/a_png/right.jpg": _png(8, size=(8, 6))})
    task_id, request = _create(admin_session, stack, {"pack.zip": archive})
    assert request["status"] == "finished", request["message"]
    frames = admin_session.get(f"{stack.url}/api/tasks/{task_id}/data/meta").json()["frames"]
    assert [(f["name"], f["related_files"], f["has_related_context"]) for f in frames] == [
        ("scene/a.png", 2, True), ("scene/b.png", 0, False)]
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    r = admin_session.get(url, params={"type": "context_image", "number": 0})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as zf:
        assert zf.namelist() == ["left.jpg", "right.jpg"]
        assert Image.open(io.BytesIO(zf.read("left.jpg"))).size == (8, 6)
    assert admin_session.get(url, params={"type": "context_image", "number": 1}).status_code == 404


def test_share_video_removed_later_gives_a_readable_error(admin_session, stack):
    from tests.media_helpers import make_video
    path = make_video(stack.share / "gone" / "v.mp4", 6)
    task_id = _task(admin_session, stack)
    r = admin_session.post(f"{stack.url}/api/tasks/{task_id}/data/",
                           json={"image_quality": 70, "server_files": ["gone/v.mp4"]})
    assert _wait(admin_session, stack, r.json()["rq_id"])["status"] == "finished"
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    assert admin_session.get(url, params={"type": "frame", "number": 2}).status_code == 200
    path.unlink()
    r = admin_session.get(url, params={"type": "frame", "number": 2, "quality": "original"})
    assert r.status_code == 500 and "v.mp4" in r.json()["detail"]


def test_upload_names_duplicates_and_share_links(admin_session, stack, tmp_path):
    task_id = _task(admin_session, stack)
    url = f"{stack.url}/api/tasks/{task_id}/data/"
    assert admin_session.post(url, headers={"Upload-Start": ""}).status_code == 202
    r = admin_session.post(url, headers={"Upload-Multiple": ""}, data={"image_quality": "70"},
                           files={"client_files[0]": ("C:\\Users\\me\\b.png", _png(2)),
                                  "client_files[1]": ("/home/me/a.png", _png(1))})
    assert r.status_code == 200
    dup = admin_session.post(url, headers={"Upload-Multiple": ""}, data={"image_quality": "70"},
                             files={"client_files[0]": ("c.png", _png(3)), "client_files[1]": ("x/a.png", _png(4))})
    assert dup.status_code == 409
    finish = admin_session.post(url, headers={"Upload-Finish": ""},
                                json={"image_quality": 70, "sorting_method": "predefined"})
    assert _wait(admin_session, stack, finish.json()["rq_id"])["status"] == "finished"
    frames = admin_session.get(f"{url}meta").json()["frames"]
    assert [f["name"] for f in frames] == ["b.png", "a.png"]  # arrival order; the refused request left nothing
    assert admin_session.get(url, params={"type": "frame", "number": 1, "quality": "original"}).content == _png(1)

    outside = tmp_path / "secret.png"
    outside.write_bytes(_png(9))
    (stack.share / "linked").mkdir()
    (stack.share / "linked" / "ok.png").write_bytes(_png(5))
    (stack.share / "linked" / "evil.png").symlink_to(outside)
    task_id = _task(admin_session, stack)
    r = admin_session.post(f"{stack.url}/api/tasks/{task_id}/data/",
                           json={"image_quality": 70, "server_files": ["linked/"]})
    assert _wait(admin_session, stack, r.json()["rq_id"])["status"] == "finished"
    frames = admin_session.get(f"{stack.url}/api/tasks/{task_id}/data/meta").json()["frames"]
    assert [f["name"] for f in frames] == ["linked/ok.png"]


@pytest.fixture(scope="module")
def bomb_png():
    buf = io.BytesIO()
    Image.new("1", (15000, 15000)).save(buf, format="PNG")  # 225 Mpx in 27 KB
    return buf.getvalue()


def test_decompression_bomb_and_missing_remote_fail_by_name(admin_session, stack, bomb_png):
    task_id = _task(admin_session, stack)
    r = _upload(admin_session, stack, task_id, {"ok.png": _png(), "bomb.png": bomb_png})
    request = _wait(admin_session, stack, r.json()["rq_id"])
    assert request["status"] == "failed" and "bomb.png is too large" in request["message"]
    r = admin_session.post(f"{stack.url}/api/tasks/{task_id}/data/", json={
        "image_quality": 70, "remote_files": [f"{stack.url}/api/static/nope.png"]})
    request = _wait(admin_session, stack, r.json()["rq_id"])
    assert request["status"] == "failed" and "nope.png" in request["message"]
    assert "size" not in admin_session.get(f"{stack.url}/api/tasks/{task_id}").json()
