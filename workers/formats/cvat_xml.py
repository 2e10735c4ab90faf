"""CVAT for images 1.1 / CVAT for video 1.1 (export) and CVAT 1.1 (import) — formats.md §4.1.

The XML is written as text line by line straight into the ZIP member (no DOM), 2-space
indentation, numbers `%.2f`, booleans 0/1, attribute order as CVAT's SAX writer emits it.
Import parses with defusedxml (entity expansion and external entities refused) in streaming
mode: each <image>/<track> is handled and then cleared.
"""
from __future__ import annotations

import datetime
import posixpath
import re
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse
from xml.etree.ElementTree import ParseError

from workers.formats import common
from workers.formats.geometry import decode_cvat_mask
from workers.formats.model import (FormatError, FrameMatcher, FrameObjects, ImportBuilder, Labels,
                                   abs_frame, expand_track_shapes, number_step, stop_frame,
                                   subsets)


def _f(v) -> str:
    return "%.2f" % float(v)


def _b(v) -> str:
    return "1" if v else "0"


class _Writer:
    def __init__(self, stream):
        self.s = stream

    def line(self, depth: int, text: str) -> None:
        self.s.write("  " * depth + text + "\n")

    def open(self, depth: int, tag: str, attrs: list[tuple[str, str]] = ()) -> None:
        self.line(depth, "<%s%s>" % (tag, "".join(" %s=%s" % (k, quoteattr(str(v))) for k, v in attrs)))

    def close(self, depth: int, tag: str) -> None:
        self.line(depth, "</%s>" % tag)

    def leaf(self, depth: int, tag: str, text="", attrs: list[tuple[str, str]] = ()) -> None:
        a = "".join(" %s=%s" % (k, quoteattr(str(v))) for k, v in attrs)
        text = "" if text is None else str(text)
        self.line(depth, "<%s%s>%s</%s>" % (tag, a, escape(text), tag))


# ---------------------------------------------------------------------------------------------
# meta

def _write_user(w: _Writer, depth: int, tag: str, user) -> None:
    if user:
        w.open(depth, tag)
        w.leaf(depth + 1, "username", user.get("username", ""))
        w.leaf(depth + 1, "email", user.get("email", ""))
        w.close(depth, tag)
    else:
        w.leaf(depth, tag, "")


def _write_labels(w: _Writer, depth: int, labels: Labels) -> None:
    w.open(depth, "labels")
    for lab in labels.all:
        w.open(depth + 1, "label")
        w.leaf(depth + 2, "name", lab["name"])
        w.leaf(depth + 2, "color", lab.get("color", ""))
        w.leaf(depth + 2, "type", lab.get("type", "any"))
        w.open(depth + 2, "attributes")
        for spec in lab.get("attributes") or ():
            w.open(depth + 3, "attribute")
            w.leaf(depth + 4, "name", spec["name"])
            w.leaf(depth + 4, "mutable", "True" if spec.get("mutable") else "False")
            w.leaf(depth + 4, "input_type", spec.get("input_type", "text"))
            w.leaf(depth + 4, "default_value", spec.get("default_value", ""))
            values = spec.get("values") or []
            w.leaf(depth + 4, "values", values if isinstance(values, str) else "\n".join(values))
            w.close(depth + 3, "attribute")
        w.close(depth + 2, "attributes")
        if lab.get("parent"):
            w.leaf(depth + 2, "parent", lab["parent"])
        if lab.get("type") == "skeleton":
            svg = lab.get("svg") or ""
            names = {str(s["id"]): s["name"] for s in lab.get("sublabels") or ()}
            svg = re.sub(r'data-label-id="(\d+)"',
                         lambda m: 'data-label-name="%s"' % names.get(m.group(1), m.group(1)), svg)
            w.leaf(depth + 2, "svg", svg)
        w.close(depth + 1, "label")
    w.close(depth, "labels")


_TASK_FIELDS = ["id", "name", "size", "mode", "overlap", "bugtracker", "created", "updated", "subset",
                "start_frame", "stop_frame", "frame_filter"]


