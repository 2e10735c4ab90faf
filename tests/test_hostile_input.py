"""Hostile input end to end: every attack is refused with a clear 4xx or a
failed request with a message, changes nothing, and nothing is written
outside CVAT_STORAGE_DIR."""
from __future__ import annotations

import io
import json
import stat
import tarfile
import zipfile

import pytest
import requests
from cvat_sdk import make_client, models
from cvat_sdk.core.exceptions import BackgroundRequestException
from PIL import Image

from tests.stack import ADMIN, Stack

LIMITS = {"CVAT_ARCHIVE_MAX_BYTES": str(8 << 20), "CVAT_IMAGE_MAX_PIXELS": str(4_000_000),
          "CVAT_MAX_REQUEST_BYTES": str(16 << 20)}


@pytest.fixture(scope="module")
def hostile():
    stack = Stack(extra_env=LIMITS).start()
    before = {p for p in stack.tmp.rglob("*") if "storage" not in p.parts and "logs" not in p.parts}
    with make_client(stack.url, credentials=ADMIN) as sdk:
        sdk.config.status_check_period = 0.1
        yield stack, sdk
    after = {p for p in stack.tmp.rglob("*") if "storage" not in p.parts and "logs" not in p.parts}
    stack.close()
    assert after - before == set(), f"written outside the storage directory: {after - before}"


def _png(size=(16, 16)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (10, 20, 30)).save(buf, format="PNG")
    return buf.getvalue()


def _task_with_data(sdk, tmp_path):
    img = tmp_path / "ok.png"
    img.write_bytes(_png())
    return sdk.tasks.create_from_data(models.TaskWriteRequest(name="target", labels=[{"name": "car"}]),
                                      resources=[img])


def _fails_with(sdk, path, fragment):
    task = sdk.tasks.create(models.TaskWriteRequest(name="hostile", labels=[{"name": "car"}]))
    with pytest.raises(BackgroundRequestException) as e:
        task.upload_data([str(path)])
    assert fragment in str(e.value).lower(), str(e.value)
    _, raw = sdk.api_client.tasks_api.retrieve(task.id, _parse_response=False)
    assert "size" not in json.loads(raw.data), "the task was left without data"
    return task


def test_xml_entity_attack_in_annotations(hostile, tmp_path):
    stack, sdk = hostile
    task = _task_with_data(sdk, tmp_path)
    bomb = tmp_path / "annotations.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
                    '<annotations><version>1.1</version><image id="0" name="ok.png" width="16" height="16">'
                    '<tag label="&lol2;" source="manual"></tag></image></annotations>')
    with pytest.raises(BackgroundRequestException) as e:
        task.import_annotations("CVAT 1.1", bomb)
    assert "entit" in str(e.value).lower() or "dtd" in str(e.value).lower(), str(e.value)
    assert task.get_annotations().tags == []


def test_zip_slip_and_symlink_members_in_imports(hostile, tmp_path):
    stack, sdk = hostile
    task = _task_with_data(sdk, tmp_path)
    slip = tmp_path / "slip.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("annotations.xml", "<annotations/>")
        z.writestr("../../../outside.txt", "gotcha")
    with pytest.raises(BackgroundRequestException) as e:
        task.import_annotations("CVAT 1.1", slip)
    assert "outside" in str(e.value).lower() or "slip" in str(e.value).lower()
    link = tmp_path / "link.zip"
    with zipfile.ZipFile(link, "w") as z:
        info = zipfile.ZipInfo("annotations.xml")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        z.writestr(info, "/etc/passwd")
    with pytest.raises(BackgroundRequestException) as e:
        task.import_annotations("CVAT 1.1", link)
    assert "link" in str(e.value).lower()


def test_media_archives_with_links_slips_and_bombs(hostile, tmp_path):
    stack, sdk = hostile
    hard = tmp_path / "hard.tar"
    with tarfile.open(hard, "w") as t:
        data = _png()
        info = tarfile.TarInfo("a.png")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("b.png")
        link.type = tarfile.LNKTYPE
        link.linkname = "/etc/passwd"
        t.addfile(link)
    _fails_with(sdk, hard, "link")
    slip = tmp_path / "slip_media.zip"
    with zipfile.ZipFile(slip, "w") as z:
        z.writestr("a.png", _png())
        z.writestr("/abs/b.png", _png())
    _fails_with(sdk, slip, "/abs/b.png")
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("a.png", _png())
        z.writestr("zeros.bin", b"\0" * (20 << 20))   # 20 MiB of zeros packs into ~20 KiB
    _fails_with(sdk, bomb, "bomb.zip")


def test_decompression_bomb_image(hostile, tmp_path):
    stack, sdk = hostile
    big = tmp_path / "huge.png"
    Image.new("1", (4000, 2000)).save(big)   # 8 Mpx > the 4 Mpx limit of this stack, tiny on disk
    _fails_with(sdk, big, "huge.png")


def test_server_files_cannot_leave_the_share(hostile):
    stack, _ = hostile
    s = requests.Session()
    s.auth = ADMIN
    task = s.post(stack.url + "/api/tasks", json={"name": "share", "labels": [{"name": "a"}]}).json()
    for name in ("../../etc/passwd", "/etc/passwd"):
        r = s.post(stack.url + f"/api/tasks/{task['id']}/data/", json={"server_files": [name], "image_quality": 70})
        assert r.status_code == 400, (name, r.status_code, r.text)
    (stack.share / "escape").symlink_to("/etc")
    r = s.post(stack.url + f"/api/tasks/{task['id']}/data/", json={"server_files": ["escape/passwd"],
                                                                   "image_quality": 70})
    assert r.status_code == 400
    assert s.get(stack.url + "/api/server/share?directory=escape").status_code == 400
    (stack.share / "escape").unlink()


def test_oversized_bodies(hostile):
    stack, _ = hostile
    s = requests.Session()
    s.auth = ADMIN
    r = s.post(stack.url + "/api/projects", data=b'{"name": "' + b"x" * (17 << 20) + b'"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["detail"]
    task = s.post(stack.url + "/api/tasks", json={"name": "tus", "labels": [{"name": "a"}]}).json()
    r = s.post(stack.url + f"/api/tasks/{task['id']}/data/", headers={
        "Tus-Resumable": "1.0.0", "Upload-Length": str(1 << 50), "Upload-Metadata": "filename YS5wbmc="})
    assert r.status_code == 413
