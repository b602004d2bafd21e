"""«Проверка оборудования»: the page, the slow checks it starts, and saving its result."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app, g, jsonify, render_template, request
from flask_babel import gettext as _

from domain.errors import ValidationError
from i18n import N_
from node.devicecheck import checks, results
from node.devicecheck.checks import Finding
from node.devicecheck.measurements import Measurements
from sync.state import Cursor
from web.auth import login_required
from web.formats import say
from web.session_api import json_body

from ..auth.routes import NODE_ROLES
from ..exams.devices import device_feed
from . import bp
from .routes import serial_ports

#: Status words as the feldsher reads them.
STATUS = {
    checks.OK: N_("норма"),
    checks.WARN: N_("есть замечания"),
    checks.FAIL: N_("не пройдена"),
    checks.SKIP: N_("не проверялось"),
}
#: Badge classes of faplink.css for each status.
BADGE = {checks.OK: "synced", checks.WARN: "urgent", checks.FAIL: "overdue", checks.SKIP: ""}
LOOPBACK_SECONDS = (2.0, 15.0, 5.0)  # least, most, default


def _measurements() -> Measurements:
    return current_app.extensions.setdefault("device_check", Measurements())  # type: ignore[no-any-return]


def _data_dir() -> Path:
    return Path(current_app.extensions["identity"].data_dir)


def shown(check: dict[str, Any]) -> dict[str, Any]:
    """A stored or fresh finding in the user's language, ready for the page or its script."""
    raw = check.get("params")
    params = raw if isinstance(raw, dict) else {}
    # Parameters that are our own labels (a mode's name) translate too; numbers get the
    # user's decimal separator.
    texts = {key: say(str(check.get(key) or ""), params) for key in ("detail", "advice")}
    status = str(check.get("status") or "")
    return {
        "name": check.get("name"),
        "title": _(str(check.get("title") or check.get("name") or "")),
        "status": status,
        "status_text": _(STATUS.get(status, status)),
        "badge": BADGE.get(status, ""),
        "detail": texts["detail"],
        "advice": texts["advice"],
        "figures": check.get("figures") or {},
    }


