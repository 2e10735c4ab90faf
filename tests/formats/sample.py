"""A small CVAT-shaped dataset in the intermediate model, covering every shape type, tags,
tracks (incl. a skeleton track), groups and each attribute input type."""
from __future__ import annotations

import copy
import io

from PIL import Image

SVG = ('<line x1="10" y1="10" x2="20" y2="20" data-type="edge" data-node-from="1" data-node-to="2"></line>'
       '<circle r="1.5" cx="10" cy="10" data-type="element node" data-element-id="1" data-node-id="1" '
       'data-label-id="4"></circle>'
       '<circle r="1.5" cx="20" cy="20" data-type="element node" data-element-id="2" data-node-id="2" '
       'data-label-id="5"></circle>')


def _attr(i, name, kind, values, default, mutable=False):
    return {"id": i, "name": name, "input_type": kind, "values": values, "default_value": default,
            "mutable": mutable}


LABELS = [
    {"id": 1, "name": "car", "color": "#ff0000", "type": "any", "svg": "", "sublabels": [],
     "attributes": [_attr(1, "color", "select", ["blue", "red"], "blue"),
                    _attr(2, "parked", "checkbox", ["false"], "false", mutable=True),
                    _attr(3, "count", "number", ["0", "10", "1"], "0"),
                    _attr(4, "note", "text", [""], ""),
                    _attr(5, "model", "radio", ["a", "b"], "a")]},
    {"id": 2, "name": "person", "color": "#00ff00", "type": "any", "svg": "", "sublabels": [],
     "attributes": []},
    {"id": 3, "name": "skel", "color": "#0000ff", "type": "skeleton", "svg": SVG, "attributes": [],
     "sublabels": [{"id": 4, "name": "nose", "color": "#111111", "type": "points", "attributes": []},
                   {"id": 5, "name": "tail", "color": "#222222", "type": "points", "attributes": []}]},
    {"id": 6, "name": "bike", "color": "#ffff00", "type": "any", "svg": "", "sublabels": [],
     "attributes": []},
]

FRAMES = [
    {"frame": 0, "name": "img1.jpg", "width": 64, "height": 48},
    {"frame": 1, "name": "sub/img2.png", "width": 64, "height": 48},
    {"frame": 2, "name": "img3.jpg", "width": 64, "height": 48},
    {"frame": 3, "name": "img4.jpg", "width": 64, "height": 48},
    {"frame": 4, "name": "img5.jpg", "width": 64, "height": 48},
]

CAR_ATTRS = [{"spec_id": 1, "value": "red"}, {"spec_id": 2, "value": "true"}, {"spec_id": 3, "value": "3"},
             {"spec_id": 4, "value": "hello, \"world\""}, {"spec_id": 5, "value": "b"}]


def shape(kind, label, frame, points, **kw):
    s = {"type": kind, "label_id": label, "frame": frame, "points": [float(p) for p in points],
         "group": 0, "source": "manual", "occluded": False, "outside": False, "z_order": 0,
         "rotation": 0.0, "attributes": []}
    s.update(kw)
    return s


def skeleton(frame, nose, tail, **kw):
    return shape("skeleton", 3, frame, [], elements=[
        shape("points", 4, frame, nose), shape("points", 5, frame, tail, occluded=True)], **kw)


MASK = [1, 4, 1, 40, 5, 42, 6]  # formats.md §3.1 worked example

SHAPES = [
    shape("rectangle", 1, 0, [10, 10, 30, 20], attributes=copy.deepcopy(CAR_ATTRS), occluded=True),
    shape("rectangle", 2, 0, [5, 5, 15, 25], rotation=30.0),
    shape("polygon", 2, 0, [1, 1, 20, 2, 10, 15], z_order=1),
    shape("polyline", 6, 0, [1, 40, 10, 45, 20, 40]),
    shape("points", 6, 0, [3, 3, 5, 7]),
    shape("ellipse", 1, 1, [32, 24, 40, 18]),
    shape("mask", 2, 1, MASK),
    skeleton(1, [12, 12], [22, 22]),
    shape("cuboid", 6, 1, [1, 1, 1, 10, 10, 1, 10, 10, 3, 3, 3, 12, 12, 3, 12, 12]),
    shape("rectangle", 6, 3, [2, 2, 8, 9], group=1),
    shape("polygon", 6, 3, [20, 20, 30, 20, 30, 30, 20, 30], group=1),
]

