"""Jobs: the segments of a task's frames that people work on."""
from __future__ import annotations

import random

from domain import annotations, clock, issues
from domain.errors import Invalid, NotFound

STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")


def update_job(store, job_id: int, data: dict) -> dict:
    """Changing `stage` without `state` resets the state to `new` (CVAT)."""
    with store.transaction():
        job = store.get("jobs", job_id)
        if job is None:
            raise NotFound()
        if "assignee" in data:
            if data["assignee"] is not None and store.peek("users", data["assignee"]) is None:
                raise Invalid({"assignee": [f'Invalid pk "{data["assignee"]}" - object does not exist.']})
            if data["assignee"] != job.get("assignee_id"):
                job["assignee_updated_date"] = clock.now()
            job["assignee_id"] = data["assignee"]
        if "stage" in data and data["stage"] != job["stage"]:
            job["stage"] = data["stage"]
            job["state"] = data.get("state", "new")
        elif "state" in data:
            job["state"] = data["state"]
        job["updated_date"] = clock.now()
        store.replace("jobs", job)
        store.update("tasks", job["task_id"], lambda t: t.update(updated_date=job["updated_date"]))
        return job


def segments(size: int, segment_size: int, overlap, mode: str) -> tuple[int, int, list[tuple[int, int]]]:
    """CVAT's split of `size` task frames into job ranges (inclusive task frames).
    Returns (effective segment size, effective overlap, ranges)."""
    seg = segment_size if 0 < segment_size <= size else size
    ov = overlap if overlap is not None else (5 if mode == "interpolation" else 0)
    ov = min(ov, seg // 2)
    if size <= 0:
        return seg, ov, []
    starts = range(0, max(size - ov, 1), max(seg - ov, 1))
    return seg, ov, [(start, min(start + seg - 1, size - 1)) for start in starts]


def create_jobs(store, task_id: int, ranges: list[tuple[int, int]]) -> list[dict]:
    """One `annotation` job per range, ids increasing in segment order. Runs in
    the caller's transaction; replaces any jobs the task had."""
    now = clock.now()
    with store.transaction():
        old = [j["id"] for j in store.scan("jobs") if j["task_id"] == task_id]
        issues.delete_for_jobs(store, old)
        store.delete("jobs", old)
        return store.insert_many("jobs", [{
            "task_id": task_id, "start_frame": start, "stop_frame": stop,
            "frame_count": stop - start + 1, "stage": "annotation", "state": "new",
            "type": "annotation", "assignee_id": None, "assignee_updated_date": None,
            "parent_job_id": None, "created_date": now, "updated_date": now,
        } for start, stop in ranges])


# -- ground-truth jobs ------------------------------------------------------------------------
SELECTION_METHODS = ("random_uniform", "random_per_job", "manual")


def _count(data: dict, count_key: str, share_key: str, total: int, where: str) -> int:
    if data.get(count_key) is not None:
        count = data[count_key]
    elif data.get(share_key) is not None:
        count = round(data[share_key] * total)
    else:
        raise Invalid({count_key: [f"Give {count_key} or {share_key} for {where}."]})
    if not 1 <= count <= total:
        raise Invalid({count_key: [f"Must be between 1 and {total}."]})
    return count


def ground_truth_frames(task: dict, annotation_jobs: list[dict], data: dict) -> list[int]:
    """The task frames of a new ground-truth job, chosen as the request says
    (seeded, so the same seed picks the same frames)."""
    size = task["data"]["size"]
    method = data.get("frame_selection_method", "random_uniform")
    rng = random.Random(data.get("random_seed"))
    if method == "random_uniform":
        return sorted(rng.sample(range(size), _count(data, "frame_count", "frame_share", size, "random_uniform")))
    if method == "random_per_job":
        frames: set[int] = set()
        for job in sorted(annotation_jobs, key=lambda j: j["start_frame"]):
            span = range(job["start_frame"], job["stop_frame"] + 1)
            count = min(len(span), _count(data, "frames_per_job_count", "frames_per_job_share", len(span),
                                          "random_per_job"))
            frames.update(rng.sample(span, count))
        return sorted(frames)
    if method == "manual":
        frames = data.get("frames") or []
        if not frames:
            raise Invalid({"frames": ["Give the task frames of the ground-truth job."]})
        bad = [f for f in frames if not 0 <= f < size]
        if bad:
            raise Invalid({"frames": [f"Frames {bad} are outside the task (0-{size - 1})."]})
        if len(set(frames)) != len(frames):
            raise Invalid({"frames": ["Each frame can be given once."]})
        return sorted(frames)
    raise Invalid({"frame_selection_method": [f'"{method}" is not a valid choice.']})


def create_ground_truth(store, task_id: int, data: dict) -> dict:
    """A `ground_truth` job over frames chosen from the whole task; the task's
    validation_mode becomes "gt". 400 without data or with a GT job already."""
    with store.transaction():
        task = store.get("tasks", task_id)
        if task is None:
            raise NotFound()
        if not task.get("data"):
            raise Invalid(["The task has no data: a ground-truth job needs frames."])
        if task["data"].get("dimension", "2d") != "2d":
            raise Invalid(["Ground-truth jobs exist only for 2d tasks."])
        jobs = [j for j in store.scan("jobs") if j["task_id"] == task_id]
        if any(j.get("type") == "ground_truth" for j in jobs) or task.get("validation_mode"):
            raise Invalid(["The task already has a ground-truth job."])
        frames = ground_truth_frames(task, [j for j in jobs if j.get("type", "annotation") == "annotation"], data)
        assignee = data.get("assignee")
        if assignee is not None and store.peek("users", assignee) is None:
            raise Invalid({"assignee": [f'Invalid pk "{assignee}" - object does not exist.']})
        now = clock.now()
        job = store.insert("jobs", {
            "task_id": task_id, "start_frame": 0, "stop_frame": task["data"]["size"] - 1,
            "frame_count": len(frames), "frames": frames, "stage": data.get("stage", "annotation"),
            "state": data.get("state", "new"), "type": "ground_truth", "assignee_id": assignee,
            "assignee_updated_date": now if assignee is not None else None, "parent_job_id": None,
            "created_date": now, "updated_date": now,
        })
        task.update(validation_mode="gt", updated_date=now)
        store.replace("tasks", task)
        return job


def delete_ground_truth(store, job_id: int) -> None:
    """Only ground-truth jobs can be removed (CVAT); their annotations and review
    issues go with them and the task loses its validation mode."""
    with store.transaction():
        job = store.peek("jobs", job_id)
        if job is None:
            raise NotFound()
        if job.get("type") != "ground_truth":
            raise Invalid(["Only ground truth jobs can be removed"])
        annotations.delete_job_annotations(store, job)
        issues.delete_for_jobs(store, [job_id])
        store.delete("jobs", [job_id])
        store.update("tasks", job["task_id"], lambda t: t.update(validation_mode=None, updated_date=clock.now()))


def validation_layout(store, task: dict) -> dict:
    """TaskValidationLayoutRead: the ground-truth frames, or mode null."""
    gt = next((j for j in store.scan("jobs") if j["task_id"] == task["id"] and j.get("type") == "ground_truth"),
              None)
    if gt is None:
        return {"mode": None}
    return {"mode": "gt", "frames_per_job_count": None, "validation_frames": gt.get("frames", []),
            "disabled_frames": [], "honeypot_count": 0, "honeypot_frames": [], "honeypot_real_frames": []}
