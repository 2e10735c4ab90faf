"""Export archives: reuse while fresh, expiry, purge of abandoned uploads."""
from __future__ import annotations

import os
import re
import time

from domain import exports
from storage.layout import Layout


def test_archives_expire_and_purge(tmp_path):
    layout = Layout(tmp_path)
    archives = exports.Archives(layout, ttl=60)
    tmp = archives.writing("k1")
    tmp.write_bytes(b"zip")
    path = archives.commit(tmp, "k1")
    assert archives.fresh("k1") == path
    old = time.time() - 120
    os.utime(path, (old, old))
    assert archives.fresh("k1") is None
    staged = exports.stage_upload(layout, "../../evil name.zip", lambda p: p.write_bytes(b"x"))
    assert staged.parent.parent == layout.imports and staged.name == "evil_name.zip"
    os.utime(staged.parent, (time.time() - 2 * 86400,) * 2)
    assert exports.purge(layout, ttl=60) == 2
    assert not path.exists() and not staged.parent.exists()


def test_content_key_changes_with_content():
    assert exports.content_key("a", {"x": 1}) == exports.content_key("a", {"x": 1})
    assert exports.content_key("a", {"x": 1}) != exports.content_key("a", {"x": 2})


def test_download_names_are_safe():
    name = exports.download_name("task", "my/../task: ünïcode", "backup")
    assert re.fullmatch(r"task_my_[a-z0-9_.-]+_backup_\d{4}(_\d\d){5}\.zip", name), name
    assert exports.safe_filename("../../etc/passwd", "d.zip") == "passwd"
    assert exports.safe_filename(None, "d.zip") == "d.zip"


def test_same_request_while_active_is_409(tmp_path):
    import pytest

    from domain import requests as rq
    from domain.errors import Conflict
    from storage.documents import TinyDBStore
    store = TinyDBStore(tmp_path)
    first = rq.create(store, "action=export&target=task&target_id=1", 1, {"type": "export:dataset"})
    with pytest.raises(Conflict):
        rq.create(store, "action=export&target=task&target_id=1", 1, {"type": "export:dataset"})
    rq.start(store, first["id"], 30)
    rq.finish(store, first["id"], result_url="x")
    again = rq.create(store, "action=export&target=task&target_id=1", 1, {"type": "export:dataset"})
    assert again["status"] == "queued" and again["id"] != first["id"], "a finished one is replaced"


def _planned(archives, key: str, source, members: dict[str, bytes]):
    from workers import zip_out
    tmp = archives.writing(key)
    planned = zip_out.PlannedZip(tmp)
    offset = 0
    for name, body in members.items():
        planned.add_range(name, source, offset, len(body))
        offset += len(body)
    planned.writestr("meta.json", b'{"a": 1}')
    planned.close()
    return archives.commit_plan(tmp, key, planned.write_plan)


def test_a_planned_archive_reads_as_a_zip_and_outlives_its_sources(tmp_path):
    """The plan pins its sources by hard link: deleting (or replacing) the
    source after the export leaves the archive's bytes as they were."""
    import io
    import zipfile
    layout = Layout(tmp_path)
    archives = exports.Archives(layout, ttl=60)
    members = {"data/a.bin": os.urandom(3000), "data/b.bin": b"b" * 70000}
    source = tmp_path / "source.bin"
    source.write_bytes(b"".join(members.values()))
    plan = _planned(archives, "k2", source, members)
    assert archives.fresh("k2") == plan
    source.unlink()
    source.write_bytes(b"x" * 73000)
    body = b"".join(archives.layout("k2").stream(4096))
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.testzip() is None
        assert {n: zf.read(n) for n in zf.namelist()} == {**members, "meta.json": b'{"a": 1}'}


def test_expired_plans_go_with_their_parts(tmp_path):
    layout = Layout(tmp_path)
    archives = exports.Archives(layout, ttl=60)
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    plan = _planned(archives, "k3", source, {"a": b"abc"})
    orphan = archives.parts("k4")
    orphan.mkdir()
    old = time.time() - 7 * 3600
    os.utime(plan, (old, old))
    os.utime(orphan, (old, old))
    assert archives.fresh("k3") is None
    assert archives.cleanup() == 2
    assert not plan.exists() and not archives.parts("k3").exists() and not orphan.exists()
    assert source.read_bytes() == b"abc"


def test_a_plan_needs_hard_links(tmp_path, monkeypatch):
    """Without hard links (another file system) the writer says so; the
    backup export then writes the zip (workers.backups.export)."""
    import pytest
    from workers import zip_out

    def no_links(*a):
        raise OSError(18, "Invalid cross-device link")
    monkeypatch.setattr(zip_out.os, "link", no_links)
    source = tmp_path / "source.bin"
    source.write_bytes(b"abc")
    planned = zip_out.PlannedZip(tmp_path / "parts")
    with pytest.raises(zip_out.NotPlannable, match="link"):
        planned.add_range("a", source, 0, 3)


def test_a_download_keeps_its_parts_until_it_ends(tmp_path):
    """A download lays the archive out lazily from its parts: neither expiry
    nor a re-export of the same key may remove them while it streams."""
    import gc
    import io
    import zipfile
    layout = Layout(tmp_path)
    archives = exports.Archives(layout, ttl=60)
    members = {"data/a.bin": os.urandom(50000), "data/b.bin": os.urandom(50000)}
    source = tmp_path / "source.bin"
    source.write_bytes(b"".join(members.values()))
    plan = _planned(archives, "k5", source, members)
    pinned = archives.pinned_layout("k5")
    stream = pinned.stream(4096)
    head = next(stream)
    old = time.time() - 7 * 3600
    os.utime(plan, (old, old))
    assert archives.fresh("k5") is None
    assert archives.cleanup() == 0 and plan.exists()
    other = tmp_path / "other.bin"
    other.write_bytes(os.urandom(100000))
    assert _planned(archives, "k5", other, members) == plan, "the archive being read is kept"
    assert archives.fresh("k5") == plan, "and refreshed, since the same key is the same content"
    with zipfile.ZipFile(io.BytesIO(head + b"".join(stream))) as zf:
        assert {n: zf.read(n) for n in members} == members
    assert not [p for p in archives.root.iterdir() if p.name.endswith(".tmp")], "the new parts went"
    del pinned, stream
    gc.collect()
    os.utime(plan, (old, old))
    assert archives.cleanup() == 1
    assert not plan.exists() and not archives.parts("k5").exists()
