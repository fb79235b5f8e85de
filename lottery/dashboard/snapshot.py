"""The --out snapshot: the dashboard page with the answers to its first requests inlined, one HTML file
that needs no server and no network. Its views are built without brushes and its page hides the controls
that need the server, saying so in one line (the PNG / SVG exports and tooltips work offline)."""

from __future__ import annotations

import json
from pathlib import Path

from lottery.dashboard import loading, page
from lottery.dashboard.endpoints import Endpoints
from lottery.dashboard.server import _json_default

MAX_BYTES = 30_000_000


class TooLarge(Exception):
    """The snapshot would exceed MAX_BYTES."""


def build(workdir) -> str:
    """The snapshot page of a workdir (the missing-data page when tables are absent)."""
    try:
        endpoints = Endpoints(loading.load(workdir))
    except loading.MissingData as e:
        return page.missing_page(e.workdir, e.missing, e.command)
    answers = {name: endpoints.answer(name, q) for name, q in endpoints.defaults(interactive=False).items()}
    answers = json.loads(json.dumps(answers, default=_json_default))
    return page.dashboard_page(static=answers)


def write(workdir, out) -> int:
    """Write the snapshot to `out`; returns its size in bytes, raises TooLarge past MAX_BYTES."""
    text = build(workdir).encode()
    if len(text) > MAX_BYTES:
        raise TooLarge(f"the snapshot would be {len(text) / 1e6:.0f} MB (> {MAX_BYTES / 1e6:.0f} MB): serve it instead")
    Path(out).write_bytes(text)
    return len(text)
