"""Labels of a task or a project: attributes, colors, skeletons.

A label document: {id, name, color, type, svg, attributes, parent_id, task_id,
project_id}. Sublabels of a skeleton are label documents with `parent_id`.
Attributes live inside their label and take ids from their own counter.
"""
from __future__ import annotations

import re

from domain.errors import Invalid, NotFound

LABEL_TYPES = ("any", "cuboid", "ellipse", "mask", "points", "polygon", "polyline", "rectangle",
               "skeleton", "interval", "tag")
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")

# A palette of distinct colors; new labels take the first one unused by their owner.
PALETTE = (
    "#33ddff", "#fa3253", "#34d1b7", "#ff007c", "#ff6037", "#ddff33", "#24b353", "#b83df5",
    "#66ff66", "#32b7fa", "#ffcc33", "#83e070", "#fafa37", "#5986b3", "#8c78f0", "#ff6a4d",
    "#f078f0", "#2a7dd1", "#b25050", "#cc3366", "#cc9933", "#aaf0d1", "#ff00cc", "#3df53d",
    "#fa32b7", "#3d3df5", "#733380", "#f0f050", "#000080", "#ff8c00", "#808000", "#00ffff",
)
_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")
_LABEL_NAME_ATTR = re.compile(r'data-label-name="([^"]*)"')
_LABEL_ID_ATTR = re.compile(r'data-label-id="(\d+)"')


def owner_labels(store, *, task_id=None, project_id=None, top_level_only=False) -> list[dict]:
    """Labels of one task or project (a project task reads its project's labels)."""
    index = store.derived("labels", "by_owner", _index_by_owner)
    labels = index.get(("p", project_id) if project_id is not None else ("t", task_id), [])
    if top_level_only:
        return [label for label in labels if label.get("parent_id") is None]
    return labels


def _index_by_owner(docs):
    index: dict[tuple, list] = {}
    for doc in docs:
        key = ("p", doc["project_id"]) if doc.get("project_id") is not None else ("t", doc.get("task_id"))
        index.setdefault(key, []).append(doc)
    return index


def sublabels_of(store, label_id: int) -> list[dict]:
    index = store.derived("labels", "by_parent", _index_by_parent)
    return index.get(label_id, [])


def _index_by_parent(docs):
    index: dict[int, list] = {}
    for doc in docs:
        if doc.get("parent_id") is not None:
            index.setdefault(doc["parent_id"], []).append(doc)
    return index


# -- validation -----------------------------------------------------------------------
def _check_attribute(spec: dict, where: str) -> None:
    values = spec.get("values") or []
    if spec["input_type"] == "number":
        try:
            low, high, step = (float(v) for v in values)
        except (TypeError, ValueError):
            raise Invalid({where: ["Number attributes need values [min, max, step] of numbers."]})
        if low > high or step <= 0:
            raise Invalid({where: ["Number attributes need min <= max and step > 0."]})
    elif spec["input_type"] in ("select", "radio"):
        if not values:
            raise Invalid({where: [f"Attribute '{spec['name']}' of type {spec['input_type']} needs values."]})
        default = spec.get("default_value")
        if default not in (None, "") and default not in values:
            raise Invalid({where: [f"Default value '{default}' of attribute '{spec['name']}' is not one of its values."]})
    elif spec["input_type"] == "checkbox" and values and values[0].lower() not in ("true", "false"):
        raise Invalid({where: ["Checkbox attributes take the value 'true' or 'false'."]})


def _check_unique(names, what: str) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise Invalid({"labels": [f"{what} '{name}' is given more than once."]})
        seen.add(name)


def _check_one(spec: dict) -> None:
    if not spec.get("name"):
        raise Invalid({"labels": [{"name": ["This field is required."]}]})
    color = spec.get("color") or ""
    if color and not _COLOR_RE.match(color):
        raise Invalid({"labels": [f"Color '{color}' of label '{spec['name']}' is not #rrggbb."]})
    attributes = spec.get("attributes") or []
    _check_unique([a["name"] for a in attributes], f"Attribute of label '{spec['name']}'")
    for a in attributes:
        _check_attribute(a, "labels")


