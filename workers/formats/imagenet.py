"""ImageNet 1.0 — formats.md §4.9. Tags only. Without images: <subset>.txt + synsets.txt;
with images: <label>/<frame path> per tag label, untagged frames under no_label/."""
from __future__ import annotations

import posixpath
import shlex

from workers.formats import common
from workers.formats.model import FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels, image_name, subsets

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".jfif")


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None) -> None:
    labels = Labels(dataset["labels"])
    video = bool(dataset.get("video"))
    objects = FrameObjects(dataset, with_tracks=False)
    with common.Archive(path) as archive:
        if not save_images:
            archive.write("synsets.txt", "".join(l["name"] + "\n" for l in labels.all))
        for subset, frames in subsets(dataset):
            lines = []
            for frame in frames:
                idx = []
                for t in objects.tags.get(frame["frame"], ()):
                    i = labels.index[t["label_id"]]
                    if i not in idx:
                        idx.append(i)
                name = image_name(frame, video)
                if save_images:
                    for target in [labels.all[i]["name"] for i in idx] or ["no_label"]:
                        common.write_image(archive, target, frame, image_bytes, video, name=name)
                else:
                    shown = '"%s"' % name if " " in name else name
                    lines.append("%s %s" % (shown, " ".join(str(i) for i in idx)))
            if not save_images:
                archive.write(f"{subset}.txt", "".join(l + "\n" for l in lines))


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, **_) -> dict:
    builder = ImportBuilder(labels, frames, tracks_allowed=False)
    matcher = FrameMatcher(frames, video=video)
    with common.open_input(path) as root:
        root_txt = [p for p in common.files(root, ".txt") if p.parent == root]
        if root_txt:
            synsets = root / "synsets.txt"
            if not synsets.is_file():
                raise FormatError("Dataset must contain a file: synsets.txt")
            names = [n.strip() for n in common.read_text(synsets, "synsets.txt").splitlines() if n.strip()]
            for lst in root_txt:
                if lst.name == "synsets.txt":
                    continue
                for lineno, line in enumerate(common.read_text(lst, lst.name).splitlines(), 1):
                    if not line.strip():
                        continue
                    try:
                        parts = shlex.split(line)
                    except ValueError:
                        raise FormatError(f"{lst.name} line {lineno}: unbalanced quotes") from None
                    frame = matcher.match(posixpath.splitext(parts[0])[0])
                    for p in parts[1:]:
                        try:
                            i = int(p)
                        except ValueError:
                            raise FormatError(f"{lst.name} line {lineno}: '{p}' is not a label index") from None
                        if not 0 <= i < len(names):
                            raise FormatError(f"{lst.name} line {lineno}: label index {i} is not in synsets.txt")
                        builder.add_tag(names[i], frame)
            return builder.result()
        images = common.files(root, IMAGE_EXTS)
        if not images:
            raise FormatError("Dataset must contain <subset>.txt + synsets.txt or <label>/<image> files")
        for img in images:
            rel = img.relative_to(root).as_posix()
            if "/" not in rel:
                raise FormatError(f"Image '{rel}' is not inside a label directory")
            label, rest = rel.split("/", 1)
            frame = matcher.match(posixpath.splitext(rest)[0])
            if label != "no_label":
                builder.add_tag(label, frame)
    return builder.result()
