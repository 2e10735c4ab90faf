"""The formats the server really supports: exact names, extensions, versions,
dimension, and the functions that export and import them.

`/api/server/annotation/formats` publishes exactly these entries; the export
and import requests look formats up here by the name clients send.
Exporters: fn(dataset, path, save_images=, image_bytes=). Importers:
fn(path, labels, frames, video=, frame_step=, stop=) → LabeledData.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from workers.formats import coco, cvat_xml, datumaro, ultralytics, yolo


@dataclass(frozen=True)
class Format:
    name: str
    ext: str
    version: str
    dimension: str = "2d"


EXPORTERS: dict[str, tuple[Format, Callable]] = {}
IMPORTERS: dict[str, tuple[Format, Callable]] = {}


def _export(name, ext, version, fn):
    EXPORTERS[name] = (Format(name, ext, version), fn)


def _import(name, ext, version, fn):
    IMPORTERS[name] = (Format(name, ext, version), fn)


_export("CVAT for images 1.1", "ZIP", "1.1", cvat_xml.export_images)
_export("CVAT for video 1.1", "ZIP", "1.1", cvat_xml.export_video)
_import("CVAT 1.1", "XML, ZIP", "1.1", cvat_xml.import_)
_export("COCO 1.0", "ZIP", "1.0", coco.export_instances)
_import("COCO 1.0", "JSON, ZIP", "1.0", coco.import_instances)
_export("COCO Keypoints 1.0", "ZIP", "1.0", coco.export_keypoints)
_import("COCO Keypoints 1.0", "JSON, ZIP", "1.0", coco.import_keypoints)
_export("Datumaro 1.0", "ZIP", "1.0", datumaro.export)
_import("Datumaro 1.0", "JSON, ZIP", "1.0", datumaro.import_)
_export("YOLO 1.1", "ZIP", "1.1", yolo.export)
_import("YOLO 1.1", "ZIP", "1.1", yolo.import_)
for _kind, _title in (("detection", "Detection"), ("segmentation", "Segmentation"), ("pose", "Pose")):
    _export(f"Ultralytics YOLO {_title} 1.0", "ZIP", "1.0", partial(ultralytics.export, kind=_kind))
    _import(f"Ultralytics YOLO {_title} 1.0", "ZIP", "1.0", partial(ultralytics.import_, kind=_kind))


def exporter(name: str):
    return EXPORTERS.get(name)


def importer(name: str):
    return IMPORTERS.get(name)


def listing() -> dict:
    """The body of /api/server/annotation/formats."""
    def entry(fmt: Format):
        return {"name": fmt.name, "ext": fmt.ext, "version": fmt.version, "enabled": True,
                "dimension": fmt.dimension}
    return {"importers": [entry(f) for f, _ in IMPORTERS.values()],
            "exporters": [entry(f) for f, _ in EXPORTERS.values()]}
