"""Helpers shared by the media benchmarks: a running stack and an SDK client."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.stack import ADMIN, Stack  # noqa: E402


@contextmanager
def running_stack(**kw):
    stack = Stack(**kw)
    try:
        stack.start()
        yield stack
    finally:
        stack.close()


@contextmanager
def sdk_client(stack):
    from cvat_sdk import make_client
    with make_client(stack.url, credentials=ADMIN) as client:
        client.config.status_check_period = 0.05
        yield client