TAGS = [
    {"label_id": 1, "frame": 0, "group": 0, "source": "manual", "attributes": [{"spec_id": 1, "value": "red"}]},
    {"label_id": 2, "frame": 1, "group": 0, "source": "manual", "attributes": []},
]

TRACKS = [
    {"label_id": 1, "frame": 0, "group": 0, "source": "manual", "attributes": [{"spec_id": 1, "value": "red"}],
     "shapes": [
         {"type": "rectangle", "frame": 0, "occluded": False, "outside": False, "z_order": 0, "rotation": 0.0,
          "points": [0.0, 0.0, 10.0, 10.0], "attributes": [{"spec_id": 2, "value": "false"}]},
         {"type": "rectangle", "frame": 2, "occluded": True, "outside": False, "z_order": 0, "rotation": 0.0,
          "points": [20.0, 10.0, 30.0, 20.0], "attributes": [{"spec_id": 2, "value": "true"}]},
         {"type": "rectangle", "frame": 3, "occluded": False, "outside": True, "z_order": 0, "rotation": 0.0,
          "points": [20.0, 10.0, 30.0, 20.0], "attributes": []}],
     "elements": []},
    {"label_id": 3, "frame": 2, "group": 0, "source": "manual", "attributes": [],
     "shapes": [{"type": "skeleton", "frame": 2, "occluded": False, "outside": False, "z_order": 0,
                 "rotation": 0.0, "points": [], "attributes": []}],
     "elements": [
         {"label_id": 4, "frame": 2, "group": 0, "source": "manual", "attributes": [],
          "shapes": [{"type": "points", "frame": 2, "occluded": False, "outside": False, "z_order": 0,
                      "rotation": 0.0, "points": [30.0, 30.0], "attributes": []}]},
         {"label_id": 5, "frame": 2, "group": 0, "source": "manual", "attributes": [],
          "shapes": [{"type": "points", "frame": 2, "occluded": False, "outside": False, "z_order": 0,
                      "rotation": 0.0, "points": [40.0, 40.0], "attributes": []}]}]},
]


def dataset(**kw) -> dict:
    d = {"labels": copy.deepcopy(LABELS), "frames": copy.deepcopy(FRAMES),
         "annotations": {"tags": copy.deepcopy(TAGS), "shapes": copy.deepcopy(SHAPES),
                         "tracks": copy.deepcopy(TRACKS)}}
    d.update(kw)
    return d


def image_bytes(frame: dict):
    """A real encoded image per frame, in the frame's own format."""
    ext = frame["name"].rsplit(".", 1)[-1].lower()
    img = Image.new("RGB", (frame["width"], frame["height"]), (frame["frame"] * 40 % 256, 10, 10))
    buf = io.BytesIO()
    img.save(buf, "PNG" if ext == "png" else "JPEG")
    return buf.getvalue(), "." + ext


def by_kind(data: dict, kind: str, frame: int | None = None) -> list:
    return [s for s in data["shapes"] if s["type"] == kind and (frame is None or s["frame"] == frame)]


def attrs_of(obj: dict) -> dict:
    return {a["spec_id"]: a["value"] for a in obj.get("attributes") or ()}


def norm_points(points, nd=1):
    return tuple(round(float(p), nd) for p in points)


