"""A short run of bench/load.py against the real stack: concurrent clients
reading and writing through two gunicorn workers; no request fails and no
acknowledged write is lost or doubled. (The full run: 16 clients for 60 s,
`python bench/load.py`.)"""
from __future__ import annotations

from bench.load import run_load
from tests.stack import ADMIN


def test_mixed_load_loses_nothing(stack):
    result = run_load(stack.url, ADMIN, clients=6, seconds=5, store_dir=str(stack.storage / "db"))
    assert result["errors"] == []
    assert result["lost"] == []
    assert result["requests"] > 100 and result["tasks"] >= 12
