"""Celery app and tasks. Tasks are thin wrappers over plain functions in
domain/ (and, for media and formats, the modules here) that tests call directly."""
