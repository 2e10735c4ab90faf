"""COCO 1.0 exporter alone (no HTTP, no store) against a same-run baseline.

Dataset: 10,000 frames of 1920×1080 and 100,000 shapes (90% rectangles, 10% hexagons, in frame
order as the annotation store returns them), no images.
Baseline: the same COCO JSON built in memory as one dict (same areas, computed with the same
polygon rasteriser, since pycocotools' area is part of the content), serialised with orjson and
written into a ZIP. Measured: wall time of each (best of 3 interleaved runs), then the exporter's own peak
peak memory (input excluded) at 10k and 40k frames; it must grow less than 2× for 4×
the data. The output of both is checked to be the same JSON.
Memory: resident memory above the loaded input while exporting, sampled in a fresh process per run.

    python bench/export_formats.py [--frames 10000] [--shapes-per-frame 10]
"""
from __future__ import annotations

import argparse
import gc
import json
import math
import random
import sys
import tempfile
import time
import subprocess
import zipfile
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workers.formats import coco, geometry, registry  # noqa: E402
from workers.formats.model import Labels  # noqa: E402

W, H = 1920, 1080
LABELS = [{"id": i + 1, "name": n, "color": "#%06x" % (i * 40000), "type": "any", "svg": "", "sublabels": [],
           "attributes": [{"id": 1, "name": "parked", "input_type": "checkbox", "values": ["false"],
                           "default_value": "false", "mutable": False}] if n == "car" else []}
          for i, n in enumerate(["car", "person", "bike", "truck"])]


def build(frames: int, per_frame: int, seed: int = 1) -> dict:
    rnd = random.Random(seed)
    shapes = []
    for f in range(frames):
        for k in range(per_frame):
            label = rnd.randint(1, 4)
            x, y = rnd.uniform(0, W - 200), rnd.uniform(0, H - 200)
            w, h = rnd.uniform(10, 150), rnd.uniform(10, 150)
            attrs = [{"spec_id": 1, "value": "true"}] if label == 1 else []
            if k % 10 == 9:
                cx, cy, r = x + w / 2, y + h / 2, min(w, h) / 2
                pts = [round(v, 2) for a in range(6)
                       for v in (cx + r * math.cos(a * math.pi / 3), cy + r * math.sin(a * math.pi / 3))]
                kind = "polygon"
            else:
                pts = [round(x, 2), round(y, 2), round(x + w, 2), round(y + h, 2)]
                kind = "rectangle"
            shapes.append({"id": len(shapes) + 1, "type": kind, "label_id": label, "frame": f, "points": pts,
                           "group": 0, "source": "manual", "occluded": False, "outside": False, "z_order": 0,
                           "rotation": 0.0, "attributes": attrs})
    return {"labels": LABELS,
            "frames": [{"frame": i, "name": "images/frame_%06d.jpg" % i, "width": W, "height": H} for i in range(frames)],
            "annotations": {"tags": [], "shapes": shapes, "tracks": []}}


def baseline(dataset: dict, path: Path) -> None:
    """The same JSON built in memory, orjson, one ZIP member."""
    labels = Labels(dataset["labels"])
    images = [{"id": i + 1, "width": f["width"], "height": f["height"], "file_name": f["name"], "license": 0,
               "flickr_url": "", "coco_url": "", "date_captured": 0} for i, f in enumerate(dataset["frames"])]
    image_of = {f["frame"]: i + 1 for i, f in enumerate(dataset["frames"])}
    sizes = {f["frame"]: (f["width"], f["height"]) for f in dataset["frames"]}
    annotations = []
    for s in dataset["annotations"]["shapes"]:
        attrs = {"parked": True} if s["label_id"] == 1 else {}
        if s["label_id"] == 1:
            attrs["parked"] = any(a["value"] == "true" for a in s["attributes"])
        attrs["occluded"] = s["occluded"]
        p = s["points"]
        if s["type"] == "rectangle":
            attrs["rotation"] = 0.0
            bbox = [p[0], p[1], round(p[2] - p[0], 2), round(p[3] - p[1], 2)]
            seg, area = [], float(round(bbox[2] * bbox[3], 2))
        else:
            w, h = sizes[s["frame"]]
            bbox = [round(v, 2) for v in geometry.points_bbox(p)]
            seg, area = [p], float(geometry.polygon_area(p, h, w))
        annotations.append({"id": len(annotations) + 1, "image_id": image_of[s["frame"]],
                            "category_id": labels.index[s["label_id"]] + 1, "bbox": bbox, "segmentation": seg,
                            "area": area, "iscrowd": 0, "attributes": attrs})
    doc = {"licenses": coco.LICENSES, "info": coco.INFO,
           "categories": [{"id": i + 1, "name": l["name"], "supercategory": ""} for i, l in enumerate(labels.all)],
           "images": images, "annotations": annotations}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("annotations/instances_default.json", orjson.dumps(doc))