def _write_segments_and_people(w: _Writer, depth: int, doc: dict) -> None:
    """<segments> (when there are any), <owner> and <assignee> of a task or job block."""
    segments = doc.get("segments") or []
    if segments:
        w.open(depth, "segments")
        for seg in segments:
            w.open(depth + 1, "segment")
            for key in ("id", "start", "stop", "url"):
                w.leaf(depth + 2, key, seg.get(key, ""))
            w.close(depth + 1, "segment")
        w.close(depth, "segments")
    _write_user(w, depth, "owner", doc.get("owner"))
    _write_user(w, depth, "assignee", doc.get("assignee"))


def _write_project_meta(w: _Writer, meta: dict, labels: Labels) -> None:
    """<project>: id, name, bugtracker, created, updated, <tasks> (task blocks without labels),
    subsets (newline-joined), owner, assignee, labels."""
    w.open(2, "project")
    for key in ("id", "name", "bugtracker", "created", "updated"):
        w.leaf(3, key, meta.get(key, "") if meta.get(key) is not None else "")
    w.open(3, "tasks")
    for task in meta.get("tasks") or ():
        w.open(4, "task")
        for key in _TASK_FIELDS:
            w.leaf(5, key, task.get(key, "") if task.get(key) is not None else "")
        _write_segments_and_people(w, 5, task)
        w.close(4, "task")
    w.close(3, "tasks")
    w.leaf(3, "subsets", "\n".join(meta.get("subsets") or []))
    _write_user(w, 3, "owner", meta.get("owner"))
    _write_user(w, 3, "assignee", meta.get("assignee"))
    _write_labels(w, 3, labels)
    w.close(2, "project")


def _write_meta(w: _Writer, dataset: dict, labels: Labels) -> None:
    meta = dict(dataset.get("meta") or {})
    for nested in ("task", "job", "project"):  # {"task": {...fields}} is accepted as well as flat fields
        if isinstance(meta.get(nested), dict):
            meta = dict(meta[nested], kind=nested, **{k: v for k, v in meta.items() if k not in ("task", "job", "project", "kind")})
            break
    kind = meta.get("kind", "task")
    frames = dataset["frames"]
    w.open(1, "meta")
    if kind == "project":
        _write_project_meta(w, meta, labels)
        w.leaf(2, "dumped", meta.get("dumped") or str(datetime.datetime.now(datetime.timezone.utc)))
        w.close(1, "meta")
        return
    w.open(2, kind)
    fields = list(_TASK_FIELDS)
    if kind == "job":
        fields.remove("name")
    defaults = {"size": len(frames), "mode": "interpolation" if dataset.get("video") else "annotation",
                "overlap": 0, "subset": "default",
                "start_frame": min((f["frame"] for f in frames), default=0),
                "stop_frame": stop_frame(dataset), "frame_filter": ""}
    for key in fields:
        value = meta.get(key, defaults.get(key, ""))
        w.leaf(3, key, "" if value is None else value)
    _write_segments_and_people(w, 3, meta)
    _write_labels(w, 3, labels)
    size = meta.get("original_size")
    if size and kind == "task":
        w.open(3, "original_size")
        w.leaf(4, "width", size["width"])
        w.leaf(4, "height", size["height"])
        w.close(3, "original_size")
    if meta.get("source") and kind == "task":
        w.leaf(3, "source", meta["source"])
    w.close(2, kind)
    if size and kind == "job":
        w.open(2, "original_size")
        w.leaf(3, "width", size["width"])
        w.leaf(3, "height", size["height"])
        w.close(2, "original_size")
    w.leaf(2, "dumped", meta.get("dumped") or str(datetime.datetime.now(datetime.timezone.utc)))
    w.close(1, "meta")


# ---------------------------------------------------------------------------------------------
# shapes

