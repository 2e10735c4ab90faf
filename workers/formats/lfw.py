"""LFW 1.0 — formats.md §5, following the writer CVAT's datumaro fork uses (lfw_format.py):

    <subset>/annotations/pairs.txt       positive `person n1 n2`, negative `person1 n1 person2 n2`,
                                         then `person/<item id>` for tagged items without pairs
    <subset>/annotations/people.txt      `name<TAB>count` for every label
    <subset>/annotations/landmarks.txt   `label/<item id>.jpg<TAB>x<TAB>y…` per points shape (if any)
    <subset>/images/<label>/<image>      tagged frames (first tag), <subset>/images/<image> the others
Tags are the persons (attributes `positive_pairs` / `negative_pairs`: item ids separated by commas
or spaces); points shapes are landmarks; everything else is dropped."""
from __future__ import annotations

import posixpath
import re

from workers.formats import common
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, item_id,
                                   subsets)

PATTERN = re.compile(r"([\w-]+)_([-\d]+)")


def _pairs(value) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [p for p in re.split(r"[,\s]+", str(value or "")) if p]


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset)
    with common.Archive(path) as archive:
        for subset, frames in subsets(dataset):
            counts = {l["name"]: 0 for l in labels.all}
            included, neutral, positive, negative, landmarks = [], [], [], [], []
            for frame in frames:
                ident = item_id(frame, video)
                tags = objects.tags.get(frame["frame"], ())
                if not tags:
                    if save_images:
                        common.write_image(archive, f"{subset}/images", frame, image_bytes, video)
                    continue
                tag = tags[0]
                person = labels.name(tag["label_id"])
                counts[person] += 1
                attrs = labels.typed_attributes(tag["label_id"], tag.get("attributes"))
                if save_images:
                    common.write_image(archive, f"{subset}/images/{person}", frame, image_bytes, video)
                num1 = ident
                if num1.startswith(person):
                    try:
                        num1 = int(num1.replace(person, "")[1:])
                    except ValueError:
                        pass
                current = f"{person}/{num1}"
                if "positive_pairs" in attrs:
                    if current not in included:
                        included.append(current)
                    for pair in _pairs(attrs["positive_pairs"]):
                        m = PATTERN.search(pair)
                        if m:
                            num2 = int(m.group(2))
                        else:
                            num2 = pair[len(person) + 1:] if pair.startswith(person) else pair
                        other = f"{person}/{num2}"
                        if other not in included:
                            included.append(other)
                        positive.append(f"{person}\t{num1}\t{num2}")
                if "negative_pairs" in attrs:
                    if current not in included:
                        included.append(current)
                    for pair in _pairs(attrs["negative_pairs"]):
                        m = PATTERN.search(pair)
                        if m:
                            person2, num2 = m.group(1), int(m.group(2))
                        else:
                            person2, num2 = "-", pair
                            parts = pair.split("/")
                            if len(parts) > 1 and parts[0] in counts:
                                person2, num2 = parts[0], pair[len(parts[0]) + 1:]
                        negative.append(f"{person}\t{num1}\t{person2}\t{num2}")
                if "positive_pairs" not in attrs and "negative_pairs" not in attrs and current not in included:
                    neutral.append(f"{person}/{ident}")
                    included.append(current)
                for s in objects.shapes.get(frame["frame"], ()):
                    if s["type"] == "points":
                        landmarks.append("%s/%s\t%s" % (labels.name(s["label_id"]), ident + ".jpg",
                                                        "\t".join(str(float(p)) for p in s["points"])))
            base = f"{subset}/annotations"
            archive.write(f"{base}/pairs.txt", "".join(l + "\n" for l in positive + negative + neutral))
            if landmarks:
                archive.write(f"{base}/landmarks.txt", "".join(l + "\n" for l in landmarks))
            archive.write(f"{base}/people.txt", "".join("%s\t%d\n" % kv for kv in counts.items()))


def _image_name(person: str, image_id: str) -> str:
    try:
        return "%s_%04d" % (person, int(image_id))
    except ValueError:
        return image_id


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        pairs_files = [p for p in common.files(root, "pairs.txt") if p.name == "pairs.txt"
                       and p.parent.name == "annotations"]
        if not pairs_files:
            raise FormatError("Dataset must contain a file: <subset>/annotations/pairs.txt")
        for pf in pairs_files:
            tagged: dict[str, tuple[str, dict]] = {}   # item id → (person, attributes)
            landmarks: list[tuple[str, str, list[float]]] = []
            for lineno, line in enumerate(common.read_text(pf, "pairs.txt").splitlines(), 1):
                fields = line.strip().split("\t")
                if fields == [""]:
                    continue
                if len(fields) == 1:
                    parts = fields[0].split("/")
                    if len(parts) > 1:
                        tagged.setdefault(fields[0][len(parts[0]) + 1:], (parts[0], {}))
                elif len(fields) == 3:
                    person = fields[0]
                    id1, id2 = _image_name(person, fields[1]), _image_name(person, fields[2])
                    tagged.setdefault(id2, (person, {}))
                    entry = tagged.setdefault(id1, (person, {}))
                    entry[1].setdefault("positive_pairs", []).append(id2)
                elif len(fields) == 4:
                    id1 = _image_name(fields[0], fields[1])
                    id2 = fields[3] if fields[2] == "-" else _image_name(fields[2], fields[3])
                    if fields[2] != "-":
                        tagged.setdefault(id2, (fields[2], {}))
                    entry = tagged.setdefault(id1, (fields[0], {}))
                    entry[1].setdefault("negative_pairs", []).append(id2)
                else:
                    raise FormatError(f"pairs.txt line {lineno}: expected 1, 3 or 4 tab-separated fields")
            lm = pf.parent / "landmarks.txt"
            if lm.is_file():
                for lineno, line in enumerate(common.read_text(lm, "landmarks.txt").splitlines(), 1):
                    fields = line.rstrip("\n").split("\t")
                    if not fields[0]:
                        continue
                    ident = posixpath.splitext(fields[0])[0]
                    parts = ident.split("/")
                    label = parts[0] if len(parts) > 1 else ""
                    if label:
                        ident = ident[len(label) + 1:]
                    pts = [common.parse_float(v, f"landmarks.txt line {lineno}") for v in fields[1:] if v.strip()]
                    if not pts or len(pts) % 2:
                        raise FormatError(f"landmarks.txt line {lineno}: expected x/y pairs")
                    landmarks.append((ident, label, pts))
            matcher.set_root_hint(list(tagged) + [i for i, _, _ in landmarks])
            for ident, (person, attrs) in tagged.items():
                attrs = {k: ", ".join(v) for k, v in attrs.items()}
                builder.add_tag(person, matcher.match(ident), attrs)
            for ident, label, pts in landmarks:
                if not label:
                    raise FormatError(f"landmarks.txt: the landmarks of '{ident}' have no label")
                builder.add_shape(label, matcher.match(ident), "points", pts)
    return builder.result()
