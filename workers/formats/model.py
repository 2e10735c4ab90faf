"""The intermediate model shared by every format: CVAT's own API shapes.

Export input (a plain dict, what the wiring builds from the store):
  {"labels": [label dicts as GET /api/labels returns them, with "sublabels" and "svg"],
   "frames": [{"frame": i, "name": "sub/img.jpg", "width": w, "height": h, ["subset": s]}],
   "annotations": {"tags": [...], "shapes": [...], "tracks": [...]},   # LabeledData items
   optional: "video": bool, "stop_frame": last frame, "meta": {...} (CVAT XML)}
Frame numbers are the instance's own numbering (the server's 0…size-1); tracks step between
consecutive numbers of it (number_step), so a video's data step never shifts interpolation.

Import output: LabeledData {"version": 0, "tags", "shapes", "tracks"} with label ids and
spec ids resolved against the task's labels, built by `ImportBuilder`.

This module holds what every format needs: labels in CVAT's export order with typed attributes
(formats.md §2.3), tracks expanded into per-frame shapes (interpolated like CVAT, §4.1.4),
frame matching of imported items (§2.5 step 4) and the import post-processing (§2.5 steps 5–7).
"""
from __future__ import annotations

import posixpath
import re
from typing import Iterable, Iterator


class FormatError(ValueError):
    """Input a format cannot read, or data it cannot write; the message names the problem."""


SOURCES = {"auto", "semi-auto", "manual", "file"}
SPECIAL_ATTRS = ("occluded", "outside", "rotation", "track_id", "keyframe", "source")


# ---------------------------------------------------------------------------------------------
# Labels

def _svg_nodes(svg: str) -> tuple[list[tuple[int, str]], list[list[int]]]:
    """(node id, label reference) per circle in SVG order, and joints as node-id pairs."""
    nodes = []
    for m in re.finditer(r"<circle\b[^>]*>", svg or ""):
        tag = m.group(0)
        node = re.search(r'data-node-id="(\d+)"', tag)
        ref = re.search(r'data-label-id="(\d+)"', tag) or re.search(r'data-label-name="([^"]*)"', tag)
        if node and ref:
            nodes.append((int(node.group(1)), ref.group(1)))
    joints = []
    for m in re.finditer(r"<line\b[^>]*>", svg or ""):
        a = re.search(r'data-node-from="(\d+)"', m.group(0))
        b = re.search(r'data-node-to="(\d+)"', m.group(0))
        if a and b:
            joints.append([int(a.group(1)), int(b.group(1))])
    return nodes, joints