def _geometry(shape: dict) -> list[tuple[str, str]]:
    kind, p = shape["type"], shape.get("points") or []
    rot = (shape.get("rotation") or 0.0) % 360
    if kind == "rectangle":
        out = [("xtl", _f(p[0])), ("ytl", _f(p[1])), ("xbr", _f(p[2])), ("ybr", _f(p[3]))]
        if rot:
            out.append(("rotation", _f(rot)))
        return out
    if kind in ("polygon", "polyline", "points"):
        return [("points", ";".join("%s,%s" % (_f(p[i]), _f(p[i + 1])) for i in range(0, len(p) - 1, 2)))]
    if kind == "ellipse":
        out = [("cx", _f(p[0])), ("cy", _f(p[1])), ("rx", _f(p[2] - p[0])), ("ry", _f(p[1] - p[3]))]
        if rot:
            out.append(("rotation", _f(rot)))
        return out
    if kind == "cuboid":
        names = ["xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
                 "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2"]
        return [(n, _f(v)) for n, v in zip(names, p)]
    if kind == "mask":
        m = decode_cvat_mask(p)
        runs = [int(v) for v in p[:-4]]
        return [("rle", ", ".join(str(r) for r in runs)), ("left", m.left), ("top", m.top),
                ("width", m.width), ("height", m.height)]
    return []


_TAGS = {"rectangle": "box", "polygon": "polygon", "polyline": "polyline", "points": "points",
         "ellipse": "ellipse", "cuboid": "cuboid", "mask": "mask", "skeleton": "skeleton"}


def _write_attrs(w: _Writer, depth: int, labels: Labels, obj: dict) -> None:
    for name, value in labels.stored_attributes(obj["label_id"], obj.get("attributes")):
        w.leaf(depth, "attribute", value, [("name", name)])


def _image_shape(w: _Writer, depth: int, labels: Labels, shape: dict) -> None:
    kind = shape["type"]
    tag = _TAGS.get(kind)
    if tag is None:
        return
    label = labels.name(shape["label_id"])
    group = shape.get("group") or 0
    source = shape.get("source") or "manual"
    if kind == "skeleton":
        attrs = [("label", label), ("source", source), ("z_order", shape.get("z_order") or 0)]
        if group:
            attrs.append(("group_id", group))
        w.open(depth, tag, attrs)
        for el in shape.get("elements") or ():
            if el.get("outside") and "track_id" in shape:
                pass
            ea = [("label", labels.name(el["label_id"])), ("source", el.get("source") or source),
                  ("outside", _b(el.get("outside"))), ("occluded", _b(el.get("occluded")))]
            ea += _geometry(el)
            if group:
                ea.append(("group_id", group))
            if labels.stored_attributes(el["label_id"], el.get("attributes")):
                w.open(depth + 1, "points", ea)
                _write_attrs(w, depth + 2, labels, el)
                w.close(depth + 1, "points")
            else:
                w.leaf(depth + 1, "points", "", ea)
        _write_attrs(w, depth + 1, labels, shape)
        w.close(depth, tag)
        return
    attrs = [("label", label), ("source", source), ("occluded", _b(shape.get("occluded")))]
    attrs += _geometry(shape)
    attrs.append(("z_order", shape.get("z_order") or 0))
    if group:
        attrs.append(("group_id", group))
    if labels.stored_attributes(shape["label_id"], shape.get("attributes")):
        w.open(depth, tag, attrs)
        _write_attrs(w, depth + 1, labels, shape)
        w.close(depth, tag)
    else:
        w.leaf(depth, tag, "", attrs)


def _write_images_body(w: _Writer, dataset: dict, labels: Labels) -> None:
    video = bool(dataset.get("video"))
    for frame, tags, shapes in FrameObjects(dataset):
        name = ("frame_%06d" % abs_frame(frame)) if video else frame["name"]
        attrs = [("id", abs_frame(frame)), ("name", name)]
        if frame.get("subset") and (dataset.get("meta") or {}).get("kind") == "project":
            attrs += [("subset", frame["subset"]), ("task_id", frame.get("task_id", ""))]
        attrs += [("width", frame["width"]), ("height", frame["height"])]
        if not tags and not shapes:
            w.leaf(1, "image", "", attrs)
            continue
        w.open(1, "image", attrs)
        for shape in sorted(shapes, key=lambda s: s.get("z_order") or 0):
            _image_shape(w, 2, labels, shape)
        for tag in tags:
            ta = [("label", labels.name(tag["label_id"])), ("source", tag.get("source") or "manual")]
            if tag.get("group"):
                ta.append(("group_id", tag["group"]))
            if labels.stored_attributes(tag["label_id"], tag.get("attributes")):
                w.open(2, "tag", ta)
                _write_attrs(w, 3, labels, tag)
                w.close(2, "tag")
            else:
                w.leaf(2, "tag", "", ta)
        w.close(1, "image")


