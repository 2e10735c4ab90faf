"""Test helpers for annotations: tasks with frames without uploading media
(writes `task["data"]` and the jobs as media processing would)."""
from __future__ import annotations

from domain import jobs as job_ops


def attach_frames(store, task_id: int, size: int, segment_size: int = 0, overlap=None,
                  mode: str = "annotation") -> list[dict]:
    """Give the task `size` frames and CVAT's jobs for them; returns the jobs."""
    seg, ov, ranges = job_ops.segments(size, segment_size, overlap, mode)

    def change(task):
        task["data"] = {"id": task_id, "size": size, "image_quality": 70, "chunk_size": 36,
                        "compressed_chunk_type": "imageset", "original_chunk_type": "imageset",
                        "mode": mode, "dimension": "2d", "start_frame": 0, "stop_frame": size - 1,
                        "frame_filter": ""}
        task["segment_size"] = seg
        task["overlap"] = ov

    with store.transaction():
        store.update("tasks", task_id, change)
        return job_ops.create_jobs(store, task_id, ranges)