def validate_specs(specs: list[dict], existing_names=()) -> None:
    """Check new label specs completely before anything is reserved or written."""
    _check_unique([s.get("name") for s in specs] + list(existing_names), "Label")
    for spec in specs:
        _check_one(spec)
        label_type = spec.get("type") or "any"
        subs = spec.get("sublabels") or []
        if subs and label_type != "skeleton":
            raise Invalid({"labels": [f"Only skeleton labels have sublabels ('{spec['name']}' is {label_type})."]})
        if label_type == "skeleton" and not subs:
            raise Invalid({"labels": [f"Skeleton '{spec['name']}' needs sublabels."]})
        _check_unique([s.get("name") for s in subs], f"Sublabel of '{spec['name']}'")
        for sub in subs:
            _check_one(sub)
        if label_type == "skeleton":
            _rewrite_svg(spec.get("svg") or "", {sub["name"]: 0 for sub in subs})


def _attribute_doc(spec: dict, attr_id: int) -> dict:
    values = [str(v) for v in (spec.get("values") or [])]
    default = spec.get("default_value")
    if default in (None, ""):
        default = values[0] if values else ""
    if spec["input_type"] == "checkbox" and not values:
        values = ["false"]
        default = default or "false"
    if spec["input_type"] == "text" and not values:
        values = [""]
    return {"id": attr_id, "name": spec["name"], "mutable": bool(spec.get("mutable", False)),
            "input_type": spec["input_type"], "values": values, "default_value": str(default)}


def _pick_color(used: set) -> str:
    for color in PALETTE:
        if color not in used:
            used.add(color)
            return color
    # More labels than palette entries: derive further colors deterministically.
    n = len(used)
    while True:
        color = "#{:06x}".format((n * 2654435761) & 0xFFFFFF)
        n += 1
        if color not in used:
            used.add(color)
            return color


def _new_label_doc(store, spec: dict, owner: dict, used_colors: set, parent_id=None) -> dict:
    """A label document for an already validated spec (reserves its ids)."""
    color = spec.get("color") or ""
    attributes = spec.get("attributes") or []
    attr_ids = store.reserve_ids("attributes", len(attributes)) if attributes else []
    return {
        "id": store.reserve_ids("labels")[0],
        "name": spec["name"],
        "color": color.lower() if color else _pick_color(used_colors),
        "type": spec.get("type") or ("points" if parent_id is not None else "any"),
        "svg": spec.get("svg") or "",
        "attributes": [_attribute_doc(a, i) for a, i in zip(attributes, attr_ids)],
        "parent_id": parent_id,
        "task_id": owner.get("task_id"),
        "project_id": owner.get("project_id"),
    }


def _rewrite_svg(svg: str, ids_by_name: dict) -> str:
    """Point skeleton nodes at sublabel ids instead of names, as CVAT stores them."""
    def repl(match):
        name = match.group(1)
        if name not in ids_by_name:
            raise Invalid({"labels": [f"The skeleton svg names an unknown sublabel '{name}'."]})
        return f'data-label-id="{ids_by_name[name]}"'
    return _LABEL_NAME_ATTR.sub(repl, svg)


def create_labels(store, specs: list[dict], owner: dict) -> list[dict]:
    """Create labels (and sublabels) for `owner` = {"task_id": n} or {"project_id": n}.
    Runs inside the caller's transaction; validates everything before writing."""
    existing = owner_labels(store, **owner)
    validate_specs(specs, [l["name"] for l in existing if l.get("parent_id") is None])
    used_colors = {l["color"] for l in existing}
    docs = []
    for spec in specs:
        label = _new_label_doc(store, spec, owner, used_colors)
        sub_docs = [_new_label_doc(store, s, owner, used_colors, parent_id=label["id"])
                    for s in spec.get("sublabels") or []]
        if label["type"] == "skeleton":
            label["svg"] = _rewrite_svg(label["svg"], {s["name"]: s["id"] for s in sub_docs})
        docs.append(label)
        docs.extend(sub_docs)
    return store.insert_many("labels", docs) if docs else []


