"""The streamed multipart reader against urllib3's encoder (what cvat-sdk uses)."""
from __future__ import annotations

import io
import os

import pytest
import urllib3
from werkzeug.exceptions import BadRequest

from server import multipart


@pytest.mark.parametrize("read", [7, 64, 1 << 20])
def test_parts_and_fields_survive_any_read_size(monkeypatch, read):
    monkeypatch.setattr(multipart, "READ", read)
    files = {f"client_files[{i}]": (f"/home/u/img {i}.jpg", os.urandom(n))
             for i, n in enumerate([0, 1, 1000, 70_000])}
    tricky = b"\r\n--" + b"x" * 10 + b"\r\n"  # looks like a boundary, is not
    files["client_files[4]"] = ("t.bin", tricky * 50)
    body, ctype = urllib3.encode_multipart_formdata({"image_quality": "70", **files, "server_files[0]": "a/b"})
    form = multipart.StreamedForm(io.BytesIO(body), ctype)
    got = [(field, name, b"".join(blocks)) for field, name, blocks in form.files()]
    assert got == [(k, v[0], v[1]) for k, v in files.items()]
    assert form.lists() == {"image_quality": ["70"], "server_files[0]": ["a/b"]}


def test_skipped_parts_and_malformed_bodies():
    body, ctype = urllib3.encode_multipart_formdata({"a": ("a.png", b"1" * 5000), "b": ("b.png", b"2")})
    form = multipart.StreamedForm(io.BytesIO(body), ctype)
    assert [name for _, name, _ in form.files()] == ["a.png", "b.png"]  # bodies never read
    with pytest.raises(BadRequest):
        list(multipart.StreamedForm(io.BytesIO(body[:-30]), ctype).files())
    with pytest.raises(BadRequest):
        multipart.StreamedForm(io.BytesIO(body), "application/json")


def test_windows_paths_keep_their_backslashes():
    body, ctype = urllib3.encode_multipart_formdata({"f": ("C:\\Users\\me\\b.png", b"1"),
                                                     "g": ('say "hi".png', b"2")})
    form = multipart.StreamedForm(io.BytesIO(body), ctype)
    assert [name for _, name, _ in form.files()] == ["C:\\Users\\me\\b.png", 'say "hi".png']