class Labels:
    """A task's labels in CVAT's export order: all labels incl. skeleton sublabels by id."""

    def __init__(self, labels: list[dict]):
        self.top = sorted(labels, key=lambda l: l["id"])
        entries = []
        for lab in self.top:
            entries.append(dict(lab, parent="", parent_id=None))
            for sub in lab.get("sublabels") or []:
                entries.append(dict(sub, parent=lab["name"], parent_id=lab["id"], sublabels=[]))
        self.all = sorted(entries, key=lambda l: l["id"])
        self.by_id = {l["id"]: l for l in self.all}
        self.index = {l["id"]: i for i, l in enumerate(self.all)}
        self.top_index = {l["id"]: i for i, l in enumerate(self.top)}
        self.by_name = {l["name"]: l for l in self.top}
        self.sub_by_name = {(l["parent_id"], l["name"]): l for l in self.all if l["parent_id"]}
        self.specs = {l["id"]: list(l.get("attributes") or []) for l in self.all}
        self.spec_by_id = {s["id"]: s for specs in self.specs.values() for s in specs}
        self._elements: dict[int, list[dict]] = {}
        self._joints: dict[int, list[list[int]]] = {}

    def name(self, label_id: int) -> str:
        return self.by_id[label_id]["name"]

    def elements(self, skeleton_id: int) -> list[dict]:
        """Sublabels of a skeleton in SVG order (the order of its keypoints)."""
        if skeleton_id not in self._elements:
            lab = self.by_id[skeleton_id]
            subs = sorted(lab.get("sublabels") or [], key=lambda s: s["id"])
            nodes, joints = _svg_nodes(lab.get("svg") or "")
            order, pos_of_node = [], {}
            for node_id, ref in nodes:
                sub = next((s for s in subs if str(s["id"]) == ref or s["name"] == ref), None)
                if sub is not None and sub not in order:
                    pos_of_node[node_id] = len(order) + 1
                    order.append(sub)
            order += [s for s in subs if s not in order]
            self._elements[skeleton_id] = order
            self._joints[skeleton_id] = [[pos_of_node[a], pos_of_node[b]] for a, b in joints
                                         if a in pos_of_node and b in pos_of_node]
        return self._elements[skeleton_id]

    def joints(self, skeleton_id: int) -> list[list[int]]:
        self.elements(skeleton_id)
        return self._joints[skeleton_id]

    def attribute_names(self) -> list[str]:
        names = {"occluded"}
        for specs in self.specs.values():
            names.update(s["name"] for s in specs)
        return sorted(names)

    def typed_attributes(self, label_id: int, values: list[dict]) -> dict:
        """Every spec of the label, missing values filled with the default, typed (§2.3)."""
        given = {a["spec_id"]: a["value"] for a in values or ()}
        out = {}
        for spec in self.specs.get(label_id, ()):
            raw = given.get(spec["id"], spec.get("default_value", ""))
            out[spec["name"]] = typed_value(spec, raw)
        return out

    def stored_attributes(self, label_id: int, values: list[dict]) -> list[tuple[str, str]]:
        """(name, stored string) of the attributes the object actually has (CVAT XML)."""
        out = []
        for a in values or ():
            spec = self.spec_by_id.get(a["spec_id"])
            if spec is not None:
                out.append((spec["name"], str(a["value"])))
        return out

    # --- import side -----------------------------------------------------------------------
    def resolve(self, name: str, parent_id: int | None = None) -> dict:
        lab = (self.sub_by_name.get((parent_id, name)) if parent_id is not None
               else self.by_name.get(name))
        if lab is None:
            raise FormatError(f"Label '{name}' is not registered for this task")
        return lab

    def attribute_values(self, label_id: int, attrs: dict) -> list[dict]:
        """Imported {name: value} → [{spec_id, value}] for the label's specs; others vanish."""
        specs = {s["name"]: s for s in self.specs.get(label_id, ())}
        out = []
        for name, value in attrs.items():
            spec = specs.get(name)
            if spec is None or value is None:
                continue
            text = str(value)
            if spec["input_type"] == "checkbox":
                text = text.lower()
            elif spec["input_type"] == "number":
                try:
                    f = float(value)
                    text = str(int(f)) if f.is_integer() else repr(f)
                except (TypeError, ValueError):
                    pass
            out.append({"spec_id": spec["id"], "value": text})
        return out


def typed_value(spec: dict, raw):
    kind = spec.get("input_type")
    if kind == "number":
        try:
            return float(raw)
        except (TypeError, ValueError):
            return raw
    if kind == "checkbox":
        return str(raw).strip().lower() == "true"
    return str(raw)


def attr_text(value) -> str:
    """str() of a typed value as datumaro-written formats print it (`True`, `3.0`)."""
    return str(value)


# ---------------------------------------------------------------------------------------------
# Frames of a dataset

def abs_frame(frame: dict) -> int:
    """The frame's absolute data frame number (start_frame + index × step), when the wiring gives
    it as `abs_frame`; the frame number otherwise. Video items are named after it (§2.2)."""
    return frame.get("abs_frame", frame["frame"])


