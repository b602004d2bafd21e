"""The fleet as an engineer sees it: every kiosk's health and alerts, and enrolment tokens."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import has_request_context

from domain.errors import ValidationError
from domain.migrations import SCHEMA_VERSION
from domain.models import Organization, OrgKind, Staff
from i18n import N_
from sync.clock import utcnow
from sync.server import issue_token
from sync.state import EnrolmentToken, KnownNode
from web.formats import say

from .store import NodeReport, queued_items

__all__ = [
    "Alert",
    "DeviceCheckView",
    "NodeView",
    "TokenView",
    "AlertRules",
    "fleet",
    "tokens",
    "posts",
    "issue",
    "revoke_node",
    "revoke_token",
]

GIB = 1024**3


@dataclass(frozen=True)
class Alert:
    kind: str  # not_seen, queue, self_test, device_check, disk, clock, update, sync_error
    template: str  # Russian msgid (N_), translated on the page
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertRules:
    """When a kiosk deserves an engineer's attention."""

    not_seen_hours: float = 24.0
    queue_reports: int = 3  # the queue grew across at least this many reports…
    queue_minutes: float = 30.0  # …spanning at least this long
    low_disk_bytes: int = GIB
    clock_minutes: float = 5.0


@dataclass(frozen=True)
class DeviceCheckLine:
    """One check of a kiosk's «Проверка оборудования», in the engineer's language."""

    name: str
    title: str
    status: str  # ok, warn, fail, skip
    detail: str
    advice: str


@dataclass(frozen=True)
class DeviceCheckView:
    at: datetime | None
    ok: bool
    checks: list[DeviceCheckLine]

    @property
    def failed(self) -> list[str]:
        return [c.title for c in self.checks if c.status == "fail"]


@dataclass
class NodeView:
    node_id: str
    organization_id: str
    post_name: str
    revoked: bool
    enrolled_at: datetime
    last_seen: datetime | None
    software: str
    schema: int
    report_at: datetime | None = None
    state: str = ""
    last_success: datetime | None = None
    last_error: str = ""
    queued: int | None = None
    clock_offset_ms: int | None = None
    free_disk: int | None = None
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    device_check: DeviceCheckView | None = None
    #: The link as the kiosk last reported it: mode, down_kbps, up_kbps, rtt_ms, measured_at.
    link: dict[str, Any] | None = None