def exporter(dataset: dict, path: Path) -> None:
    registry.export_dataset("COCO 1.0", dataset, path)


def best_time(fn, dataset, path, runs=3) -> float:
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        t = time.perf_counter()
        fn(dataset, path)
        best = min(best, time.perf_counter() - t)
    return best


_CHILD = """
import gc, os, sys, threading, time
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
import orjson
import export_formats as b
from pathlib import Path

def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

with open({data!r}, "rb") as f:
    d = orjson.loads(f.read())
gc.collect()
time.sleep(0.2)
before = rss()
peak = before
done = False

def sample():
    global peak
    while not done:
        peak = max(peak, rss())
        time.sleep(0.002)

t = threading.Thread(target=sample, daemon=True)
t.start()
b.{which}(d, Path({out!r}))
done = True
t.join()
peak = max(peak, rss())
print(peak - before)
"""


def peak_growth(which: str, data_file: Path, out: Path) -> int:
    """How much the resident memory rises above its level before the run while `which`
    (exporter|baseline) writes the archive, in a fresh process that loaded the dataset with
    orjson (little garbage, so the reading before the run is the input's own size); RSS is
    sampled every 2 ms from a thread."""
    code = _CHILD.format(root=str(Path(__file__).resolve().parent.parent), bench=str(Path(__file__).resolve().parent),
                         data=str(data_file), which=which, out=str(out))
    res = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(res.stdout.strip().splitlines()[-1])


def same_json(a: Path, b: Path) -> bool:
    load = lambda p: json.loads(zipfile.ZipFile(p).read("annotations/instances_default.json"))  # noqa: E731
    da, db = load(a), load(b)
    return (da["images"] == db["images"] and da["categories"] == db["categories"]
            and len(da["annotations"]) == len(db["annotations"])
            and all(x["bbox"] == y["bbox"] and x["area"] == y["area"] and x["segmentation"] == y["segmentation"]
                    and x["attributes"] == y["attributes"] for x, y in zip(da["annotations"], db["annotations"])))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=10_000)
    ap.add_argument("--shapes-per-frame", type=int, default=10)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = build(args.frames, args.shapes_per_frame)
        n = len(data["annotations"]["shapes"])
        t_base = t_exp = float("inf")
        for _ in range(3):  # interleaved, so a change in machine load hits both alike
            t_base = min(t_base, best_time(baseline, data, tmp / "base.zip", runs=1))
            t_exp = min(t_exp, best_time(exporter, data, tmp / "exp.zip", runs=1))
        assert same_json(tmp / "base.zip", tmp / "exp.zip"), "exporter and baseline disagree"
        print(f"{args.frames} frames, {n} shapes: baseline {t_base:.2f} s, exporter {t_exp:.2f} s")
        small, large = tmp / "d1.json", tmp / "d4.json"
        small.write_bytes(orjson.dumps(data))
        del data
        large.write_bytes(orjson.dumps(build(4 * args.frames, args.shapes_per_frame)))
        p1 = peak_growth("exporter", small, tmp / "m1.zip")
        p4 = peak_growth("exporter", large, tmp / "m4.zip")
        pb1 = peak_growth("baseline", small, tmp / "b1.zip")
        pb4 = peak_growth("baseline", large, tmp / "b4.zip")
        mib = lambda v: v / 2**20  # noqa: E731
        print(f"peak memory during export (above the loaded input): exporter {mib(p1):.1f} MiB at {args.frames} "
              f"frames, {mib(p4):.1f} MiB at {4 * args.frames} frames ({p4 / max(p1, 1):.2f}x for 4x the data, "
              f"target < 2x); baseline {mib(pb1):.1f} MiB / {mib(pb4):.1f} MiB ({pb4 / max(pb1, 1):.2f}x)")
        print(f"ratio: {t_exp / t_base:.2f} (target <= 2)")


if __name__ == "__main__":
    main()
