"""Central's side-only table of what each kiosk last reported about itself.

Not replicated and not part of the sync's own state: created by the fleet
feature itself (`ensure_tables`, when its blueprint is registered), so the
schema migrations of `sync` stay untouched.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from peewee import CharField, DateTimeField, TextField

from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel

__all__ = ["NodeReport", "ensure_tables", "store_report", "queued_items", "HISTORY"]

#: How many past queue sizes to keep per node (for the «growing queue» alert).
HISTORY = 12


class NodeReport(BaseModel):
    """The latest report of one node, and the queue sizes of its recent reports."""

    node_id = CharField(primary_key=True, max_length=64)
    received_at = DateTimeField(default=utcnow)
    payload = TextField(default="{}")  # the report as sent (JSON)
    queue_history = TextField(default="[]")  # [[iso time, queued items], …], oldest first

    def data(self) -> dict[str, Any]:
        try:
            value = json.loads(self.payload)
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}

    def history(self) -> list[tuple[datetime, int]]:
        try:
            return [(datetime.fromisoformat(at), int(n)) for at, n in json.loads(self.queue_history)]
        except (ValueError, TypeError):
            return []


def ensure_tables() -> None:
    """Create the reports table if missing (several central instances may start at once)."""
    create_side_tables([NodeReport])


def queued_items(report: dict[str, Any]) -> int:
    queues = report.get("queues")
    if not isinstance(queues, dict):
        return 0
    return sum(int(queues.get(k) or 0) for k in ("records", "blobs_up"))


def store_report(node_id: str, report: dict[str, Any]) -> NodeReport:
    """Keep a node's latest report and append its queue size to the history."""
    now = utcnow()
    with database.atomic():
        row = NodeReport.get_or_none(NodeReport.node_id == node_id)
        history = row.history() if row is not None else []
        history = [*history, (now, queued_items(report))][-HISTORY:]
        values = {
            NodeReport.received_at: now,
            NodeReport.payload: json.dumps(report, ensure_ascii=False, default=str),
            NodeReport.queue_history: json.dumps([[at.isoformat(), n] for at, n in history]),
        }
        if row is None:
            NodeReport.insert({NodeReport.node_id: node_id, **values}).execute()
        else:
            NodeReport.update(values).where(NodeReport.node_id == node_id).execute()
    return NodeReport.get_by_id(node_id)