def item_id(frame: dict, video: bool = False) -> str:
    """Item id (§2.2): the frame path without extension; video: frame_%06d of the absolute number."""
    if video:
        return "frame_%06d" % abs_frame(frame)
    return posixpath.splitext(frame["name"])[0]


def image_name(frame: dict, video: bool = False) -> str:
    """File name inside datumaro-style archives: the frame path; video: frame_%06d.PNG."""
    if video:
        return "frame_%06d.PNG" % abs_frame(frame)
    return frame["name"]


def subsets(dataset: dict) -> list[tuple[str, list[dict]]]:
    """Frames grouped by subset in first-appearance order (task exports: one `default`).
    Within a subset, a frame path seen before (two tasks of a project) is renamed
    `name_1.ext`, `name_2.ext`… (formats.md §2.2); the input frames are not modified."""
    frames = dataset["frames"]
    if not any("subset" in f for f in frames):
        return [("default", frames)]  # a task or job: names are unique, nothing to copy or track
    groups: dict[str, list[dict]] = {}
    seen: dict[str, set] = {}
    for f in frames:
        subset = f.get("subset") or "default"
        names = seen.setdefault(subset, set())
        name = f["name"]
        if name in names:
            stem, ext = posixpath.splitext(name)
            i = 1
            while f"{stem}_{i}{ext}" in names:
                i += 1
            name = f"{stem}_{i}{ext}"
            f = dict(f, name=name)
        names.add(name)
        groups.setdefault(subset, []).append(f)
    return list(groups.items())


# ---------------------------------------------------------------------------------------------
# Tracks → per-frame shapes

def _lerp(a: list, b: list, t: float) -> list:
    return [x + (y - x) * t for x, y in zip(a, b)]


def _lerp_angle(a: float, b: float, t: float) -> float:
    d = ((b - a + 180.0) % 360.0) - 180.0
    return (a + d * t) % 360.0


def _interpolate_points(kind: str, a: list, b: list, t: float) -> list:
    if kind in ("rectangle", "ellipse", "cuboid") or (kind == "points" and len(a) == 2):
        return _lerp(a, b, t) if len(a) == len(b) else list(a)
    if kind in ("polygon", "polyline") and len(a) == len(b):
        return _lerp(a, b, t)
    return list(a)


def expand_track_shapes(shapes: list[dict], stop_frame: int, step: int = 1,
                        frames: set | None = None, include_outside: bool = False
                        ) -> Iterator[tuple[dict, bool]]:
    """(shape on frame f, is keyframe) for every frame where a track with these keyframes is
    visible, from its first keyframe on: keyframes, interpolated frames between keyframes, and
    the last non-outside keyframe propagated to `stop_frame`. Mutable attributes carry over."""
    keys = sorted(shapes, key=lambda s: s["frame"])
    attrs: dict = {}
    for i, key in enumerate(keys):
        for a in key.get("attributes") or ():
            attrs[a["spec_id"]] = a["value"]
        current = [{"spec_id": k, "value": v} for k, v in attrs.items()]
        nxt = keys[i + 1] if i + 1 < len(keys) else None
        if key.get("outside"):
            if include_outside:
                yield dict(key, attributes=current), True
            continue
        yield dict(key, attributes=current), True
        end = nxt["frame"] if nxt is not None else stop_frame + 1
        f = key["frame"] + step
        while f < end:
            if frames is None or f in frames:
                shape = dict(key, frame=f, attributes=current)
                if nxt is not None:
                    t = (f - key["frame"]) / (nxt["frame"] - key["frame"])
                    shape["points"] = _interpolate_points(key["type"], key.get("points") or [],
                                                          nxt.get("points") or [], t)
                    if key["type"] in ("rectangle", "ellipse"):
                        shape["rotation"] = _lerp_angle(key.get("rotation") or 0.0,
                                                        nxt.get("rotation") or 0.0, t)
                yield shape, False
            f += step


