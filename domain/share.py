"""The server share (CVAT_SHARE_DIR): read-only listing and path resolution.

Paths come from clients: every one is resolved (symlinks included) and must
stay inside the share root, so neither `..` nor a symlink leads out of it.
"""
from __future__ import annotations

import mimetypes
import os
from pathlib import Path

from domain.errors import Invalid

ARCHIVE_EXTENSIONS = {".zip", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".7z", ".rar"}


def resolve(root: Path, relative: str) -> Path:
    """The real path of `relative` inside `root`, or Invalid if it leaves the root."""
    root = Path(root).resolve()
    candidate = (root / relative.lstrip("/")).resolve()
    if candidate != root and root not in candidate.parents:
        raise Invalid(f"{relative} is an invalid directory")
    return candidate


def mime_type(path: Path) -> str:
    if path.suffix.lower() in ARCHIVE_EXTENSIONS:
        return "archive"
    guessed, _ = mimetypes.guess_type(path.name)
    if guessed is None:
        return "unknown"
    if guessed == "application/pdf":
        return "pdf"
    major = guessed.split("/")[0]
    return major if major in ("image", "video", "text") else "unknown"


def list_directory(root: Path, directory: str = "/", search: str = "") -> list[dict]:
    path = resolve(root, directory or "/")
    if not path.is_dir():
        raise Invalid(f"{directory} is an invalid directory")
    real_root = Path(root).resolve()
    entries = []
    for entry in os.scandir(path):
        if search and not entry.name.startswith(search):
            continue
        target = Path(entry.path)
        real = target.resolve()
        if real != real_root and real_root not in real.parents:
            continue  # a symlink pointing out of the share is not shown
        if real.is_dir():
            entries.append({"name": entry.name, "type": "DIR", "mime_type": "DIR"})
        elif real.is_file():
            entries.append({"name": entry.name, "type": "REG", "mime_type": mime_type(real)})
    entries.sort(key=lambda e: (e["type"] != "DIR", e["name"]))
    return entries
