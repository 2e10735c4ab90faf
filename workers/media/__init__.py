"""Media readers and writers: images, videos, archives, chunks. Plain modules
(no Flask, no Celery, no store) with small interfaces the task-data builder uses."""
