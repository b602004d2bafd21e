"""The latest link measurement of each kiosk, and what the consultant is told about a post's link.

The kiosk decides its mode (the thresholds live in one place, node/link_monitor/measure.py)
and sends the figures with it: pushed after every measurement (`PostLink`), and in
its fleet health report (`NodeReport`, section "link"). The newer of the two counts.
Central only adds its own caution: a measurement older than `stale_after` says
nothing about the link now, so the mode offered is then «отложенная консультация».
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from peewee import CharField, DatabaseError, DateTimeField, TextField

from domain.errors import ValidationError
from i18n import N_
from sync.clock import utcnow
from sync.db import create_side_tables, database
from sync.model import BaseModel
from sync.state import KnownNode
from web.serialize import iso

__all__ = [
    "PostLink",
    "LinkState",
    "MODES",
    "MODE_LABELS",
    "ensure_tables",
    "save_measurement",
    "parse_measurement",
    "latest_for_post",
    "STALE_AFTER",
]

#: The modes a kiosk may report, best first (see node/link_monitor/measure.py for their thresholds).
MODES = ("video", "audio", "chat", "deferred")
MODE_LABELS = {
    "video": N_("видео"),
    "audio": N_("только звук"),
    "chat": N_("только чат"),
    "deferred": N_("отложенная консультация"),
}
#: A kiosk measures every few minutes while online; a result older than this is old news.
STALE_AFTER = timedelta(minutes=15)
_FIGURES = ("rtt_ms", "down_kbps", "up_kbps", "loss_pct")


class PostLink(BaseModel):
    """The latest measurement one kiosk pushed (side-only, not replicated)."""

    node_id = CharField(primary_key=True, max_length=64)
    organization_id = CharField(max_length=64, index=True)
    measured_at = DateTimeField()
    received_at = DateTimeField(default=utcnow)
    payload = TextField(default="{}")


def ensure_tables() -> None:
    """Create the table if missing (several central instances may start at once)."""
    create_side_tables([PostLink])


def _naive_utc(value: datetime) -> datetime:
    """How every time is stored and compared here (see sync.clock.utcnow)."""
    return value if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)


def parse_measurement(data: Any) -> dict[str, Any]:
    """A kiosk's measurement, checked field by field (ValidationError says which is wrong)."""
    if not isinstance(data, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    out: dict[str, Any] = {}
    for name in _FIGURES:
        value = data.get(name)
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if value is not None and (not number or value < 0):
            message = N_("Поле %(name)s должно быть неотрицательным числом")
            raise ValidationError(message, field=name, name=name)
        out[name] = None if value is None else float(value)
    if data.get("mode") not in MODES:
        raise ValidationError(N_("Неизвестный режим связи: %(mode)s"), field="mode", mode=data.get("mode"))
    out["mode"] = data["mode"]
    try:
        out["measured_at"] = _naive_utc(datetime.fromisoformat(str(data.get("measured_at"))))
    except ValueError as exc:
        raise ValidationError(N_("Время измерения не распознано"), field="measured_at") from exc
    error = data.get("error")
    out["error"] = None if error is None else str(error)[:500]
    return out


def save_measurement(node: KnownNode, data: dict[str, Any]) -> None:
    """Keep a kiosk's measurement (already checked by `parse_measurement`) unless a newer one is here."""
    values = {
        PostLink.organization_id: node.organization_id,
        PostLink.measured_at: data["measured_at"],
        PostLink.received_at: utcnow(),
        PostLink.payload: json.dumps({**data, "measured_at": data["measured_at"].isoformat()}),
    }
    with database.atomic():
        row = PostLink.get_or_none(PostLink.node_id == node.node_id)
        if row is None:
            PostLink.insert({PostLink.node_id: node.node_id, **values}).execute()
        elif row.measured_at <= data["measured_at"]:
            PostLink.update(values).where(PostLink.node_id == node.node_id).execute()


@dataclass
class LinkState:
    """What the appeal page and the JSON API say about a post's link."""

    node_id: str
    measured_mode: str
    rtt_ms: float | None
    down_kbps: float | None
    up_kbps: float | None
    loss_pct: float | None
    measured_at: datetime
    error: str | None
    stale: bool

    @property
    def mode(self) -> str:
        """The mode to offer now: what the kiosk measured, unless that is old news."""
        return "deferred" if self.stale else self.measured_mode

    def age_minutes(self, now: datetime | None = None) -> int:
        return max(0, int(((now or utcnow()) - self.measured_at).total_seconds() // 60))

    def as_dict(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "measured_mode": self.measured_mode,
            "stale": self.stale,
            "node_id": self.node_id,
            "rtt_ms": self.rtt_ms,
            "down_kbps": self.down_kbps,
            "up_kbps": self.up_kbps,
            "loss_pct": self.loss_pct,
            "measured_at": iso(self.measured_at),
            "error": self.error,
        }


def _measurements(node_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The newest measurement per kiosk, from its pushes and from its health reports."""
    from central.fleet.store import NodeReport  # the fleet feature's table, read only

    found: dict[str, dict[str, Any]] = {}

    def consider(node_id: str, data: Any) -> None:
        try:
            parsed = parse_measurement(data)
        except ValidationError:
            return
        held = found.get(node_id)
        if held is None or held["measured_at"] < parsed["measured_at"]:
            found[node_id] = parsed

    for row in PostLink.select().where(PostLink.node_id.in_(node_ids)):
        consider(row.node_id, json.loads(row.payload or "{}"))
    try:
        reports = list(NodeReport.select().where(NodeReport.node_id.in_(node_ids)))
    except DatabaseError:  # the fleet feature is not installed here
        reports = []
    for report in reports:
        consider(report.node_id, report.data().get("link"))
    return found


def latest_for_post(organization_id: str, prefer_node: str | None = None) -> LinkState | None:
    """The post's link as last measured: by `prefer_node` (the kiosk the appeal came from)
    if it ever measured, else by whichever kiosk of the post measured last."""
    nodes = [
        n.node_id
        for n in KnownNode.select(KnownNode.node_id).where(
            (KnownNode.organization_id == organization_id) & (KnownNode.revoked == False)  # noqa: E712
        )
    ]
    found = _measurements(nodes)
    if not found:
        return None
    node_id = prefer_node if prefer_node in found else max(found, key=lambda n: found[n]["measured_at"])
    data = found[node_id]
    return LinkState(
        node_id=node_id,
        measured_mode=data["mode"],
        rtt_ms=data["rtt_ms"],
        down_kbps=data["down_kbps"],
        up_kbps=data["up_kbps"],
        loss_pct=data["loss_pct"],
        measured_at=data["measured_at"],
        error=data["error"],
        stale=utcnow() - data["measured_at"] > STALE_AFTER,
    )