def _track_element(w: _Writer, depth: int, labels: Labels, shape: dict, keyframe: bool, to_abs=None) -> None:
    kind = shape["type"]
    tag = _TAGS[kind]
    frame_no = to_abs(shape["frame"]) if to_abs else shape["frame"]
    if kind == "skeleton":
        w.open(depth, tag, [("frame", frame_no), ("keyframe", _b(keyframe)),
                            ("outside", _b(shape.get("outside"))), ("occluded", "0"),
                            ("z_order", shape.get("z_order") or 0)])
        for el in shape.get("elements") or ():
            ea = [("label", labels.name(el["label_id"])), ("keyframe", _b(el.get("keyframe"))),
                  ("outside", _b(el.get("outside") or shape.get("outside"))),
                  ("occluded", _b(el.get("occluded")))] + _geometry(el)
            if labels.stored_attributes(el["label_id"], el.get("attributes")):
                w.open(depth + 1, "points", ea)
                _write_attrs(w, depth + 2, labels, el)
                w.close(depth + 1, "points")
            else:
                w.leaf(depth + 1, "points", "", ea)
        _write_attrs(w, depth + 1, labels, shape)
        w.close(depth, tag)
        return
    attrs = [("frame", frame_no), ("keyframe", _b(keyframe)), ("outside", _b(shape.get("outside"))),
             ("occluded", _b(shape.get("occluded")))] + _geometry(shape)
    attrs.append(("z_order", shape.get("z_order") or 0))
    if labels.stored_attributes(shape["label_id"], shape.get("attributes")):
        w.open(depth, tag, attrs)
        _write_attrs(w, depth + 1, labels, shape)
        w.close(depth, tag)
    else:
        w.leaf(depth, tag, "", attrs)


def _video_track_frames(track: dict, stop: int, step: int, frames: set):
    """(shape, keyframe) per written frame of a track, outside keyframes included."""
    el_frames = []
    for el in track.get("elements") or ():
        per = {s["frame"]: (s, kf) for s, kf in
               expand_track_shapes(el.get("shapes") or [], stop, step, frames, include_outside=True)}
        el_frames.append((el, per))
    track_attrs = list(track.get("attributes") or ())
    for s, kf in expand_track_shapes(track.get("shapes") or [], stop, step, frames, include_outside=True):
        shape = dict(s, label_id=track["label_id"], attributes=track_attrs + list(s.get("attributes") or []))
        if el_frames:
            els = []
            for el, per in el_frames:
                if s["frame"] in per:
                    es, ekf = per[s["frame"]]
                    els.append(dict(es, label_id=el["label_id"], keyframe=ekf,
                                    attributes=list(el.get("attributes") or ()) + list(es.get("attributes") or ())))
            shape["elements"] = els
            kf = kf or any(e["keyframe"] for e in els)
        yield shape, kf


def _abs_mapper(frames: list[dict]):
    """frame number → absolute data frame number (`abs_frame`), extrapolated linearly for
    numbers between/after the given frames; None when no frame carries one (identity)."""
    known = {f["frame"]: f["abs_frame"] for f in frames if "abs_frame" in f}
    if not known:
        return None
    pts = sorted(known.items())
    (r0, a0), (r1, a1) = pts[0], pts[-1]
    ratio = (a1 - a0) / (r1 - r0) if r1 != r0 else 1
    return lambda f: known[f] if f in known else int(round(a0 + (f - r0) * ratio))


