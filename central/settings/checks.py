"""What the consultant's browser measured, judged against the manual's workplace requirements.

«Технические требования»: a web camera of 1280×720, a microphone and speakers (or a
headset), internet at 10 Mbit/s. The browser measures; the verdict and what to do are
given here, so the page and the JSON API say the same. Texts are Russian msgids with
`%(name)s` parameters (numbers stay numbers), translated and formatted where they are shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from domain.errors import ValidationError
from i18n import N_

__all__ = [
    "Finding",
    "OK",
    "WARN",
    "FAIL",
    "HD",
    "MIN_FPS",
    "MIN_MIC_PEAK",
    "MIN_DOWN_MBPS",
    "MIN_UP_MBPS",
    "MAX_RTT_MS",
    "TITLES",
    "judge",
]

OK, WARN, FAIL = "ok", "warn", "fail"

#: «Web-камера с разрешением 1280 х 720 px»; below this frame rate the picture stutters.
HD = (1280, 720)
MIN_FPS = 15.0
#: Below this peak level (0…1) over the few seconds of listening the microphone is silent.
MIN_MIC_PEAK = 0.02
#: «Интернет 10 Мбит/с» towards the consultant; a 720p call sends about 1.5–2.5 Mbit/s back.
MIN_DOWN_MBPS = 10.0
MIN_UP_MBPS = 2.0
#: A longer round trip makes people talk over each other in a call.
MAX_RTT_MS = 300.0

TITLES: dict[str, str] = {
    "camera": N_("Камера"),
    "microphone": N_("Микрофон"),
    "speakers": N_("Динамики"),
    "link": N_("Связь с центром"),
}


@dataclass(frozen=True)
class Finding:
    """One check's verdict: what was seen (`detail`) and, unless it is fine, what to do."""

    name: str
    status: str
    detail: str
    params: dict[str, Any] = field(default_factory=dict)
    advice: str = ""