def _with_time(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """A stored result with `when` (a naive UTC datetime) for the page's `localtime` filter."""
    if result is None:
        return None
    try:
        when = datetime.fromisoformat(str(result.get("at")))
    except ValueError:
        when = None
    if when is not None and when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    return {**result, "when": when}


def _device_findings() -> list[Finding]:
    """The camera, microphone and speakers the system lists."""
    return [checks.camera_finding(), checks.microphone_finding(), checks.speakers_finding()]


def _quick_findings() -> list[Finding]:
    """Checks that take no time: devices present, disk, clock."""
    measured = Cursor.get_or_none(Cursor.name == "clock_offset")  # written by enrolment and each hello
    return [
        *_device_findings(),
        checks.serial_finding(device_feed().links(), serial_ports()),
        checks.disk_finding(_data_dir()),
        checks.clock_finding(int(measured.value) if measured is not None else None),
    ]


@bp.get("/settings/device-check")
@login_required(*NODE_ROLES)
def device_check() -> Any:
    quick = {f.name: shown(f.as_dict()) for f in _quick_findings()}
    latest = _with_time(results.latest_result(_data_dir()))
    return render_template(
        "node/settings/device_check.html",
        title=_("Проверка оборудования"),
        quick=quick,
        latest=latest,
        latest_checks=[shown(c) for c in (latest or {}).get("checks", []) if isinstance(c, dict)],
        past=[_with_time(r) for r in results.history(_data_dir())[1:]],
        limits={"width": checks.HD[0], "height": checks.HD[1], "fps": checks.MIN_FPS},
        loopback_seconds=LOOPBACK_SECONDS[2],
    )


@bp.get("/api/v1/device-check")
@login_required(*NODE_ROLES)
def api_device_check() -> Any:
    """The latest device check and the devices present.
    ---
    get:
      summary: The stored result of the last full device check, earlier results, and the quick checks now
      responses:
        200: {description: "latest (or null), history, quick findings"}
    """
    return jsonify(
        latest=results.latest_result(_data_dir()),
        history=results.history(_data_dir()),
        now=[shown(f.as_dict()) for f in _quick_findings()],
    )


@bp.post("/api/v1/device-check/loopback")
@login_required(*NODE_ROLES)
def api_loopback() -> Any:
    """Run a loopback call.
    ---
    post:
      summary: A loopback call through aiortc in a child process at 1280×720; frames, fps, resolution, CPU
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {seconds: {type: number, minimum: 2, maximum: 15, example: 5}}}
      responses:
        200: {description: the finding}
        400: {description: bad duration, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
        409: {description: a loopback call is already running}
    """  # noqa: E501
    data = request.get_json(silent=True) or {}
    if not isinstance(data, dict):
        raise ValidationError(N_("Ожидался JSON-объект в теле запроса"))
    least, most, default = LOOPBACK_SECONDS
    seconds = data.get("seconds", default)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not least <= seconds <= most:
        raise ValidationError(
            N_("Длительность пробного звонка — от %(least)s до %(most)s секунд"),
            field="seconds",
            least=f"{least:g}",
            most=f"{most:g}",
        )
    finding = _measurements().run("loopback", lambda: checks.loopback_finding(float(seconds)))
    return jsonify(shown(finding.as_dict()))


@bp.post("/api/v1/device-check/link")
@login_required(*NODE_ROLES)
def api_link() -> Any:
    """Measure the link to central.
    ---
    post:
      summary: Round trip, throughput both ways and loss to central, and the call mode they allow
      responses:
        200: {description: the finding}
        409: {description: a link measurement is already running}
    """
    identity = current_app.extensions["identity"]
    finding = _measurements().run("link", lambda: checks.link_finding(identity))
    return jsonify(shown(finding.as_dict()))


@bp.post("/api/v1/device-check/judge")
@login_required(*NODE_ROLES)
def api_judge() -> Any:
    """Judge the browser's measurements without saving them.
    ---
    post:
      summary: The verdict and what to do for a camera preview, a microphone level or the speaker answer
      requestBody:
        content:
          application/json:
            schema: {type: object, description: "the same fields as /api/v1/device-check/results"}
      responses:
        200: {description: the findings for the parts given}
        400: {description: bad input, content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    browser = results.parse_browser_results(json_body())
    judged = {
        "camera": checks.judge_preview(browser.camera_preview)
        if browser.camera_preview is not None
        else None,
        "microphone": checks.judge_microphone(browser.microphone_level)
        if browser.microphone_level is not None
        else None,
        "speakers": checks.judge_speaker(browser.speaker_test) if browser.speaker_test is not None else None,
    }
    quick = {f.name: f for f in _device_findings()}
    return jsonify(
        checks=[shown(f.as_dict()) for f in judged.values() if f is not None],
        # «Камера не найдена» no longer stands beside a picture the browser got.
        devices={
            name: shown(checks.with_browser(quick[name], finding).as_dict())
            for name, finding in judged.items()
            if finding is not None
        },
    )


def _skipped(name: str) -> Finding:
    return Finding(name, checks.SKIP, N_("Не проверялось"))


@bp.post("/api/v1/device-check/results")
@login_required(*NODE_ROLES)
def api_save() -> Any:
    """Save a full device check.
    ---
    post:
      summary: Store the browser's measurements with the kiosk's own checks as the latest device check
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
                camera_preview: {type: object, properties: {width: {type: integer}, height: {type: integer}, fps: {type: number}, label: {type: string}, error: {type: string}}}
                microphone_level: {type: object, properties: {peak: {type: number, minimum: 0, maximum: 1}, label: {type: string}, error: {type: string}}}
                speaker_test: {type: object, properties: {heard: {type: boolean}}}
      responses:
        201: {description: the stored result}
        400: {description: bad input (nothing stored), content: {application/json: {schema: {$ref: "#/components/schemas/Error"}}}}
    """  # noqa: E501
    browser = results.parse_browser_results(json_body())
    quick = {f.name: f for f in _quick_findings()}
    measured = _measurements()
    preview = checks.judge_preview(browser.camera_preview)
    level = checks.judge_microphone(browser.microphone_level)
    heard = checks.judge_speaker(browser.speaker_test)
    findings = [
        checks.with_browser(quick["camera"], preview),
        preview,
        checks.with_browser(quick["microphone"], level),
        level,
        checks.with_browser(quick["speakers"], heard),
        heard,
        measured.fresh("loopback") or _skipped("loopback"),
        measured.fresh("link") or _skipped("link"),
        quick["serial_ports"],
        quick["disk"],
        quick["clock"],
    ]
    result = results.save_result(_data_dir(), findings, by=g.staff.id)
    # The next sync round carries the result to central's fleet page (provisioning's reporter).
    worker = current_app.extensions.get("sync_worker")
    if worker is not None and current_app.config.get("SYNC_ENABLED"):
        worker.trigger()
    return jsonify({**result, "checks": [shown(c) for c in result["checks"]]}), 201