def _write_video_body(w: _Writer, dataset: dict, labels: Labels) -> None:
    ann = dataset.get("annotations") or {}
    frames = {f["frame"] for f in dataset["frames"]}
    stop = stop_frame(dataset)
    step = number_step(dataset["frames"], dataset.get("frame_step") or 1)
    next_id = 0
    to_abs = _abs_mapper(dataset["frames"])

    def track_open(label_id, source, group):
        nonlocal next_id
        attrs = [("id", next_id), ("label", labels.name(label_id)), ("source", source or "manual")]
        if group:
            attrs.append(("group_id", group))
        next_id += 1
        w.open(1, "track", attrs)

    for track in ann.get("tracks") or ():
        track_open(track["label_id"], track.get("source"), track.get("group"))
        for shape, kf in _video_track_frames(track, stop, step, frames):
            _track_element(w, 2, labels, shape, kf, to_abs)
        w.close(1, "track")
    for shape in ann.get("shapes") or ():
        if shape["type"] not in _TAGS:
            continue
        track_open(shape["label_id"], shape.get("source"), shape.get("group"))
        _track_element(w, 2, labels, dict(shape, outside=False), True, to_abs)
        if shape["frame"] + step < stop:
            out = dict(shape, frame=shape["frame"] + step, outside=True)
            if shape.get("elements"):
                out["elements"] = [dict(e, outside=True) for e in shape["elements"]]
            _track_element(w, 2, labels, out, True, to_abs)
        w.close(1, "track")


def export(dataset: dict, path, *, save_images: bool = False, image_bytes=None, video: bool = False) -> None:
    labels = Labels(dataset["labels"])
    with common.Archive(path) as archive:
        with archive.open("annotations.xml") as stream:
            w = _Writer(stream)
            stream.write('<?xml version="1.0" encoding="utf-8"?>\n')
            w.open(0, "annotations")
            w.leaf(1, "version", "1.1")
            _write_meta(w, dataset, labels)
            if video:
                _write_video_body(w, dataset, labels)
            else:
                _write_images_body(w, dataset, labels)
            w.close(0, "annotations")
        if save_images:
            is_video = bool(dataset.get("video"))
            project = (dataset.get("meta") or {}).get("kind") == "project"
            for subset, frames in subsets(dataset):
                for frame in frames:
                    sub = posixpath.join("images", subset) if project else "images"
                    common.write_image(archive, sub, frame, image_bytes, is_video)


def export_images(dataset, path, **kw):
    export(dataset, path, video=False, **kw)


def export_video(dataset, path, **kw):
    export(dataset, path, video=True, **kw)


# ---------------------------------------------------------------------------------------------
# import

def _num(el, name: str, default=None, required=False) -> float:
    v = el.get(name)
    if v is None:
        if required or default is None:
            raise FormatError(f"<{el.tag}> has no '{name}' attribute")
        return default
    return common.parse_float(v, f"<{el.tag} {name}>")


def _points(el) -> list[float]:
    text = el.get("points")
    if text is None:
        raise FormatError(f"<{el.tag}> has no 'points' attribute")
    out = []
    for pair in text.split(";"):
        if not pair.strip():
            continue
        xy = pair.split(",")
        if len(xy) != 2:
            raise FormatError(f"<{el.tag}> has malformed points '{text[:50]}'")
        out += [common.parse_float(xy[0], "points"), common.parse_float(xy[1], "points")]
    return out


_KINDS = {v: k for k, v in _TAGS.items()}
_CUBOID = ["xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
           "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2"]


