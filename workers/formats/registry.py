"""The formats the server really supports: exact names, extensions, versions,
dimension, and the functions that export and import them.

`/api/server/annotation/formats` publishes exactly these entries (`listing()`); the export
and import requests look formats up here by the name clients send.
Exporters: fn(dataset, path, save_images=, image_bytes=). Importers:
fn(path, labels, frames, video=, frame_step=, stop=[, conv_mask_to_poly=]) → LabeledData.
Every failure of a format function is a FormatError whose message names the problem;
`export_dataset` / `import_annotations` guarantee that (a reader that trips over input it
does not understand is reported as such, never as a traceback).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from workers.formats import (camvid, cityscapes, coco, cvat_xml, datumaro, icdar, imagenet, kitti, labelme, lfw,
                             market1501, masks, mot, mots, open_images, ultralytics, vggface2, voc, widerface, yolo)
from workers.formats.model import FormatError


@dataclass(frozen=True)
class Format:
    name: str
    ext: str
    version: str
    dimension: str = "2d"


EXPORTERS: dict[str, tuple[Format, Callable]] = {}
IMPORTERS: dict[str, tuple[Format, Callable]] = {}


def _version(name: str) -> str:
    return name.rsplit(" ", 1)[1]


def _export(name, fn, ext="ZIP", dimension="2d"):
    EXPORTERS[name] = (Format(name, ext, _version(name), dimension), fn)


def _guarded(name: str, fn: Callable) -> Callable:
    """Any error a reader raises on input it does not understand becomes a FormatError naming
    the format and the problem (never a traceback in the request's message)."""
    def read(path, labels, frames, **options):
        try:
            return fn(path, labels, frames, **options)
        except FormatError:
            raise
        except RecursionError:
            raise FormatError(f"{name}: the file is nested too deeply") from None
        except MemoryError:
            raise FormatError(f"{name}: the file is too large to read") from None
        except Exception as e:  # noqa: BLE001 - garbage input must end as a clear message
            raise FormatError(f"{name}: the file could not be read ({type(e).__name__}: {e})") from None
    read.__wrapped__ = fn
    return read


def _import(name, fn, ext="ZIP", dimension="2d"):
    IMPORTERS[name] = (Format(name, ext, _version(name), dimension), _guarded(name, fn))


# Order as CVAT lists them (formats.md §1).
_export("CVAT for images 1.1", cvat_xml.export_images)
_export("CVAT for video 1.1", cvat_xml.export_video)
_import("CVAT 1.1", cvat_xml.import_, "XML, ZIP")
_export("COCO 1.0", coco.export_instances)
_import("COCO 1.0", coco.import_instances, "JSON, ZIP")
_export("COCO Keypoints 1.0", coco.export_keypoints)
_import("COCO Keypoints 1.0", coco.import_keypoints, "JSON, ZIP")
_export("Datumaro 1.0", datumaro.export)
_import("Datumaro 1.0", datumaro.import_, "JSON, ZIP")
_export("YOLO 1.1", yolo.export)
_import("YOLO 1.1", yolo.import_)
for _kind, _title, _imports in (("detection", "Detection", True), ("track", "Detection Track", False),
                                ("segmentation", "Segmentation", True),
                                ("obb", "Oriented Bounding Boxes", True), ("pose", "Pose", True),
                                ("classification", "Classification", True)):
    _export(f"Ultralytics YOLO {_title} 1.0", partial(ultralytics.export, kind=_kind))
    if _imports:
        _import(f"Ultralytics YOLO {_title} 1.0", partial(ultralytics.import_, kind=_kind))
_export("PASCAL VOC 1.1", voc.export)
_import("PASCAL VOC 1.1", voc.import_)
_export("Segmentation mask 1.1", masks.export)
_import("Segmentation mask 1.1", masks.import_)
_export("LabelMe 3.0", labelme.export)
_import("LabelMe 3.0", labelme.import_)
_export("MOT 1.1", mot.export)
_import("MOT 1.1", mot.import_)
_export("ImageNet 1.0", imagenet.export)
_import("ImageNet 1.0", imagenet.import_)
_export("MOTS PNG 1.0", mots.export)
_import("MOTS PNG 1.0", mots.import_)
_export("CamVid 1.0", camvid.export)
_import("CamVid 1.0", camvid.import_)
_export("Cityscapes 1.0", cityscapes.export)
_import("Cityscapes 1.0", cityscapes.import_)
_export("KITTI 1.0", kitti.export)
_import("KITTI 1.0", kitti.import_)
_export("ICDAR Recognition 1.0", icdar.export_recognition)
_import("ICDAR Recognition 1.0", icdar.import_recognition)
_export("ICDAR Localization 1.0", icdar.export_localization)
_import("ICDAR Localization 1.0", icdar.import_localization)
_export("ICDAR Segmentation 1.0", icdar.export_segmentation)
_import("ICDAR Segmentation 1.0", icdar.import_segmentation)
_export("WiderFace 1.0", widerface.export)
_import("WiderFace 1.0", widerface.import_)
_export("VGGFace2 1.0", vggface2.export)
_import("VGGFace2 1.0", vggface2.import_)
_export("Open Images V6 1.0", open_images.export)
_import("Open Images V6 1.0", open_images.import_)
_export("LFW 1.0", lfw.export)
_import("LFW 1.0", lfw.import_)
_export("Market-1501 1.0", market1501.export)
_import("Market-1501 1.0", market1501.import_)


def exporter(name: str):
    """(Format, fn) or None."""
    return EXPORTERS.get(name)


def importer(name: str):
    """(Format, fn) or None."""
    return IMPORTERS.get(name)


def _entry(fmt: Format) -> dict:
    return {"name": fmt.name, "ext": fmt.ext, "version": fmt.version, "enabled": True,
            "dimension": fmt.dimension}


def listing() -> dict:
    """The body of /api/server/annotation/formats."""
    return {"importers": [_entry(f) for f, _ in IMPORTERS.values()],
            "exporters": [_entry(f) for f, _ in EXPORTERS.values()]}


def export_dataset(format_name: str, dataset: dict, path, *, save_images: bool = False,
                   image_bytes=None) -> None:
    """Write the archive of `dataset` (the intermediate model, model.py) to `path`."""
    found = exporter(format_name)
    if found is None:
        raise FormatError(f"Unknown format specified for the request: '{format_name}'")
    if save_images and image_bytes is None:
        raise FormatError("save_images needs an image source")
    found[1](dataset, path, save_images=save_images, image_bytes=image_bytes)


def import_annotations(format_name: str, path, labels: list[dict], frames: list[dict], **options) -> dict:
    """Parse `path` (a bare file, an archive or a directory) into LabeledData for the task whose
    labels (API shape) and frames ({frame, name, width, height}) are given. Nothing is written:
    callers replace or append annotations only after this returned."""
    found = importer(format_name)
    if found is None:
        raise FormatError(f"Unknown input format '{format_name}'")
    return found[1](path, labels, frames, **options)