def number_step(frames: list[dict], default: int = 1) -> int:
    """Distance between consecutive frame numbers of the instance: 1 when frames are numbered
    0…size-1 as the server numbers them (whatever the video's data step), the data step when
    absolute numbers are used. Tracks interpolate and close their gaps in these units."""
    numbers = sorted({f["frame"] for f in frames})
    diffs = [b - a for a, b in zip(numbers, numbers[1:]) if b > a]
    return min(diffs) if diffs else default


def _frame_set(dataset: dict) -> set:
    return {f["frame"] for f in dataset["frames"]}


def expand_track(track: dict, stop_frame: int, step: int, frames: set) -> Iterator[dict]:
    """Per-frame shapes of one track in LabeledShape form plus `keyframe`.
    Skeleton tracks get their visible elements (outside elements marked outside)."""
    elements = []
    for el in track.get("elements") or ():
        per_frame = {}
        for s, kf in expand_track_shapes(el.get("shapes") or [], stop_frame, step, frames):
            per_frame[s["frame"]] = (s, kf)
        elements.append((el, per_frame))
    track_attrs = list(track.get("attributes") or ())
    for s, kf in expand_track_shapes(track.get("shapes") or [], stop_frame, step, frames):
        f = s["frame"]
        shape = {
            "type": s["type"], "frame": f, "label_id": track["label_id"],
            "group": track.get("group") or 0, "source": track.get("source") or "manual",
            "occluded": bool(s.get("occluded")), "outside": False,
            "z_order": s.get("z_order") or 0, "rotation": s.get("rotation") or 0.0,
            "points": list(s.get("points") or []),
            "attributes": track_attrs + list(s.get("attributes") or []),
            "keyframe": kf,
        }
        if elements:
            els = []
            for el, per_frame in elements:
                es, ekf = per_frame.get(f, (None, False))
                if es is None:
                    last = el.get("shapes") or [{}]
                    es = {"type": "points", "points": (last[0].get("points") or [0.0, 0.0]),
                          "occluded": False}
                    outside = True
                else:
                    outside = False
                kf = kf or ekf
                els.append({"type": "points", "frame": f, "label_id": el["label_id"],
                            "occluded": bool(es.get("occluded")), "outside": outside,
                            "points": list(es.get("points") or []), "source": shape["source"],
                            "attributes": list(el.get("attributes") or ()) +
                            list(es.get("attributes") or ()), "keyframe": ekf})
            shape["elements"] = els
            shape["keyframe"] = kf
        yield shape


class _ByFrame:
    """Objects of a list by frame number without copying the list. When the list is sorted by
    frame (the usual case) lookups walk a cursor forward, so no index is built and memory does
    not grow with the number of objects; out-of-order input or a backwards lookup falls back to
    a dict index."""

    def __init__(self, items: list, extra: dict | None = None):
        self.items = items
        self.extra = extra or {}
        self.index: dict | None = None
        self.pos = 0
        self.last = None
        it = iter(items)
        prev = next(it, None)
        for cur in it:
            if cur["frame"] < prev["frame"]:
                self._build()
                break
            prev = cur

    def _build(self) -> None:
        self.index = {}
        for o in self.items:
            self.index.setdefault(o["frame"], []).append(o)

    def get(self, f: int, default=()):
        if self.index is None and self.last is not None and f < self.last:
            self._build()
        if self.index is not None:
            found = self.index.get(f)
        else:
            self.last = f
            items, i = self.items, self.pos
            n = len(items)
            while i < n and items[i]["frame"] < f:
                i += 1
            j = i
            while j < n and items[j]["frame"] == f:
                j += 1
            self.pos = i
            found = items[i:j] if j > i else None
        more = self.extra.get(f)
        if more:
            found = (found or []) + more
        return found if found else default


