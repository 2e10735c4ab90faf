"""Persistence: the document store and the layout of the storage directory."""
