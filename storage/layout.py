"""Where things live under the storage directory (CVAT_STORAGE_DIR)."""
from __future__ import annotations

from pathlib import Path


class Layout:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def db(self) -> Path:
        return self.root / "db"

    def task_dir(self, task_id: int) -> Path:
        return self.root / "tasks" / str(task_id)

    def project_dir(self, project_id: int) -> Path:
        return self.root / "projects" / str(project_id)

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"