def _when(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    # Stored times are naive UTC; an aware one from a peer is converted first.
    return parsed if parsed.tzinfo is None else parsed.astimezone(UTC).replace(tzinfo=None)


def _int(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _apply_report(view: NodeView, row: NodeReport) -> None:
    data = row.data()
    view.report_at = row.received_at
    view.state = str(data.get("state") or "")
    view.last_success = _when(data.get("last_success"))
    view.last_error = str(data.get("last_error") or "")
    view.queued = queued_items(data)
    view.clock_offset_ms = _int(data.get("clock_offset_ms"))
    view.free_disk = _int(data.get("free_disk_bytes"))
    # The node's own word on its versions is at least as fresh as its last hello.
    view.software = str(data.get("software") or view.software)
    view.schema = _int(data.get("schema")) or view.schema
    test = data.get("self_test")
    checks = test.get("checks") if isinstance(test, dict) else None
    for check in checks if isinstance(checks, list) else []:
        if not isinstance(check, dict):
            continue
        title = str(check.get("title") or check.get("name") or "?")
        if check.get("status") == "fail":
            view.checks_failed.append(title)
        elif check.get("status") == "warn":
            view.checks_warned.append(title)
    view.device_check = _device_check(data.get("device_check"))
    link = data.get("link")
    view.link = link if isinstance(link, dict) and isinstance(link.get("mode"), str) else None


def _say(template: Any, params: Any = None) -> str:
    """A node's msgid in the user's language with its parameters; as sent when that is not possible."""
    text = str(template or "")
    params = params if isinstance(params, dict) else {}
    if has_request_context():
        return say(text, params)  # numbers with the user's decimal separator
    try:  # no request here: the Russian as the node sent it
        return text % params if params else text
    except (KeyError, ValueError, TypeError):
        return text


def _device_check(data: Any) -> DeviceCheckView | None:
    """The kiosk's last «Проверка оборудования», from its report (a peer's data: nothing trusted)."""
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list):
        return None
    lines = [
        DeviceCheckLine(
            name=str(c.get("name") or ""),
            title=_say(c.get("title") or c.get("name")),
            status=str(c.get("status") or ""),
            detail=_say(c.get("detail"), c.get("params")),
            advice=_say(c.get("advice"), c.get("params")),
        )
        for c in data["checks"]
        if isinstance(c, dict)
    ]
    ok = all(line.status != "fail" for line in lines)
    return DeviceCheckView(at=_when(data.get("at")), ok=ok, checks=lines)


def _growing(history: list[tuple[datetime, int]], rules: AlertRules) -> bool:
    recent = history[-rules.queue_reports :]
    if len(recent) < rules.queue_reports or recent[-1][1] <= recent[0][1]:
        return False
    if any(later < earlier for (_, earlier), (_, later) in zip(recent, recent[1:], strict=False)):
        return False
    return recent[-1][0] - recent[0][0] >= timedelta(minutes=rules.queue_minutes)


def _alerts(view: NodeView, history: list[tuple[datetime, int]], rules: AlertRules, now: datetime) -> None:
    if view.revoked:
        return
    limit = timedelta(hours=rules.not_seen_hours)
    hours = f"{rules.not_seen_hours:g}"
    if view.last_seen is None:
        if now - view.enrolled_at > limit:
            view.alerts.append(
                Alert("not_seen", N_("Ни разу не выходил на связь (больше %(hours)s ч)"), {"hours": hours})
            )
    elif now - view.last_seen > limit:
        view.alerts.append(Alert("not_seen", N_("Не выходил на связь больше %(hours)s ч"), {"hours": hours}))
    if _growing(history, rules):
        view.alerts.append(
            Alert("queue", N_("Очередь растёт: %(n)s записей не отправлено"), {"n": view.queued})
        )
    if view.checks_failed:
        view.alerts.append(
            Alert(
                "self_test",
                N_("Самопроверка не пройдена: %(checks)s"),
                {"checks": ", ".join(view.checks_failed)},
            )
        )
    if view.device_check is not None and view.device_check.failed:
        view.alerts.append(
            Alert(
                "device_check",
                N_("Проверка оборудования не пройдена: %(checks)s"),
                {"checks": ", ".join(view.device_check.failed)},
            )
        )
    if view.free_disk is not None and view.free_disk < rules.low_disk_bytes:
        view.alerts.append(
            Alert("disk", N_("Мало места на диске: %(mb)s МБ"), {"mb": view.free_disk // 2**20})
        )
    if view.clock_offset_ms is not None and abs(view.clock_offset_ms) > rules.clock_minutes * 60_000:
        minutes = round(abs(view.clock_offset_ms) / 60_000)
        view.alerts.append(
            Alert("clock", N_("Часы киоска расходятся с центром на %(minutes)s мин"), {"minutes": minutes})
        )
    if view.schema and view.schema < SCHEMA_VERSION:
        view.alerts.append(Alert("update", N_("Требуется обновление программы киоска")))
    if view.state == "error" and view.last_error:
        view.alerts.append(
            Alert("sync_error", N_("Ошибка синхронизации: %(error)s"), {"error": view.last_error})
        )


def fleet(rules: AlertRules | None = None, now: datetime | None = None) -> list[NodeView]:
    """Every enrolled kiosk, those needing attention first, then by post."""
    rules, now = rules or AlertRules(), now or utcnow()
    names = {o.id: o.name for o in Organization.select(Organization.id, Organization.name)}
    reports = {r.node_id: r for r in NodeReport.select()}
    views = []
    for node in KnownNode.select():
        view = NodeView(
            node_id=node.node_id,
            organization_id=node.organization_id,
            post_name=names.get(node.organization_id, node.organization_id),
            revoked=bool(node.revoked),
            enrolled_at=node.enrolled_at,
            last_seen=node.last_seen,
            software=node.software_version,
            schema=int(node.schema_version or 0),
            clock_offset_ms=int(node.clock_offset_ms) if node.clock_offset_ms else None,
        )
        row = reports.get(node.node_id)
        if row is not None:
            _apply_report(view, row)
        _alerts(view, row.history() if row is not None else [], rules, now)
        views.append(view)
    views.sort(key=lambda v: (v.revoked, not v.alerts, v.post_name, v.node_id))
    return views


def revoke_node(node_id: str) -> KnownNode:
    """Revoke a kiosk's key: its next sync is refused and it tells the feldsher to call support."""
    node = KnownNode.get_or_none(KnownNode.node_id == node_id)
    if node is None:
        raise ValidationError(N_("Киоск %(node)s не найден"), node=node_id)
    KnownNode.update(revoked=True).where(KnownNode.node_id == node_id).execute()
    return KnownNode.get_by_id(node_id)


# -- enrolment tokens -------------------------------------------------------------


@dataclass
class TokenView:
    token_hash: str
    post_name: str
    created_at: datetime
    expires_at: datetime
    created_by: str
    note: str
    state: str  # active, used, expired, revoked
    node_id: str


def posts() -> list[Organization]:
    return list(Organization.live().where(Organization.kind == OrgKind.POST).order_by(Organization.name))


def tokens(now: datetime | None = None) -> list[TokenView]:
    """Every enrolment token, newest first, with what became of it."""
    now = now or utcnow()
    names = {o.id: o.name for o in Organization.select(Organization.id, Organization.name)}
    people = {s.id: s.short_name for s in Staff.select()}
    out = []
    for row in EnrolmentToken.select().order_by(EnrolmentToken.created_at.desc()):
        if row.revoked:
            state = "revoked"
        elif row.used_at is not None:
            state = "used"
        elif row.expires_at <= now:
            state = "expired"
        else:
            state = "active"
        out.append(
            TokenView(
                token_hash=row.token_hash,
                post_name=names.get(row.organization_id, row.organization_id),
                created_at=row.created_at,
                expires_at=row.expires_at,
                created_by=people.get(row.created_by, row.created_by),
                note=row.note,
                state=state,
                node_id=row.node_id or "",
            )
        )
    return out


def issue(organization_id: str, hours_text: str, staff_id: str, note: str) -> str:
    """A new one-time token for a post's kiosk (shown once; only its hash is kept)."""
    post = Organization.get_or_none(Organization.id == organization_id)
    if post is None or post.kind != OrgKind.POST or post.deleted:
        raise ValidationError(N_("Выберите ФАП, для которого выпускается код"), field="organization")
    try:
        hours = float(hours_text)
    except ValueError as exc:
        raise ValidationError(N_("Срок действия — число часов от 1 до 720"), field="hours") from exc
    if not 1 <= hours <= 720:
        raise ValidationError(N_("Срок действия — число часов от 1 до 720"), field="hours")
    return issue_token(organization_id, hours=hours, created_by=staff_id, note=note.strip()[:200])


def revoke_token(token_hash: str) -> None:
    row = EnrolmentToken.get_or_none(EnrolmentToken.token_hash == token_hash)
    if row is None:
        raise ValidationError(N_("Код регистрации не найден"))
    if row.used_at is not None:
        raise ValidationError(N_("Код уже использован: отзовите доступ самого киоска"))
    row.revoked = True
    row.save()