def key(shape: dict, nd=1, with_attrs=True, with_rotation=True) -> tuple:
    """A comparable summary of one shape."""
    k = (shape["frame"], shape["label_id"], shape["type"], norm_points(shape.get("points") or [], nd),
         bool(shape.get("occluded")))
    if with_rotation:
        k += (round(float(shape.get("rotation") or 0.0), 1),)
    if with_attrs:
        k += (tuple(sorted(attrs_of(shape).items())),)
    if shape.get("elements"):
        k += (tuple(sorted((e["label_id"], norm_points(e["points"], nd), bool(e.get("occluded")),
                            bool(e.get("outside"))) for e in shape["elements"])),)
    return k


def per_frame_shapes(data: dict, frames=None) -> list[dict]:
    """Shapes plus tracks expanded per frame (what frame-based formats hold)."""
    from workers.formats.model import FrameObjects
    d = {"labels": LABELS, "frames": frames or FRAMES, "annotations": data}
    out = []
    for frame, tags, shapes in FrameObjects(d):
        out += shapes
    return out


ICDAR_LABELS = [{"id": 1, "name": "icdar", "color": "#ff00ff", "type": "any", "svg": "", "sublabels": [],
                 "attributes": [{"id": 1, "name": "text", "input_type": "text", "values": [""], "default_value": "",
                                 "mutable": False}]}]


def icdar_dataset() -> dict:
    """A task in the shape the ICDAR formats expect: label `icdar` with a `text` attribute."""
    t = lambda v: [{"spec_id": 1, "value": v}]  # noqa: E731
    return {"labels": copy.deepcopy(ICDAR_LABELS), "frames": copy.deepcopy(FRAMES),
            "annotations": {"tags": [{"label_id": 1, "frame": 0, "group": 0, "source": "manual",
                                      "attributes": t('Hello, "quoted" word')},
                                     {"label_id": 1, "frame": 1, "group": 0, "source": "manual",
                                      "attributes": t("second")}],
                            "shapes": [shape("rectangle", 1, 0, [10, 10, 30, 20], attributes=t("box text")),
                                       shape("polygon", 1, 1, [1, 1, 20, 2, 20, 15, 1, 15], attributes=t("poly")),
                                       shape("rectangle", 1, 3, [2.5, 2, 8, 9])],
                            "tracks": []}}


def face_dataset() -> dict:
    """At most one box and one 5-point set per frame (VGGFace2)."""
    d = dataset()
    d["annotations"] = {"tags": [], "tracks": [], "shapes": [
        shape("rectangle", 2, 0, [10, 10, 30, 20]),
        shape("points", 2, 0, [12, 12, 18, 12, 15, 15, 13, 18, 17, 18]),
        shape("rectangle", 1, 1, [1.5, 2, 20, 25]),
        shape("points", 6, 3, [1, 1, 2, 2, 3, 3, 4, 4, 5, 5])]}
    return d


MARKET_LABELS = [{"id": 1, "name": "market-1501", "color": "#00ffff", "type": "tag", "svg": "", "sublabels": [],
                  "attributes": [
                      {"id": 1, "name": "query", "input_type": "checkbox", "values": ["false"], "default_value": "false",
                       "mutable": False},
                      {"id": 2, "name": "person_id", "input_type": "number", "values": ["0", "9999", "1"],
                       "default_value": "0", "mutable": False},
                      {"id": 3, "name": "camera_id", "input_type": "number", "values": ["0", "9", "1"],
                       "default_value": "0", "mutable": False}]}]


def market_dataset() -> dict:
    tag = lambda f, q, p, c: {"label_id": 1, "frame": f, "group": 0, "source": "manual", "attributes": [  # noqa: E731
        {"spec_id": 1, "value": q}, {"spec_id": 2, "value": p}, {"spec_id": 3, "value": c}]}
    return {"labels": copy.deepcopy(MARKET_LABELS), "frames": copy.deepcopy(FRAMES),
            "annotations": {"tags": [tag(0, "true", "12", "0"), tag(1, "false", "7", "2")], "shapes": [],
                            "tracks": []}}