def patch_labels(store, specs: list[dict], owner: dict) -> None:
    """Apply the PATCH diff of a task's or project's `labels` (CVAT semantics):
    with id → update (or delete with `deleted`), without id → create; labels
    not mentioned stay. The whole diff is checked before anything is written."""
    existing = {l["id"]: l for l in owner_labels(store, **owner) if l.get("parent_id") is None}
    names = {l["id"]: l["name"] for l in existing.values()}
    to_create = []
    for spec in specs:
        if spec.get("id") is None:
            if spec.get("deleted"):
                raise Invalid({"labels": ["'deleted' needs the id of the label to delete."]})
            to_create.append(spec)
            continue
        if spec["id"] not in existing:
            raise NotFound(f"Not found label with id #{spec['id']} to change")
        if spec.get("deleted"):
            names.pop(spec["id"], None)
            continue
        if spec.get("name"):
            names[spec["id"]] = spec["name"]
        _check_update(store, existing[spec["id"]], spec)
    _check_unique(list(names.values()), "Label")
    validate_specs(to_create, names.values())
    for spec in specs:
        if spec.get("id") is None:
            continue
        if spec.get("deleted"):
            delete_label(store, spec["id"])
        else:
            update_label(store, spec["id"], spec)
    if to_create:
        create_labels(store, to_create, owner)


def _check_update(store, label: dict, spec: dict) -> None:
    """What update_label would refuse, found before any write."""
    if spec.get("color") and not _COLOR_RE.match(spec["color"]):
        raise Invalid({"labels": [f"Color '{spec['color']}' is not #rrggbb."]})
    attr_ids = {a["id"] for a in label["attributes"]}
    for attr in spec.get("attributes") or []:
        if attr.get("id") is not None and attr["id"] not in attr_ids:
            raise NotFound(f"Not found attribute with id #{attr['id']} to change")
        if not attr.get("deleted"):
            _check_attribute(attr, "labels")
    subs = spec.get("sublabels") or []
    if subs and label["type"] != "skeleton":
        raise Invalid({"labels": ["Only skeleton labels have sublabels."]})
    for sub in subs:
        _check_one(sub)


