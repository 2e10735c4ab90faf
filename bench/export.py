"""COCO 1.0 export speed and memory against the real stack.

1. A task with 10,000 frames and 100,000 rectangles: POST .../dataset/export
   (no images) until the request is finished, against a baseline in the same
   run that builds the same COCO JSON in memory, serializes it with orjson and
   zips it.                                                  Target: ratio <= 2.
2. Peak memory of the export function (what the Celery worker runs) in a fresh
   process for 10k frames / 100k shapes and for 40k frames / 400k shapes; it
   should grow less than 2x for 4x the data.

Usage: .venv/bin/python bench/export.py [--frames 10000] [--shapes-per-frame 10]
The last line is `ratio: X (target <= 2)`.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import orjson
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from domain.task_data import TaskFiles, write_json  # noqa: E402
from storage.documents import TinyDBStore  # noqa: E402
from storage.layout import Layout  # noqa: E402
from tests.annotation_helpers import attach_frames  # noqa: E402
from tests.stack import ADMIN, Stack  # noqa: E402

TARGET = 2.0
W, H = 1920, 1080


def make_task(session, url, layout, frames: int, per_frame: int) -> int:
    task = session.post(url + "/api/tasks", json={"name": f"export {frames}", "labels": [
        {"name": "car"}, {"name": "person"}]}).json()
    store = TinyDBStore(layout.db)
    attach_frames(store, task["id"], frames, segment_size=1000)
    write_json(TaskFiles(layout, task["id"]).frames(),
               [{"name": f"images/frame_{i:06d}.jpg", "width": W, "height": H} for i in range(frames)])
    labels = session.get(url + f"/api/labels?task_id={task['id']}").json()["results"]
    shapes = [{"type": "rectangle", "label_id": labels[i % 2]["id"], "frame": i // per_frame,
               "points": [float(i % 1000), float(i % 700), float(i % 1000 + 50), float(i % 700 + 40)]}
              for i in range(frames * per_frame)]
    r = session.put(url + f"/api/tasks/{task['id']}/annotations/", data=orjson.dumps({"shapes": shapes}),
                    headers={"Content-Type": "application/json"})
    r.raise_for_status()
    return task["id"]


def timed_export(session, url, task_id: int, exports_dir: Path) -> float:
    for old in exports_dir.glob("*.zip"):  # measure a real export, not the reuse of an archive
        old.unlink()
    start = time.perf_counter()
    r = session.post(url + f"/api/tasks/{task_id}/dataset/export", params={"format": "COCO 1.0",
                                                                           "save_images": "False"})
    assert r.status_code == 202, r.text
    rq_id = r.json()["rq_id"]
    while True:
        status = session.get(url + f"/api/requests/{requests.utils.quote(rq_id, safe='')}").json()
        if status["status"] in ("finished", "failed"):
            break
        time.sleep(0.02)
    elapsed = time.perf_counter() - start
    assert status["status"] == "finished", status["message"]
    return elapsed


def baseline(dataset: dict, out: Path) -> float:
    """The same COCO document as the exporter writes (checked below), built in
    memory from the same annotations, dumped with orjson and zipped."""
    start = time.perf_counter()
    labels = [l["id"] for l in dataset["labels"]]
    category = {label_id: i + 1 for i, label_id in enumerate(labels)}
    image_of = {f["frame"]: i + 1 for i, f in enumerate(dataset["frames"])}
    images = [{"id": i + 1, "width": f["width"], "height": f["height"], "file_name": f["name"], "license": 0,
               "flickr_url": "", "coco_url": "", "date_captured": 0} for i, f in enumerate(dataset["frames"])]
    anns = []
    for s in dataset["annotations"]["shapes"]:
        x1, y1, x2, y2 = s["points"]
        w, h = round(x2 - x1, 2), round(y2 - y1, 2)
        anns.append({"id": len(anns) + 1, "image_id": image_of[s["frame"]], "category_id": category[s["label_id"]],
                     "bbox": [x1, y1, w, h], "segmentation": [], "area": float(round(w * h, 2)), "iscrowd": 0,
                     "attributes": {"occluded": s["occluded"], "rotation": 0.0}})
    doc = {"licenses": [{"name": "", "id": 0, "url": ""}],
           "info": {"contributor": "", "date_created": "", "description": "", "url": "", "version": "", "year": ""},
           "categories": [{"id": category[l["id"]], "name": l["name"], "supercategory": ""}
                          for l in dataset["labels"]],
           "images": images, "annotations": anns}
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("annotations/instances_default.json", orjson.dumps(doc))
    return time.perf_counter() - start


def same_json(a: Path, b: Path) -> bool:
    member = "annotations/instances_default.json"
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        return orjson.loads(za.read(member)) == orjson.loads(zb.read(member))


MEMORY_PROBE = """
import resource, sys, json
sys.path.insert(0, {root!r})
from storage.documents import TinyDBStore
from storage.layout import Layout
import settings as settings_module
from workers import datasets
layout = Layout({storage!r})
settings = settings_module.load({{"CVAT_STORAGE_DIR": {storage!r}, "CVAT_EXPORT_TTL": "0"}})
op = {{"target": "task", "task_id": {task_id}, "job_id": None, "project_id": None, "format": "COCO 1.0",
      "save_images": False}}
datasets.export(TinyDBStore(layout.db), layout, settings, op, lambda *a, **k: None)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def peak_memory_mb(storage: Path, task_id: int) -> float:
    code = MEMORY_PROBE.format(root=str(ROOT), storage=str(storage), task_id=task_id)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout.strip().splitlines()[-1]) / 1024


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--shapes-per-frame", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    stack = Stack(worker_concurrency=1).start()
    try:
        session = requests.Session()
        session.auth = ADMIN
        layout = Layout(stack.storage)
        task_id = make_task(session, stack.url, layout, args.frames, args.shapes_per_frame)
        from workers.datasets import task_dataset
        store = TinyDBStore(layout.db)
        dataset = task_dataset(store, layout, store.peek("tasks", task_id))
        ours = [timed_export(session, stack.url, task_id, layout.exports) for _ in range(args.rounds)]
        base = [baseline(dataset, stack.tmp / "baseline.zip") for _ in range(args.rounds)]
        (archive,) = layout.exports.glob("*.zip")
        assert same_json(archive, stack.tmp / "baseline.zip"), "the baseline must build the same COCO JSON"
        ours_s, base_s = statistics.median(ours), statistics.median(base)
        print(f"COCO export of {args.frames} frames / {args.frames * args.shapes_per_frame} shapes: "
              f"request to archive {ours_s:.2f} s, in-memory baseline {base_s:.2f} s")
        big = make_task(session, stack.url, layout, args.frames * 4, args.shapes_per_frame)
        small_mb = peak_memory_mb(stack.storage, task_id)
        big_mb = peak_memory_mb(stack.storage, big)
        print(f"export peak memory: {small_mb:.0f} MB for {args.frames} frames, {big_mb:.0f} MB for "
              f"{args.frames * 4} frames (growth {big_mb / small_mb:.2f}x for 4x the data, target < 2x)")
        print(f"ratio: {ours_s / base_s:.2f} (target <= {TARGET:g})")
    finally:
        stack.close()


if __name__ == "__main__":
    main()
