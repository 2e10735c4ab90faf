"""Market-1501 1.0 — formats.md §5, as the fork's writer lays it out (market1501_format.py).

    images_<subset>.txt                one image path per frame
    bounding_box_<subset>/<name>       frames whose `query` is false (or unknown)
    query/<name>                       frames whose `query` is true
The item attributes `query`, `person_id`, `camera_id` come from a tag of label `market-1501`;
a frame name that is not already `<pid>_c<cam>…` becomes
`<pid:04d>_c<camera_id + 1>s1_000000_00<original name>`. Shapes and other tags are dropped.
Import creates that tag back (camera ids 0-based)."""
from __future__ import annotations

import posixpath
import re

from workers.formats import common
from workers.formats.model import FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id, subsets

LABEL = "market-1501"
PATTERN = re.compile(r"^(-?\d+)_c(\d+)(?:s\d+_\d+_00(.*))?")
IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif")


def _ext(frame: dict, video: bool) -> str:
    return ".PNG" if video else (posixpath.splitext(frame["name"])[1] or ".jpg")


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset, with_tracks=False)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            lines = []
            for frame in frames:
                ident = item_id(frame, video)
                attrs = {}
                for t in objects.tags.get(frame["frame"], ()):
                    if labels.name(t["label_id"]) == LABEL:
                        attrs = labels.typed_attributes(t["label_id"], t.get("attributes"))
                        break
                name = ident
                if PATTERN.search(posixpath.basename(ident)) is None and "person_id" in attrs and "camera_id" in attrs:
                    try:
                        pid, cam = int(float(attrs["person_id"])), int(float(attrs["camera_id"])) + 1
                    except (TypeError, ValueError):
                        raise FormatError(f"Frame '{frame['name']}': person_id and camera_id must be numbers") from None
                    d, base = posixpath.split(ident)
                    name = posixpath.join(d, "{:04d}_c{}s1_000000_00{}".format(pid, cam, base))
                query = attrs.get("query")
                if isinstance(query, str):
                    query = query.strip().lower() in ("true", "1", "yes")
                folder = "query" if query else f"bounding_box_{subset}"
                rel = f"{folder}/{name}{_ext(frame, video)}"
                lines.append(rel)
                if save_images:
                    common.write_image(archive, "", frame, image_bytes, video, name=rel)
            archive.write(f"images_{subset}.txt", "".join(l + "\n" for l in lines))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        paths = []
        lists = [p for p in common.files(root, ".txt") if p.name.startswith("images_") and p.parent == root]
        for lst in lists:
            paths += [l.strip().replace("\\", "/") for l in common.read_text(lst, lst.name).splitlines() if l.strip()]
        if not lists:
            for p in common.files(root, IMAGE_EXTS):
                rel = p.relative_to(root).as_posix()
                if rel.startswith(("query/", "bounding_box_")):
                    paths.append(rel)
        if not paths:
            raise FormatError("Dataset must contain a file: images_<subset>.txt (or query/, bounding_box_<subset>/)")
        entries = []
        for rel in paths:
            if "/" not in rel or ".." in rel.split("/"):
                raise FormatError(f"Market-1501 path '{rel[:80]}' is not <folder>/<image>")
            folder, rest = rel.split("/", 1)
            ident = posixpath.splitext(rest)[0]
            attrs = None
            m = PATTERN.search(posixpath.basename(ident))
            if m:
                attrs = {"query": folder == "query", "person_id": int(m.group(1)), "camera_id": int(m.group(2)) - 1}
                if m.group(3):
                    ident = posixpath.join(posixpath.dirname(ident), m.group(3))
            entries.append((ident, attrs))
        matcher.set_root_hint(i for i, _ in entries)
        for ident, attrs in entries:
            frame = matcher.match(ident)
            if attrs is not None:
                builder.add_tag(LABEL, frame, attrs)
    return builder.result()