def _parse_geometry(el) -> tuple[str, list[float], float]:
    tag = el.tag
    kind = _KINDS.get(tag)
    if kind is None:
        raise FormatError(f"Unknown shape element <{tag}>")
    rot = _num(el, "rotation", 0.0)
    if kind == "rectangle":
        return kind, [_num(el, k, required=True) for k in ("xtl", "ytl", "xbr", "ybr")], rot
    if kind in ("polygon", "polyline", "points"):
        return kind, _points(el), rot
    if kind == "ellipse":
        cx, cy, rx, ry = (_num(el, k, required=True) for k in ("cx", "cy", "rx", "ry"))
        return kind, [cx, cy, cx + rx, cy - ry], rot
    if kind == "cuboid":
        return kind, [_num(el, k, required=True) for k in _CUBOID], rot
    if kind == "mask":
        try:
            runs = [int(float(r)) for r in (el.get("rle") or "").split(",") if r.strip()]
        except ValueError:
            raise FormatError("<mask> has a malformed 'rle'") from None
        left, top, width, height = (int(_num(el, k, required=True)) for k in ("left", "top", "width", "height"))
        return kind, [float(r) for r in runs] + [left, top, left + width - 1, top + height - 1], 0.0
    return kind, [], 0.0


def _attrs(el) -> dict:
    return {a.get("name"): (a.text or "") for a in el.findall("attribute") if a.get("name")}


def _label(el) -> str:
    name = el.get("label")
    if name is None:
        raise FormatError(f"<{el.tag}> has no 'label' attribute")
    return name


def _bool_attr(el, name: str, required=False) -> bool:
    v = el.get(name)
    if v is None:
        if required:
            raise FormatError(f"<{el.tag}> has no '{name}' attribute")
        return False
    return v.strip() not in ("0", "false", "False", "")


def _import_image(el, builder: ImportBuilder, matcher: FrameMatcher) -> None:
    name = el.get("name") or ""
    ident = el.get("id")
    try:
        rel = matcher.by_abs.get(int(ident)) if ident is not None else None
    except ValueError:
        rel = None
    frame = matcher.match(posixpath.splitext(name)[0] if name else (ident or ""), rel)
    for child in el:
        if child.tag == "tag":
            builder.add_tag(_label(child), frame, _attrs(child), group=child.get("group_id") or 0)
            continue
        if child.tag not in _KINDS:
            continue
        label = _label(child)
        group = int(_num(child, "group_id", 0))
        z = int(_num(child, "z_order", 0))
        if child.tag == "skeleton":
            elements = []
            for p in child.findall("points"):
                elements.append({"label": _label(p), "points": _points(p),
                                 "occluded": _bool_attr(p, "occluded"), "outside": _bool_attr(p, "outside"),
                                 "attributes": _attrs(p)})
            _resolve_elements(builder, label, elements)
            builder.add_shape(label, frame, "skeleton", [], _attrs(child), group=group, z_order=z,
                              occluded=False, rotation=0.0, elements=elements)
            continue
        kind, points, rot = _parse_geometry(child)
        builder.add_shape(label, frame, kind, points, _attrs(child), group=group, z_order=z,
                          occluded=_bool_attr(child, "occluded"), rotation=rot)


def _resolve_elements(builder: ImportBuilder, label: str, elements: list[dict]) -> None:
    parent = builder.labels.resolve(label)
    for e in elements:
        e["label"] = builder.labels.resolve(e["label"], parent["id"])["id"]


def _frame_of(el, frames: dict) -> int:
    """Track `frame` attributes are absolute data frame numbers: back to the instance's numbering."""
    if el.get("frame") is None:
        raise FormatError(f"<{el.tag}> in a track has no 'frame' attribute")
    f = int(_num(el, "frame", required=True))
    if f not in frames:
        raise FormatError(f"Track shape on frame {f}, which is not a frame of this task")
    return frames[f]


