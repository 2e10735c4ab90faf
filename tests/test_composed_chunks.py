"""Composed chunks: zips laid out from byte ranges of kept files must read as
the zips chunks.write_zip writes (zipfile, CRCs, seeking, exact length)."""
from __future__ import annotations

import io
import os
import zipfile
import zlib

import pytest

from storage import composed
from workers.media import chunks


@pytest.fixture
def base(tmp_path):
    (tmp_path / "chunks" / "original").mkdir(parents=True)
    (tmp_path / "upload").mkdir()
    return tmp_path


def _members(base, sizes):
    out = []
    for i, size in enumerate(sizes):
        body = os.urandom(size)
        path = base / "upload" / f"f{i}.jpg"
        path.write_bytes(b"HEAD" + body + b"TAIL")   # the member is a range inside the file
        out.append((chunks.member_name(i, "jpg"), path, 4, size, zlib.crc32(body), body))
    return out


def test_zip_plan_reads_like_the_written_zip(base):
    members = _members(base, [10, 70_000, 1, 300_000])
    chunk = base / "chunks" / "original" / "0.zip"
    composed.write_zip_plan(chunk, base, [m[:5] for m in members])
    assert not chunk.exists() and composed.exists(chunk)
    layout = composed.Layout(chunk)
    body = b"".join(layout.stream(block=4096))
    assert len(body) == layout.size
    with zipfile.ZipFile(io.BytesIO(body)) as zf:
        assert zf.testzip() is None
        assert [i.filename for i in zf.infolist()] == [m[0] for m in members]
        assert [zf.read(m[0]) for m in members] == [m[5] for m in members]
    with composed.open_chunk(chunk) as f, zipfile.ZipFile(f) as zf:   # the seekable reader
        assert zf.read(members[3][0]) == members[3][5]
        assert zf.read(members[0][0]) == members[0][5]
        assert chunks.read_member(chunk, 1) == (members[1][5], "jpg")


def test_a_changed_source_fails_the_crc(base):
    members = _members(base, [1000])
    chunk = base / "chunks" / "original" / "0.zip"
    composed.write_zip_plan(chunk, base, [m[:5] for m in members])
    path = members[0][1]
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))
    with composed.open_chunk(chunk) as f, zipfile.ZipFile(f) as zf, pytest.raises(zipfile.BadZipFile):
        zf.read(members[0][0])


def test_range_plan_is_the_bytes_of_the_range(base):
    inner = base / "inner.zip"
    chunks.write_zip(inner, [(b"x" * 5000, "jpeg"), (b"y" * 7, "jpeg")])
    archive = base / "upload" / "backup.bin"
    archive.write_bytes(b"P" * 123 + inner.read_bytes() + b"S" * 9)
    chunk = base / "chunks" / "original" / "3.zip"
    composed.write_range_plan(chunk, base, archive, 123, inner.stat().st_size)
    layout = composed.Layout(chunk)
    assert layout.single_range() == (archive.resolve(), 123, inner.stat().st_size)
    assert b"".join(layout.stream()) == inner.read_bytes()
    assert chunks.read_member(chunk, 1) == (b"y" * 7, "jpeg")


def test_a_plan_cannot_point_outside_its_task(base, tmp_path_factory):
    outside = tmp_path_factory.mktemp("elsewhere") / "secret"
    outside.write_bytes(b"secret")
    chunk = base / "chunks" / "original" / "0.zip"
    composed.plan_path(chunk).write_bytes(b'{"range": ["../%s", 0, 6]}' % str(outside).encode())
    with pytest.raises(ValueError):
        composed.Layout(chunk)


def test_composable_refuses_what_needs_zip64():
    assert composed.composable([("000000.jpg", 10)])
    assert not composed.composable([("000000.jpg", 2**32)])
