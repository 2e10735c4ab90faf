"""Image task creation: 300 generated 1920×1080 JPEGs uploaded with cvat-sdk's
create_from_data until the request is finished, against a same-run baseline
that decodes each image once and encodes one JPEG at the same quality with
Pillow on both cores (the unavoidable work). Target ratio ≤ 1.3.

    python bench/images.py [count]
"""
from __future__ import annotations

import io
import os
import random
import resource
import signal
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image, ImageDraw  # noqa: E402

from bench._common import running_stack, sdk_client  # noqa: E402

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 300
QUALITY = 70
TARGET = 1.3
ROUNDS = 3


def _generate(path: Path, seed: int) -> None:
    rnd = random.Random(seed)
    image = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(60):
        x, y = rnd.randrange(1920), rnd.randrange(1080)
        draw.rectangle((x, y, x + rnd.randrange(20, 400), y + rnd.randrange(20, 300)),
                       fill=(rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)))
    noise = Image.effect_noise((1920, 1080), 40).convert("RGB")
    Image.blend(image, noise, 0.25).save(path, quality=90)


def _baseline_one(path: str) -> int:
    with Image.open(path) as image:
        image.load()
        out = io.BytesIO()
        image.save(out, format="JPEG", quality=QUALITY)
        return len(out.getvalue())


def _group_cpu(pgid: int) -> float:
    """CPU seconds of the live processes of a process group (each part of the
    stack runs in its own)."""
    total = 0.0
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[2]) == pgid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _own_cpu(who=resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _apart(stack, client, paths: list[Path]) -> None:
    """One more round, not timed against the baseline, that runs the upload
    while the worker is stopped and then the encoding and build alone, and
    prints what each costs: where the time goes, and the CPU floor on two cores."""
    from cvat_sdk.api_client import models
    web, worker = stack.procs["web"].pid, stack.procs["worker"].pid
    children = _own_cpu(resource.RUSAGE_CHILDREN)
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_baseline_one, map(str, paths), chunksize=8))
    baseline = _own_cpu(resource.RUSAGE_CHILDREN) - children
    task = client.tasks.create(models.TaskWriteRequest(name="bench images apart"))
    os.killpg(worker, signal.SIGSTOP)
    try:
        web0, me0, t0 = _group_cpu(web), _own_cpu(), time.perf_counter()
        task.upload_data(paths, params={"image_quality": QUALITY}, wait_for_completion=False)
        upload, web_cpu, client_cpu = time.perf_counter() - t0, _group_cpu(web) - web0, _own_cpu() - me0
        work0 = _group_cpu(worker)
    finally:
        os.killpg(worker, signal.SIGCONT)
    t0 = time.perf_counter()
    while getattr(task.fetch(), "size", None) != len(paths):   # no size until the data is in
        time.sleep(0.02)
    build, work_cpu = time.perf_counter() - t0, _group_cpu(worker) - work0
    total = web_cpu + client_cpu + work_cpu
    print(f"apart: upload alone {upload:.2f} s (web {web_cpu:.2f} + client {client_cpu:.2f} CPU s), then "
          f"encoding and build alone {build:.2f} s (worker {work_cpu:.2f} CPU s); {total:.2f} CPU s in all "
          f"against the baseline's {baseline:.2f}, a floor of {total / baseline:.2f} on fully used cores")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-images-") as tmp:
        paths = [Path(tmp) / f"frame_{i:04d}.jpg" for i in range(COUNT)]
        with ProcessPoolExecutor(2) as pool:
            list(pool.map(_generate, paths, range(COUNT)))
        print(f"generated {COUNT} images, {sum(p.stat().st_size for p in paths) / 2**20:.1f} MiB")

        # The machine may be shared: alternate the two measurements and keep
        # the best of each, so a burst of foreign load does not decide the ratio.
        baselines, ours_runs = [], []
        with running_stack() as stack, sdk_client(stack) as client:
            from cvat_sdk.api_client import models
            for run in range(ROUNDS):
                t0 = time.perf_counter()
                with ProcessPoolExecutor(2) as pool:
                    list(pool.map(_baseline_one, map(str, paths), chunksize=8))
                baselines.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                task = client.tasks.create_from_data(models.TaskWriteRequest(name=f"bench images {run}"), paths,
                                                     data_params={"image_quality": QUALITY})
                ours_runs.append(time.perf_counter() - t0)
                assert task.size == COUNT, task.size
                request = client.api_client.requests_api.list(task_id=task.id)[0].results[0]
                waited = (request.started_date - request.created_date).total_seconds()
                built = (request.finished_date - request.started_date).total_seconds()
                print(f"run {run}: baseline {baselines[-1]:.2f} s, ours {ours_runs[-1]:.2f} s "
                      f"(upload {ours_runs[-1] - waited - built:.2f} s, then encoding still queued "
                      f"{waited:.2f} s, final build {built:.2f} s)")
            _apart(stack, client, paths)
        baseline, ours = min(baselines), min(ours_runs)
        print(f"baseline (decode + JPEG q{QUALITY}, Pillow, 2 processes): {baseline:.2f} s")
        print(f"ours (upload + build, to finished): {ours:.2f} s, {COUNT / ours:.1f} images/s")
        print(f"ratio: {ours / baseline:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