def _number(data: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = data.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ValidationError(N_("Значение «%(name)s» измерено неверно"), field=name, name=name)
    return float(value)


def _label(data: Mapping[str, Any]) -> str:
    return str(data.get("label") or "").strip()[:200] or "—"


def _error(data: Mapping[str, Any]) -> str:
    return str(data.get("error") or "").strip()[:300]


def judge_camera(data: Mapping[str, Any]) -> Finding:
    """The picture the browser got: {width, height, fps, label} or {error}."""
    if _error(data):
        return Finding(
            "camera",
            FAIL,
            N_("Браузер не получил изображение: %(error)s"),
            {"error": _error(data)},
            N_(
                "Разрешите сайту доступ к камере (значок камеры в адресной строке), закройте "
                "другие программы, которые её используют, и проверьте снова"
            ),
        )
    width, height = int(_number(data, "width", 0, 10000)), int(_number(data, "height", 0, 10000))
    fps = _number(data, "fps", 0, 1000)
    params = {"label": _label(data), "width": width, "height": height, "fps": round(fps)}
    detail = N_("%(label)s: %(width)s×%(height)s, %(fps)s кадр/с")
    if width < HD[0] or height < HD[1]:
        advice = N_("Нужна камера не меньше 1280×720: замените её на HD-камеру")
        return Finding("camera", FAIL, detail, params, advice)
    if fps < MIN_FPS:
        advice = N_(
            "Кадров в секунду мало: добавьте света (в темноте камеры снижают частоту) и проверьте снова"
        )
        return Finding("camera", WARN, detail, params, advice)
    return Finding("camera", OK, detail, params)


def judge_microphone(data: Mapping[str, Any]) -> Finding:
    """The loudest level the browser heard in a few seconds: {peak (0…1), label} or {error}."""
    if _error(data):
        return Finding(
            "microphone",
            FAIL,
            N_("Браузер не получил звук: %(error)s"),
            {"error": _error(data)},
            N_("Разрешите сайту доступ к микрофону, подключите гарнитуру или микрофон и проверьте снова"),
        )
    peak = _number(data, "peak", 0, 1)
    params = {"label": _label(data), "peak": round(peak * 100)}
    detail = N_("%(label)s: наибольший уровень %(peak)s %%")
    if peak < MIN_MIC_PEAK:
        advice = N_(
            "Микрофон молчит: скажите что-нибудь во время проверки, проверьте, не выключен ли звук "
            "на гарнитуре, и проверьте снова"
        )
        return Finding("microphone", FAIL, detail, params, advice)
    return Finding("microphone", OK, detail, params)


def judge_speakers(data: Mapping[str, Any]) -> Finding:
    """The consultant's answer to the test tone: {heard: true|false}."""
    heard = data.get("heard")
    if not isinstance(heard, bool):
        raise ValidationError(N_("Ответьте, слышен ли проверочный звук"), field="heard")
    if heard:
        return Finding("speakers", OK, N_("Проверочный звук слышен"))
    return Finding(
        "speakers",
        FAIL,
        N_("Проверочный звук не слышен"),
        advice=N_(
            "Проверьте, что колонки или гарнитура подключены и включены, прибавьте громкость "
            "и проверьте снова"
        ),
    )


def judge_link(data: Mapping[str, Any]) -> Finding:
    """The browser's link to central: {live, rtt_ms, down_mbps, up_mbps} or {error}."""
    if _error(data):
        return Finding(
            "link",
            FAIL,
            N_("Центр не отвечает: %(error)s"),
            {"error": _error(data)},
            N_(
                "Проверьте подключение к интернету и обновите страницу; если не помогло, "
                "позвоните в поддержку"
            ),
        )
    rtt = _number(data, "rtt_ms", 0, 600_000)
    down = _number(data, "down_mbps", 0, 1_000_000)
    up = _number(data, "up_mbps", 0, 1_000_000)
    live = data.get("live") is True
    params = {"rtt": round(rtt), "down": round(down, 1), "up": round(up, 1)}
    detail = N_("Задержка %(rtt)s мс, к вам %(down)s Мбит/с, от вас %(up)s Мбит/с")
    if not live:
        detail = N_(
            "Живое соединение не установлено; задержка %(rtt)s мс, к вам %(down)s Мбит/с, "
            "от вас %(up)s Мбит/с"
        )
        advice = N_(
            "Без живого соединения новые обращения, сообщения чата и звонки не появятся, пока вы не "
            "обновите страницу: обновите её; если не помогло, попросите администратора сети "
            "пропустить WebSocket к центру"
        )
        return Finding("link", FAIL, detail, params, advice)
    if down < MIN_DOWN_MBPS or up < MIN_UP_MBPS or rtt > MAX_RTT_MS:
        advice = N_(
            "Ниже требований (10 Мбит/с, задержка до 300 мс): видеозвонок может прерываться. "
            "Закройте загрузки и видео в других вкладках или подключитесь к проводной сети"
        )
        return Finding("link", WARN, detail, params, advice)
    return Finding("link", OK, detail, params)


_JUDGES = {
    "camera": judge_camera,
    "microphone": judge_microphone,
    "speakers": judge_speakers,
    "link": judge_link,
}


def judge(measured: Mapping[str, Any]) -> list[Finding]:
    """Verdicts on what the browser measured, in the page's order; unknown names are refused."""
    unknown = sorted(set(measured) - set(_JUDGES))
    if unknown:
        raise ValidationError(N_("Неизвестная проверка: %(name)s"), field=unknown[0], name=unknown[0])
    findings = []
    for name, check in _JUDGES.items():
        if name not in measured:
            continue
        data = measured[name]
        if not isinstance(data, Mapping):
            raise ValidationError(N_("Значение «%(name)s» измерено неверно"), field=name, name=name)
        findings.append(check(data))
    return findings