def update_label(store, label_id: int, spec: dict) -> dict:
    label = store.get("labels", label_id)
    if label is None:
        raise NotFound()
    owner = {"project_id": label["project_id"]} if label.get("project_id") is not None else {"task_id": label["task_id"]}
    if "name" in spec and spec["name"] != label["name"]:
        siblings = [l for l in owner_labels(store, **owner) if l.get("parent_id") == label.get("parent_id")]
        if any(l["name"] == spec["name"] and l["id"] != label_id for l in siblings):
            raise Invalid({"name": [f"Label '{spec['name']}' already exists."]})
        label["name"] = spec["name"]
    if spec.get("color"):
        if not _COLOR_RE.match(spec["color"]):
            raise Invalid({"color": [f"Color '{spec['color']}' is not #rrggbb."]})
        label["color"] = spec["color"].lower()
    new_type = spec.get("type")
    if new_type and "skeleton" not in (new_type, label["type"]):
        label["type"] = new_type
    removed_attributes = []
    by_id = {a["id"]: a for a in label["attributes"]}
    by_name = {a["name"]: a for a in label["attributes"]}
    for attr in spec.get("attributes") or []:
        target = by_id.get(attr.get("id")) if attr.get("id") is not None else by_name.get(attr["name"])
        if attr.get("id") is not None and target is None:
            raise NotFound(f"Not found attribute with id #{attr['id']} to change")
        if attr.get("deleted"):
            if target is not None:
                label["attributes"].remove(target)
                removed_attributes.append(target["id"])
            continue
        _check_attribute(attr, "attributes")
        fresh = _attribute_doc(attr, target["id"] if target else store.reserve_ids("attributes")[0])
        if target is None:
            if attr["name"] in by_name:
                raise Invalid({"attributes": [f"Attribute '{attr['name']}' is given more than once."]})
            label["attributes"].append(fresh)
            by_name[attr["name"]] = fresh
        else:
            if fresh["name"] != target["name"] and fresh["name"] in by_name:
                raise Invalid({"attributes": [f"Attribute '{fresh['name']}' is given more than once."]})
            target.update(fresh)
    subs = spec.get("sublabels") or []
    if subs:
        if label["type"] != "skeleton":
            raise Invalid({"sublabels": ["Only skeleton labels have sublabels."]})
        current = {s["id"]: s for s in sublabels_of(store, label_id)}
        for sub in subs:
            if sub.get("id") in current:
                update_label(store, sub["id"], sub)
        new_subs = [s for s in subs if s.get("id") is None]
        if new_subs:
            used = {l["color"] for l in owner_labels(store, **owner)}
            names = {s["name"] for s in current.values()}
            docs = []
            for sub in new_subs:
                _check_one(sub)
                if sub["name"] in names:
                    raise Invalid({"sublabels": [f"Sublabel '{sub['name']}' already exists."]})
                names.add(sub["name"])
                docs.append(_new_label_doc(store, sub, owner, used, parent_id=label_id))
            for doc in docs:
                store.insert("labels", doc)
    if "svg" in spec and spec["svg"] and label["type"] == "skeleton":
        ids = {s["name"]: s["id"] for s in sublabels_of(store, label_id)}
        label["svg"] = _rewrite_svg(spec["svg"], ids)
    stored = store.replace("labels", label)
    if removed_attributes:
        from domain import annotations  # it imports this module
        annotations.forget_attributes(store, label, removed_attributes)
    return stored


def delete_label(store, label_id: int) -> None:
    from domain import annotations  # it imports this module
    label = store.peek("labels", label_id)
    ids = [label_id] + [s["id"] for s in sublabels_of(store, label_id)]
    store.delete("labels", ids)
    if label is not None:
        annotations.forget_labels(store, label, ids)


def map_labels_by_name(store, source: list[dict], owner: dict) -> dict[int, int]:
    """For a task moving into a project: each task label (and sublabel) id →
    the id of the project's label of the same name. Unmappable → 400."""
    target = {l["name"]: l for l in owner_labels(store, **owner) if l.get("parent_id") is None}
    mapping = {}
    for label in source:
        if label.get("parent_id") is not None:
            continue
        match = target.get(label["name"])
        if match is None:
            raise Invalid({"project_id": [f"Target project does not have label with name '{label['name']}'"]})
        mapping[label["id"]] = match["id"]
        subs = {s["name"]: s["id"] for s in sublabels_of(store, match["id"])}
        for sub in sublabels_of(store, label["id"]):
            if sub["name"] not in subs:
                raise Invalid({"project_id": [f"Target project does not have sublabel '{sub['name']}' of '{label['name']}'"]})
            mapping[sub["id"]] = subs[sub["name"]]
    return mapping


def as_api(store, doc: dict) -> dict:
    """A label as GET /api/labels shows it (with its sublabels); also the
    shape the dataset formats take."""
    def attributes(d):
        return [dict(a) for a in d.get("attributes", [])]
    out = {"id": doc["id"], "name": doc["name"], "color": doc["color"], "type": doc["type"],
           "attributes": attributes(doc), "svg": doc.get("svg", ""),
           "parent_id": doc.get("parent_id"), "has_parent": doc.get("parent_id") is not None,
           "sublabels": [{"id": s["id"], "name": s["name"], "color": s["color"], "type": s["type"],
                          "attributes": attributes(s), "has_parent": True}
                         for s in sublabels_of(store, doc["id"])]}
    if doc.get("project_id") is not None:
        out["project_id"] = doc["project_id"]
    else:
        out["task_id"] = doc.get("task_id")
    return out
