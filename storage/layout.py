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

    def annotations_dir(self, task_id: int) -> Path:
        """A task's annotations (snapshot + journal, see domain/annotation_files.py);
        inside the task directory, so deleting the task deletes them."""
        return self.task_dir(task_id) / "annotations"

    @classmethod
    def of_store(cls, store) -> "Layout":
        """The layout whose `db` directory holds `store` (for domain code that is
        handed only the store, e.g. label deletion cascading to annotations)."""
        return cls(Path(store.root).parent)

    def project_dir(self, project_id: int) -> Path:
        return self.root / "projects" / str(project_id)

    @property
    def exports(self) -> Path:
        """Finished export archives (datasets, backups), named by content key."""
        return self.root / "exports"

    @property
    def imports(self) -> Path:
        """Uploaded files waiting for their import request (one folder each)."""
        return self.root / "imports"

    @property
    def tmp(self) -> Path:
        return self.root / "tmp"
