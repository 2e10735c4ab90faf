"""VGGFace2 1.0 — formats.md §5: labels.txt (`name [parent]` per label),
<subset>/<label>/<image> with images, bb_landmark/loose_bb_<subset>.csv
(`NAME_ID,X,Y,W,H`) and bb_landmark/loose_landmark_<subset>.csv (`NAME_ID,P1X,P1Y,…,P5X,P5Y`),
NAME_ID = `<label>/<item id>`. One rectangle and one 5-point `points` shape per image: a frame
with more than one of either is refused (as CVAT does); other shapes, tags, attributes dropped."""
from __future__ import annotations

import csv
import io

from workers.formats import common
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id,
                                   r2, subsets)

BB_HEADER = ["NAME_ID", "X", "Y", "W", "H"]
LM_HEADER = ["NAME_ID"] + [f"P{i}{c}" for i in range(1, 6) for c in "XY"]


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        archive.write("labels.txt", "".join(
            l["name"] + (" " + l["parent"] if l.get("parent") else "") + "\n" for l in labels.all))
        for subset, frames in subsets(dataset):
            bb, lm = io.StringIO(), io.StringIO()
            wb, wl = csv.writer(bb, lineterminator="\n"), csv.writer(lm, lineterminator="\n")
            wb.writerow(BB_HEADER)
            wl.writerow(LM_HEADER)
            for frame in frames:
                ident = item_id(frame, video)
                shapes = objects.shapes.get(frame["frame"], ())
                boxes = [s for s in shapes if s["type"] == "rectangle"]
                points = [s for s in shapes if s["type"] == "points" and len(s["points"]) == 10]
                if len(boxes) > 1 or len(points) > 1:
                    raise FormatError(f"VGGFace2 holds one box and one 5-point set per image; frame "
                                      f"'{frame['name']}' has {len(boxes)} boxes and {len(points)} point sets")
                label = labels.name((boxes or points)[0]["label_id"]) if boxes or points else "no_label"
                if boxes:
                    x1, y1, x2, y2 = (r2(v) for v in boxes[0]["points"][:4])
                    wb.writerow([f"{labels.name(boxes[0]['label_id'])}/{ident}", x1, y1, r2(x2 - x1), r2(y2 - y1)])
                if points:
                    wl.writerow([f"{labels.name(points[0]['label_id'])}/{ident}"] + [r2(v) for v in points[0]["points"]])
                if save_images:
                    common.write_image(archive, f"{subset}/{label}", frame, image_bytes, video)
            archive.write(f"bb_landmark/loose_bb_{subset}.csv", bb.getvalue())
            archive.write(f"bb_landmark/loose_landmark_{subset}.csv", lm.getvalue())


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        files = [p for p in common.files(root, ".csv") if p.name.startswith(("loose_bb_", "loose_landmark_"))]
        if not files:
            raise FormatError("Dataset must contain a file: bb_landmark/loose_bb_<subset>.csv")
        rows = []
        for f in files:
            reader = csv.reader(io.StringIO(common.read_text(f, f.name)))
            header = next(reader, None)
            want = BB_HEADER if f.name.startswith("loose_bb_") else LM_HEADER
            if header is None or [h.strip() for h in header] != want:
                raise FormatError(f"{f.name}: the header must be {','.join(want)}")
            for lineno, row in enumerate(reader, 2):
                if not row:
                    continue
                if len(row) != len(want):
                    raise FormatError(f"{f.name} line {lineno}: expected {len(want)} columns")
                label, _, ident = row[0].partition("/")
                if not ident:
                    label, ident = "", label
                values = [common.parse_float(v, f"{f.name} line {lineno}") for v in row[1:]]
                rows.append((f.name.startswith("loose_bb_"), label, ident, values))
        matcher.set_root_hint(r[2] for r in rows)
        for is_box, label, ident, v in rows:
            frame = matcher.match(ident)
            if label in ("", "no_label"):
                raise FormatError(f"'{ident}' has a {'box' if is_box else 'landmark set'} without a label")
            if is_box:
                builder.add_shape(label, frame, "rectangle", [v[0], v[1], v[0] + v[2], v[1] + v[3]])
            else:
                builder.add_shape(label, frame, "points", v)
    return builder.result()
