"""MOT 1.1 — formats.md §4.8: gt/gt.txt (CSV, CRLF, no header), gt/labels.txt, img1/ images.
Rectangles only (tracked ones with their renumbered track id); everything else dropped."""
from __future__ import annotations

import csv
import io
import posixpath

from workers.formats import common
from workers.formats.model import FormatError, FrameObjects, ImportBuilder, Labels, item_id, r2

MOT_CLASSES = ["pedestrian", "person on vehicle", "car", "bicycle", "motorbike", "non motorized vehicle",
               "static person", "distractor", "occluder", "occluder on the ground", "occluder full",
               "reflection"]


def _mot_frame_id(ident: str, position: int) -> int:
    try:
        return int(ident)
    except ValueError:
        return position + 1


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    track_ids: dict = {}
    with common.Archive(path) as archive:
        with archive.open("gt/gt.txt") as out:
            writer = csv.writer(out)  # Python csv default: CRLF line endings, like CVAT
            for pos, frame in enumerate(dataset["frames"]):
                ident = item_id(frame, video)
                fid = _mot_frame_id(ident, pos)
                for s in objects.shapes.get(frame["frame"], ()):
                    if s["type"] != "rectangle":
                        continue
                    attrs = labels.typed_attributes(s["label_id"], s.get("attributes"))
                    if "track_id" in s:
                        tid = track_ids.setdefault(s["track_id"], len(track_ids) + 1)
                    else:
                        tid = -1
                    x1, y1, x2, y2 = (r2(v) for v in s["points"][:4])
                    ignored = attrs.get("ignored", False)
                    ignored = ignored if isinstance(ignored, bool) else str(ignored).lower() == "true"
                    if "visibility" in attrs:
                        try:
                            vis = float(attrs["visibility"])
                        except (TypeError, ValueError):
                            vis = 1.0
                    else:
                        vis = 0.0 if s.get("occluded") else 1.0
                    writer.writerow([fid, tid, x1, y1, r2(x2 - x1), r2(y2 - y1), 0 if ignored else 1,
                                     labels.index[s["label_id"]] + 1, vis])
        archive.write("gt/labels.txt", "\n".join(l["name"] for l in labels.all))
        if save_images:
            for frame in dataset["frames"]:
                data, ext = image_bytes(frame)
                ext = ".PNG" if video else posixpath.splitext(frame["name"])[1]
                archive.write(f"img1/{item_id(frame, video)}{ext}", data)


def import_(path, labels: list[dict], frames: list[dict], *, frame_step: int = 1, stop=None,
            start_frame: int | None = None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop)
    numbers = {f["frame"] for f in frames}
    start = start_frame if start_frame is not None else min(numbers, default=0)
    with common.open_input(path) as root:
        gts = [p for p in common.files(root, "gt.txt") if p.parent.name == "gt"]
        if not gts:
            raise FormatError("Dataset must contain a file: gt/gt.txt")
        gt = gts[0]
        names_file = gt.parent / "labels.txt"
        names = ([n.strip() for n in common.read_text(names_file, "labels.txt").splitlines() if n.strip()]
                 if names_file.is_file() else MOT_CLASSES)
        text = common.read_text(gt, "gt.txt")
        for lineno, row in enumerate(csv.reader(io.StringIO(text)), 1):
            if not row or not "".join(row).strip():
                continue
            if len(row) < 6:
                raise FormatError(f"gt.txt line {lineno}: expected at least 6 columns, got {len(row)}")
            try:
                fid, tid = int(float(row[0])), int(float(row[1]))
                x, y, w, h = (common.parse_float(v, f"gt.txt line {lineno}") for v in row[2:6])
                not_ignored = int(float(row[6])) if len(row) > 6 and row[6].strip() else 1
                cls = int(float(row[7])) if len(row) > 7 and row[7].strip() else 1
                vis = float(row[8]) if len(row) > 8 and row[8].strip() else 1.0
            except ValueError:
                raise FormatError(f"gt.txt line {lineno}: malformed numbers") from None
            if not 1 <= cls <= len(names):
                raise FormatError(f"gt.txt line {lineno}: class {cls} is not in labels.txt ({len(names)} labels)")
            frame = fid - 1 + start
            if frame not in numbers:
                raise FormatError(f"gt.txt line {lineno}: frame {fid} is not a frame of this task")
            attrs = {"occluded": vis <= 0, "visibility": vis}
            if not_ignored == 0:
                attrs["ignored"] = True
            if tid > 0:
                attrs.update(track_id=tid, keyframe=True)
            builder.add_shape(names[cls - 1], frame, "rectangle", [x, y, x + w, y + h], attrs)
    return builder.result()
