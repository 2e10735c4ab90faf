"""Run with the *datumaro* interpreter (PyPI datumaro lives in its own venv: it pins pillow~=12,
the server runs Pillow 13). Usage: python dm_reader.py <dir> <format> [json kwargs]
Prints one JSON object: {"items": {id: [[type, label, geometry…, attributes], …]}, "labels": [...]}."""
import json
import sys

import datumaro as dm
from datumaro.components.annotation import AnnotationType

path, fmt = sys.argv[1], sys.argv[2]
kwargs = json.loads(sys.argv[3]) if len(sys.argv) > 3 else {}
if "image_info" in kwargs:
    kwargs["image_info"] = {k: tuple(v) for k, v in kwargs["image_info"].items()}
ds = dm.Dataset.import_from(path, fmt, **kwargs)
cats = ds.categories().get(AnnotationType.label)
names = [c.name for c in cats] if cats else []
out = {}


def plain(v):
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return str(v)


for item in ds:
    anns = []
    for a in item.annotations:
        label = names[a.label] if getattr(a, "label", None) is not None and a.label < len(names) else None
        kind = a.type.name
        geo = None
        if kind == "bbox":
            geo = [round(float(v), 2) for v in a.get_bbox()]
        elif kind in ("polygon", "polyline", "points"):
            geo = [round(float(v), 2) for v in a.points]
        elif kind == "mask":
            geo = int(a.image.sum())
        elif kind == "caption":
            geo = a.caption
        anns.append([kind, label, geo, {k: plain(v) for k, v in a.attributes.items()}])
    out[item.id] = anns
print(json.dumps({"items": out, "labels": names}))