class FrameObjects:
    """Per-frame view of a dataset: `tags.get(frame)` and `shapes.get(frame)` (tracked shapes
    expanded, carrying `track_id` 0,1,2… in track order and `keyframe`). Plain tags and shapes
    are never copied."""

    def __init__(self, dataset: dict, *, with_tracks: bool = True):
        self.dataset = dataset
        ann = dataset.get("annotations") or {}
        tracked: dict[int, list] = {}
        if with_tracks and ann.get("tracks"):
            frames = _frame_set(dataset)
            stop = stop_frame(dataset)
            step = number_step(dataset["frames"], dataset.get("frame_step") or 1)
            for track_id, track in enumerate(ann.get("tracks") or ()):
                for shape in expand_track(track, stop, step, frames):
                    shape["track_id"] = track_id
                    tracked.setdefault(shape["frame"], []).append(shape)
        self.tags = _ByFrame(ann.get("tags") or [])
        self.shapes = _ByFrame(ann.get("shapes") or [], tracked)

    def __iter__(self) -> Iterator[tuple[dict, list, list]]:
        for frame in self.dataset["frames"]:
            f = frame["frame"]
            yield frame, self.tags.get(f, []), self.shapes.get(f, [])


def stop_frame(dataset: dict) -> int:
    if dataset.get("stop_frame") is not None:
        return dataset["stop_frame"]
    return max((f["frame"] for f in dataset["frames"]), default=0)


def shape_attributes(labels: Labels, shape: dict, *, tag: bool = False) -> dict:
    """Typed attributes of an exported object (§2.3): specs + occluded/rotation/track_id/keyframe."""
    attrs = labels.typed_attributes(shape["label_id"], shape.get("attributes"))
    if tag:
        return attrs
    attrs["occluded"] = bool(shape.get("occluded"))
    if shape.get("type") == "rectangle":
        attrs["rotation"] = float(round(shape.get("rotation") or 0.0, 2))
    if "track_id" in shape:
        attrs["track_id"] = shape["track_id"]
        attrs["keyframe"] = bool(shape.get("keyframe"))
    return attrs


def r2(v: float) -> float:
    return round(float(v), 2)


# ---------------------------------------------------------------------------------------------
# Import: frame matching and the LabeledData builder

class FrameMatcher:
    """Item id → frame number as CVAT's `match_dm_item` does (formats.md §2.5 step 4)."""

    def __init__(self, frames: list[dict], video: bool = False):
        self.frames = frames
        self.video = video
        self.numbers = {f["frame"] for f in frames}
        self.by_abs = {abs_frame(f): f["frame"] for f in frames}
        self.by_path = {}
        for f in frames:
            self.by_path.setdefault(posixpath.splitext(f["name"])[0], f["frame"])
            self.by_path.setdefault(f["name"], f["frame"])
        self.hint = ""
        bases: dict = {}
        for f in frames:
            b = posixpath.basename(posixpath.splitext(f["name"])[0])
            bases[b] = None if b in bases else f["frame"]
        self.by_base = {b: n for b, n in bases.items() if n is not None}

    def set_root_hint(self, ids: Iterable[str]) -> None:
        """find_dataset_root: the longest item id that is a path suffix of a task path gives
        the leading directories to prepend to every id."""
        ids = [i for i in ids if i]
        if not ids:
            return
        longest = max(ids, key=lambda i: len(i.split("/")))
        parts = longest.split("/")
        for path in self.by_path:
            pparts = posixpath.splitext(path)[0].split("/")
            if len(pparts) > len(parts) and pparts[-len(parts):] == parts:
                self.hint = "/".join(pparts[:-len(parts)])
                return

    def _lookup(self, name: str):
        if name in self.by_path:
            return self.by_path[name]
        stripped = posixpath.splitext(name)[0]
        return self.by_path.get(stripped)

    def match(self, item: str, frame_attr=None) -> int:
        item = item.replace("\\", "/")
        found = self._lookup(item)
        if found is None and self.hint:
            found = self._lookup(self.hint + "/" + item)
        if found is None and "/" not in item:
            found = self.by_base.get(posixpath.splitext(item)[0], self.by_base.get(item))
        if found is None and frame_attr is not None:
            try:
                n = int(frame_attr)
                found = n if n in self.numbers else None
            except (TypeError, ValueError):
                pass
        if found is None:
            try:
                n = int(item)
                found = n if n in self.numbers else None
            except ValueError:
                pass
        if found is None and self.video:
            m = re.match(r"frame_(\d+)$", posixpath.basename(posixpath.splitext(item)[0]))
            if m:
                found = self.by_abs.get(int(m.group(1)))
        if found is None:
            raise FormatError(f"Could not match item id: '{item}' with any task frame")
        return found


