"""The per-process services the HTTP layer uses, reached through the app."""
from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

import settings as settings_module
from storage.documents import TinyDBStore
from storage.layout import Layout


@dataclass
class Services:
    settings: settings_module.Settings
    store: TinyDBStore
    layout: Layout


def build(settings: settings_module.Settings) -> Services:
    layout = Layout(settings.storage_dir)
    return Services(settings=settings, store=TinyDBStore(layout.db), layout=layout)


def services() -> Services:
    return current_app.extensions["cvat"]


def store() -> TinyDBStore:
    return current_app.extensions["cvat"].store