def _import_track(el, builder: ImportBuilder, frames: dict) -> None:
    labels = builder.labels
    lab = labels.resolve(_label(el))
    group = int(_num(el, "group_id", 0))
    children = [c for c in el if c.tag in _KINDS]
    if not children:
        return
    for c in children:
        if c.get("keyframe") is None:
            raise FormatError(f"<{c.tag}> in a track has no 'keyframe' attribute")
    if children[0].tag == "mask":
        c = children[0]
        kind, points, rot = _parse_geometry(c)
        builder.add_shape(lab["id"], _frame_of(c, frames), kind, points, _attrs(c), group=group,
                          z_order=int(_num(c, "z_order", 0)), occluded=_bool_attr(c, "occluded"), rotation=0.0)
        return
    track = {"label_id": lab["id"], "group": group, "source": "file", "attributes": [], "shapes": [],
             "elements": []}
    specs = {s["name"]: s for s in labels.specs.get(lab["id"], ())}
    element_tracks: dict[int, dict] = {}
    for c in children:
        if not _bool_attr(c, "keyframe"):
            continue
        frame = _frame_of(c, frames)
        attrs = _attrs(c)
        immutable = {k: v for k, v in attrs.items() if k in specs and not specs[k].get("mutable")}
        mutable = {k: v for k, v in attrs.items() if k not in immutable}
        if immutable and not track["attributes"]:
            track["attributes"] = labels.attribute_values(lab["id"], immutable)
        if c.tag == "skeleton":
            kind, points, rot = "skeleton", [], 0.0
            for p in c.findall("points"):
                sub = labels.resolve(_label(p), lab["id"])
                for req in ("occluded", "outside"):
                    if p.get(req) is None:
                        raise FormatError(f"<points> of a skeleton has no '{req}' attribute")
                et = element_tracks.setdefault(sub["id"], {"label_id": sub["id"], "frame": frame, "group": 0,
                                                           "source": "file", "attributes": [], "shapes": []})
                if p.get("keyframe") is not None and not _bool_attr(p, "keyframe"):
                    continue
                et["shapes"].append({"type": "points", "frame": frame, "occluded": _bool_attr(p, "occluded"),
                                     "outside": _bool_attr(p, "outside"), "z_order": 0, "rotation": 0.0,
                                     "points": _points(p),
                                     "attributes": labels.attribute_values(sub["id"], _attrs(p))})
        else:
            kind, points, rot = _parse_geometry(c)
        track["shapes"].append({"type": kind, "frame": frame, "occluded": _bool_attr(c, "occluded"),
                                "outside": _bool_attr(c, "outside"), "z_order": int(_num(c, "z_order", 0)),
                                "rotation": rot % 360.0, "points": points,
                                "attributes": labels.attribute_values(lab["id"], mutable)})
    if not track["shapes"]:
        return
    track["frame"] = track["shapes"][0]["frame"]
    if element_tracks:
        track["elements"] = [t for t in element_tracks.values() if t["shapes"]]
        for t in track["elements"]:
            t["frame"] = t["shapes"][0]["frame"]
    builder.add_track(track)


def import_(path, labels: list[dict], frames: list[dict], *, video: bool = False, frame_step: int = 1,
            stop: int | None = None, **_) -> dict:
    builder = ImportBuilder(labels, frames, frame_step=frame_step, stop=stop, default_source="file")
    matcher = FrameMatcher(frames, video=video)
    numbers = {abs_frame(f): f["frame"] for f in frames}
    with common.open_input(path) as root:
        xmls = common.files(root, ".xml")
        if not xmls:
            raise FormatError("The annotation file has no .xml file (CVAT 1.1 expects annotations.xml)")
        for xml in xmls:
            _import_file(xml, builder, matcher, numbers)
    return builder.result()


def _import_file(xml: Path, builder, matcher, numbers) -> None:
    rel = xml.name
    try:
        depth = 0
        seen_root = False
        for event, el in iterparse(str(xml), events=("start", "end"), forbid_dtd=True):
            if event == "start":
                if depth == 0:
                    if el.tag != "annotations":
                        raise FormatError(f"{rel}: the root element is <{el.tag}>, not <annotations>")
                    seen_root = True
                depth += 1
                continue
            depth -= 1
            if depth == 1:
                if el.tag == "image":
                    _import_image(el, builder, matcher)
                elif el.tag == "track":
                    _import_track(el, builder, numbers)
                el.clear()
        if not seen_root:
            raise FormatError(f"{rel}: empty XML document")
    except ParseError as e:
        raise FormatError(f"{rel} is not valid XML: {e}") from None
    except DefusedXmlException as e:
        raise FormatError(f"{rel} was refused: {type(e).__name__} (XML entities/DTDs are not allowed)") from None