def source_of(attrs: dict) -> str:
    s = str(attrs.get("source", "")).lower()
    return s if s in SOURCES else "manual"


def as_bool(v) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("true", "1", "yes")
    return bool(v)


class ImportBuilder:
    """Collects imported objects and produces LabeledData (formats.md §2.5 steps 5–7)."""

    def __init__(self, labels: list[dict] | Labels, frames: list[dict], *, frame_step: int = 1,
                 stop: int | None = None, tracks_allowed: bool = True, default_source: str | None = None):
        self.labels = labels if isinstance(labels, Labels) else Labels(labels)
        self.step = number_step(frames, frame_step or 1)
        self.stop = stop if stop is not None else max((f["frame"] for f in frames), default=0)
        self.tracks_allowed = tracks_allowed
        self.default_source = default_source
        self.tags: list[dict] = []
        self.shapes: list[dict] = []
        self.tracked: dict = {}
        self.explicit_tracks: list[dict] = []

    def _common(self, label: str | int, frame: int, attrs: dict, group) -> tuple[dict, dict]:
        lab = self.labels.by_id[label] if isinstance(label, int) else self.labels.resolve(label)
        attrs = dict(attrs or {})
        obj = {"label_id": lab["id"], "frame": frame, "group": int(group or 0),
               "source": self.default_source or source_of(attrs)}
        return obj, attrs

    def add_tag(self, label, frame: int, attrs: dict | None = None, group=0) -> None:
        obj, attrs = self._common(label, frame, attrs, group)
        for k in SPECIAL_ATTRS:
            attrs.pop(k, None)
        obj["attributes"] = self.labels.attribute_values(obj["label_id"], attrs)
        self.tags.append(obj)

    def add_shape(self, label, frame: int, kind: str, points: list, attrs: dict | None = None, *,
                  group=0, z_order=0, occluded=None, rotation=None, elements=None) -> dict:
        obj, attrs = self._common(label, frame, attrs, group)
        occ = attrs.pop("occluded", False) if occluded is None else occluded
        rot = attrs.pop("rotation", 0.0) if rotation is None else rotation
        outside = as_bool(attrs.pop("outside", False))
        track_id = attrs.pop("track_id", None)
        keyframe = attrs.pop("keyframe", None)
        attrs.pop("source", None)
        try:
            rot = float(rot or 0.0) % 360.0
        except (TypeError, ValueError):
            rot = 0.0
        obj.update({"type": kind, "occluded": as_bool(occ), "outside": outside,
                    "z_order": int(z_order or 0), "rotation": rot,
                    "points": [float(p) for p in points],
                    "attributes": self.labels.attribute_values(obj["label_id"], attrs)})
        if elements is not None:
            els = []
            for el in elements:
                sub = (self.labels.by_id[el["label"]] if isinstance(el["label"], int)
                       else self.labels.resolve(el["label"], obj["label_id"]))
                els.append({"type": "points", "label_id": sub["id"], "frame": frame,
                            "group": 0, "source": obj["source"],
                            "occluded": bool(el.get("occluded")), "outside": bool(el.get("outside")),
                            "z_order": 0, "rotation": 0.0, "points": [float(p) for p in el["points"]],
                            "attributes": self.labels.attribute_values(sub["id"], el.get("attributes") or {})})
            obj["elements"] = els
        if self.tracks_allowed and track_id is not None and keyframe is not None:
            try:
                key = int(float(track_id))
            except (TypeError, ValueError):
                key = str(track_id)
            obj["keyframe"] = as_bool(keyframe)
            self.tracked.setdefault(key, []).append(obj)
        else:
            self.shapes.append(obj)
        return obj

    def add_track(self, track: dict) -> None:
        """A track already in LabeledTrack form (CVAT XML)."""
        self.explicit_tracks.append(track)

    def _build_tracks(self) -> list[dict]:
        tracks = []
        for key in self.tracked:
            shapes = sorted(self.tracked[key], key=lambda s: s["frame"])
            seq = []
            prev = shapes[0]
            seq.append(prev)
            for s in shapes[1:]:
                if s["frame"] == prev["frame"]:
                    continue
                if s["frame"] - prev["frame"] > self.step and not prev["outside"]:
                    seq.append(dict(prev, outside=True, keyframe=True, frame=prev["frame"] + self.step))
                seq.append(s)
                prev = s
            last = seq[-1]
            if not last["outside"] and last["frame"] + self.step <= self.stop:
                seq.append(dict(last, outside=True, keyframe=True, frame=last["frame"] + self.step))
            seq[0] = dict(seq[0], keyframe=True)
            keys = [s for s in seq if s.get("keyframe")]
            first = keys[0]
            track = {"label_id": first["label_id"], "frame": first["frame"], "group": first["group"],
                     "source": first["source"], "attributes": [], "shapes": [], "elements": []}
            immutable = {s["id"] for s in self.labels.specs.get(first["label_id"], ()) if not s.get("mutable")}
            track["attributes"] = [a for a in first["attributes"] if a["spec_id"] in immutable]
            for s in keys:
                track["shapes"].append({"type": s["type"], "frame": s["frame"],
                                        "occluded": s["occluded"], "outside": s["outside"],
                                        "z_order": s["z_order"], "rotation": s["rotation"],
                                        "points": s["points"],
                                        "attributes": [a for a in s["attributes"] if a["spec_id"] not in immutable]})
            if first.get("elements"):
                for i, el in enumerate(first["elements"]):
                    sub = {"label_id": el["label_id"], "frame": first["frame"], "group": 0,
                           "source": first["source"], "attributes": [], "shapes": []}
                    for s in keys:
                        e = (s.get("elements") or [])[i] if i < len(s.get("elements") or []) else None
                        if e is None:
                            continue
                        sub["shapes"].append({"type": "points", "frame": s["frame"],
                                              "occluded": e["occluded"],
                                              "outside": e["outside"] or s["outside"],
                                              "z_order": 0, "rotation": 0.0, "points": e["points"],
                                              "attributes": e["attributes"]})
                    track["elements"].append(sub)
                for sh in track["shapes"]:
                    sh["points"] = []
            tracks.append(track)
        return tracks

    def _regroup(self, objects: list[dict]) -> None:
        """Per frame: group ids used once become 0; the others are renumbered 1…n."""
        per_frame: dict = {}
        for o in objects:
            if o.get("group"):
                per_frame.setdefault(o["frame"], {}).setdefault(o["group"], []).append(o)
        for groups in per_frame.values():
            n = 0
            for members in groups.values():
                if len(members) == 1:
                    members[0]["group"] = 0
                else:
                    n += 1
                    for o in members:
                        o["group"] = n

    def result(self) -> dict:
        tracks = self._build_tracks() + self.explicit_tracks
        for s in self.shapes:
            s.pop("keyframe", None)
        self._regroup(self.shapes + self.tags)
        return {"version": 0, "tags": self.tags, "shapes": self.shapes, "tracks": tracks}
