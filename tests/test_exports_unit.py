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
