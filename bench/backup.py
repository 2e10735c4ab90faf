"""Backup then restore of a task with 500 1080p images and 50,000 shapes through
cvat-sdk (download_backup + create_from_backup, requests included), against
zipping and unzipping the same image files in the same run.

Usage: .venv/bin/python bench/backup.py [--images 500] [--shapes 50000]
The last line is `ratio: X (target <= 1.5)`.
"""
from __future__ import annotations

import argparse
import random
import shutil
import sys
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from bench._common import running_stack, sdk_client  # noqa: E402

TARGET = 1.5
ROUNDS = 2


def make_images(folder: Path, count: int) -> list[Path]:
    """1080p JPEGs with texture (so they do not compress to nothing)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(7)
    tile = Image.effect_noise((480, 270), 64).convert("RGB")
    paths = []
    for i in range(count):
        img = tile.resize((1920, 1080))
        img.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)), (0, 0, 200 + i % 500, 200))
        path = folder / f"img_{i:04d}.jpg"
        img.save(path, quality=90)
        paths.append(path)
    return paths


def baseline(paths: list[Path], work: Path) -> float:
    start = time.perf_counter()
    archive = work / "baseline.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as z:
        for p in paths:
            z.write(p, "data/" + p.name)
    with zipfile.ZipFile(archive) as z:
        z.extractall(work / "unzipped")
    elapsed = time.perf_counter() - start
    shutil.rmtree(work / "unzipped")
    archive.unlink()
    return elapsed


def main():
    from cvat_sdk import models
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--shapes", type=int, default=50_000)
    args = parser.parse_args()
    with running_stack() as stack, sdk_client(stack) as sdk:
        work = stack.tmp / "bench"
        paths = make_images(work / "images", args.images)
        task = sdk.tasks.create_from_data(models.TaskWriteRequest(name="bench backup", labels=[{"name": "car"}]),
                                          resources=paths)
        label = task.get_labels()[0].id
        task.set_annotations(models.LabeledDataRequest(shapes=[models.LabeledShapeRequest(
            type="rectangle", label_id=label, frame=i % args.images,
            points=[float(i % 1800), float(i % 1000), float(i % 1800 + 60), float(i % 1000 + 40)])
            for i in range(args.shapes)]))
        # The machine may be shared: alternate the two measurements and keep
        # the best of each. Each side deletes its own client-side files after
        # a round (the baseline its zip and unzipped copy, ours the download).
        bases, runs = [], []
        for run in range(ROUNDS):
            # A new name is a new task version: the export is made again, not reused.
            task.update(models.PatchedTaskWriteRequest(name=f"bench backup {run}"))
            bases.append(baseline(paths, work))
            runs.append(_ours(sdk, task, work, args.images))
            print(f"run {run}: baseline {bases[-1]:.2f} s, ours {runs[-1]:.2f} s")
        best = min(runs)
        print(f"zip + unzip of the same files: {min(bases):.2f} s; backup + restore: {best:.2f} s")
        print(f"ratio: {best / min(bases):.2f} (target <= {TARGET:g})")


def _ours(sdk, task, work: Path, images: int) -> float:
    start = time.perf_counter()
    stamps = [datetime.now(timezone.utc)]
    archive = work / "backup.zip"
    task.download_backup(archive)
    middle = time.perf_counter()
    stamps.append(datetime.now(timezone.utc))
    restored = sdk.tasks.create_from_backup(archive)
    end = time.perf_counter()
    stamps.append(datetime.now(timezone.utc))
    assert restored.size == images
    print(f"backup {middle - start:.2f} s + restore {end - middle:.2f} s = {end - start:.2f} s "
          f"({archive.stat().st_size / 2**20:.0f} MiB archive)")
    requests = {}
    for r in sdk.api_client.requests_api.list()[0].results:
        if r.operation.type not in requests or r.created_date > requests[r.operation.type].created_date:
            requests[r.operation.type] = r
    for kind, (begin, done) in (("export:backup", stamps[:2]), ("import:backup", stamps[1:])):
        r = requests[kind]
        print(f"  {kind}: {(r.created_date - begin).total_seconds():.2f} s to the request, "
              f"queued {(r.started_date - r.created_date).total_seconds():.2f} s, "
              f"worker {(r.finished_date - r.started_date).total_seconds():.2f} s, "
              f"then {(done - r.finished_date).total_seconds():.2f} s to the end")
    archive.unlink()
    return end - start

if __name__ == "__main__":
    main()
