"""Domain logic as plain functions over the document store.

Called by the HTTP layer (server/) and by the Celery workers (workers/) alike;
nothing here knows about Flask or Celery.
"""
