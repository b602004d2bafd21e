"""The device checks: each gives a `Finding` — ok / warn / fail / skip, what was seen, and what to do.

The same functions serve the kiosk's «Проверка оборудования» page and the
engineer's self-test (provisioning/selftest.py registers the device ones).
Texts are Russian msgids with `%(name)s` parameters, translated where they are
shown; `Finding.text()` fills them in untranslated for the terminal.
Measurements made in the browser (camera preview, microphone level, the
speaker test) are judged here too, so that the verdict never comes from the page.
"""

from __future__ import annotations

import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from i18n import N_

from .devices import Camera, SoundDevice, cameras, capture_devices, playback_devices
from .loopback import LoopbackResult, LoopbackSpec, run_loopback

__all__ = [
    "Finding",
    "OK",
    "WARN",
    "FAIL",
    "SKIP",
    "MIN_FPS",
    "HD",
    "DISK_WARN",
    "DISK_FAIL",
    "CLOCK_WARN_MS",
    "camera_finding",
    "microphone_finding",
    "speakers_finding",
    "loopback_finding",
    "link_finding",
    "serial_finding",
    "with_browser",
    "WORKING_STATES",
    "disk_finding",
    "clock_finding",
    "judge_preview",
    "judge_microphone",
    "judge_speaker",
    "TITLES",
]

OK, WARN, FAIL, SKIP = "ok", "warn", "fail", "skip"

#: A consultation needs at least HD at this frame rate from the camera and through the call.
HD = (1280, 720)
MIN_FPS = 15.0
#: Below this peak level (0…1) in a few seconds the microphone is taken to be silent.
MIN_MIC_PEAK = 0.02
DISK_WARN = 2 * 1024**3
DISK_FAIL = 500 * 1024**2
#: A kiosk clock further off than this is worth fixing (the sync corrects for it anyway).
CLOCK_WARN_MS = 2 * 60 * 1000

#: Each check's title, by name (Russian msgids).
TITLES: dict[str, str] = {
    "camera": N_("Камера"),
    "camera_preview": N_("Изображение с камеры"),
    "microphone": N_("Микрофон"),
    "microphone_level": N_("Уровень звука микрофона"),
    "speakers": N_("Динамики"),
    "speaker_test": N_("Проверочный звук"),
    "loopback": N_("Пробный видеозвонок"),
    "link": N_("Связь с центром"),
    "serial_ports": N_("Медицинские приборы"),
    "disk": N_("Свободное место на диске"),
    "clock": N_("Часы киоска"),
}


@dataclass
class Finding:
    name: str
    status: str
    detail: str = ""  # msgid with %(name)s parameters
    params: dict[str, Any] = field(default_factory=dict)
    advice: str = ""  # what to do (msgid, same parameters); empty when there is nothing to do
    figures: dict[str, Any] = field(default_factory=dict)  # raw measurements, for central and the CLI

    @property
    def title(self) -> str:
        return TITLES.get(self.name, self.name)

    @property
    def ok(self) -> bool:
        return self.status != FAIL

    def text(self) -> str:
        """Detail and advice in Russian, as one line (the terminal's self-test)."""
        params = {k: _russian(v) for k, v in self.params.items()}
        detail = self.detail % params if params else self.detail
        if self.advice:
            advice = self.advice % params if params else self.advice
            return f"{detail}. {advice}" if detail else advice
        return detail

    def as_dict(self) -> dict[str, Any]:
        return {"title": self.title, **asdict(self)}


def _russian(value: Any) -> Any:
    """A float parameter as Russian writes it (pages write it in the user's language)."""
    return f"{value:g}".replace(".", ",") if isinstance(value, float) else value


# -- devices present ------------------------------------------------------------------


def _names(devices: list[SoundDevice]) -> str:
    return ", ".join(f"{d.name} ({d.alsa})" for d in devices)


def camera_finding(found: list[Camera] | None = None) -> Finding:
    found = cameras() if found is None else found
    figures = {"cameras": [c.as_dict() for c in found]}
    if not found:
        return Finding(
            "camera",
            WARN,
            N_("Камера не найдена"),
            advice=N_(
                "Подключите веб-камеру к USB-разъёму киоска и проверьте снова. "
                "Без камеры доступны аудиозвонок и чат"
            ),
            figures=figures,
        )
    hd = [c for c in found if c.offers(*HD, MIN_FPS)]
    unknown = [c for c in found if c.offers(*HD, MIN_FPS) is None]
    names = ", ".join(f"{c.name} ({c.device})" for c in found)
    if hd:
        best = hd[0].best()
        assert best is not None
        params = {"names": names, "width": best[0], "height": best[1]}
        return Finding("camera", OK, N_("%(names)s: до %(width)s×%(height)s"), params, figures=figures)
    if unknown:
        return Finding(
            "camera",
            OK,
            N_("%(names)s: разрешение покажет предпросмотр"),
            {"names": names},
            figures=figures,
        )
    best = max((b for c in found if (b := c.best()) is not None), key=lambda s: s[0] * s[1])
    params = {"names": names, "width": best[0], "height": best[1], "fps": float(best[2])}
    return Finding(
        "camera",
        FAIL,
        N_("%(names)s: не больше %(width)s×%(height)s при %(fps)s кадр/с, нужно 1280×720"),
        params,
        N_("Замените камеру на HD-камеру (не меньше 1280×720, 15 кадров в секунду)"),
        figures,
    )


def microphone_finding(found: list[SoundDevice] | None = None) -> Finding:
    found = capture_devices() if found is None else found
    figures = {"devices": [d.as_dict() for d in found]}
    if not found:
        return Finding(
            "microphone",
            WARN,
            N_("Микрофон не найден"),
            advice=N_(
                "Подключите гарнитуру или микрофон и проверьте снова. "
                "Без микрофона консультация возможна только в чате"
            ),
            figures=figures,
        )
    return Finding("microphone", OK, "%(names)s", {"names": _names(found)}, figures=figures)


def speakers_finding(found: list[SoundDevice] | None = None) -> Finding:
    found = playback_devices() if found is None else found
    figures = {"devices": [d.as_dict() for d in found]}
    if not found:
        return Finding(
            "speakers",
            WARN,
            N_("Звуковой выход не найден"),
            advice=N_("Подключите колонки или гарнитуру и проверьте снова"),
            figures=figures,
        )
    return Finding("speakers", OK, "%(names)s", {"names": _names(found)}, figures=figures)


#: Link states of a device that is there and talking (hardware.LinkState values).
WORKING_STATES = frozenset({"connected", "detected", "identified", "download_complete"})


def _device_names(devices: list[dict[str, Any]]) -> str:
    return ", ".join(f"{d.get('port') or '—'} ({d.get('protocol') or '—'})" for d in devices)


def serial_finding(devices: list[dict[str, Any]], ports: list[dict[str, Any]] | None = None) -> Finding:
    """The post's medical devices: those the node reads (`DeviceFeed.links()`: label, protocol,
    link state) and USB adapters of a known device nobody reads yet (`ports`). A serial port
    with nothing recognised on it (a motherboard's empty /dev/ttyS0) is no medical device."""
    read = {str(d.get("port")) for d in devices}
    waiting = [
        {"port": p.get("device"), "protocol": p.get("hint")}
        for p in ports or []
        if p.get("hint") and p.get("device") not in read
    ]
    working = [d for d in devices if d.get("state") in WORKING_STATES]
    silent = [d for d in devices if d.get("state") not in WORKING_STATES]
    figures = {"devices": devices, "ports": ports or []}
    if not devices and not waiting:
        return Finding(
            "serial_ports",
            WARN,
            N_("Медицинские приборы не подключены"),
            advice=N_("Подключите медицинский прибор USB-кабелем, если он нужен на приёме"),
            figures=figures,
        )
    params = {"names": _device_names(working + waiting), "silent": _device_names(silent)}
    if silent:
        detail = (
            N_("Не отвечают: %(silent)s")
            if not working and not waiting
            else N_("%(names)s; не отвечают: %(silent)s")
        )
        advice = N_("Включите прибор и проверьте его кабель: %(silent)s")
        return Finding("serial_ports", WARN, detail, params, advice, figures)
    return Finding("serial_ports", OK, "%(names)s", params, figures=figures)


#: What each device finding is called when the system lists no such device but the kiosk's
#: browser got a picture or sound from one (a camera plugged in since, a driver V4L2 lacks).
_SEEN_BY_BROWSER = {
    "camera": N_("%(label)s: камера работает в браузере"),
    "microphone": N_("%(label)s: микрофон работает в браузере"),
    "speakers": N_("Звук воспроизводится: фельдшер его слышит"),
}


def with_browser(device: Finding, measured: Finding | None) -> Finding:
    """A device finding («Камера не найдена») corrected by what the browser measured with it: a
    device the browser got a picture or sound from is there, whatever the system lists."""
    if measured is None or measured.status == SKIP or measured.figures.get("error"):
        return device
    if measured.name == "speaker_test" and not measured.figures.get("heard"):
        return device
    if device.status == OK or device.name not in _SEEN_BY_BROWSER:
        return device
    return Finding(
        device.name,
        OK,
        _SEEN_BY_BROWSER[device.name],
        {"label": measured.params.get("label") or "—"},
        figures={**device.figures, "browser": measured.figures},
    )


def disk_finding(root: Path) -> Finding:
    free = shutil.disk_usage(root).free
    params = {"gb": round(free / 1024**3, 1)}
    figures = {"free_bytes": free}
    if free < DISK_FAIL:
        advice = N_("Освободите место, иначе новые записи и файлы не сохранятся: позвоните в техподдержку")
        return Finding("disk", FAIL, N_("Свободно %(gb)s ГБ"), params, advice, figures)
    if free < DISK_WARN:
        advice = N_("Места мало: сообщите в техподдержку")
        return Finding("disk", WARN, N_("Свободно %(gb)s ГБ"), params, advice, figures)
    return Finding("disk", OK, N_("Свободно %(gb)s ГБ"), params, figures=figures)


def clock_finding(offset_ms: int | None) -> Finding:
    """From central's clock minus ours, as the last sync round measured it."""
    figures = {"offset_ms": offset_ms}
    if offset_ms is None:
        return Finding(
            "clock",
            SKIP,
            N_("Часы ещё не сверялись с центром"),
            advice=N_("Сверка пройдёт сама при первой синхронизации"),
            figures=figures,
        )
    if abs(offset_ms) < 1000:
        return Finding("clock", OK, N_("Часы киоска идут вровень с центром"), figures=figures)
    params = {"seconds": round(abs(offset_ms) / 1000, 1)}
    if offset_ms > 0:
        detail = N_("Часы киоска отстают на %(seconds)s с")
    else:
        detail = N_("Часы киоска спешат на %(seconds)s с")
    if abs(offset_ms) > CLOCK_WARN_MS:
        advice = N_("Синхронизация это учитывает, но время киоска нужно исправить: позвоните в техподдержку")
        return Finding("clock", WARN, detail, params, advice, figures)
    return Finding("clock", OK, detail, params, figures=figures)


# -- the loopback call and the link ----------------------------------------------------


def loopback_finding(
    seconds: float = 5.0, spec: LoopbackSpec | None = None, *, result: LoopbackResult | None = None
) -> Finding:
    """Run (or judge) a loopback call at 1280×720 through the first camera and microphone, if any."""
    if result is None:
        if spec is None:
            found, mics = cameras(), capture_devices()
            spec = LoopbackSpec(
                seconds=seconds,
                camera=found[0].device if found else None,
                microphone=mics[0].alsa if mics else None,
            )
        result = run_loopback(spec)
    figures = result.as_dict()
    if result.error:
        return Finding(
            "loopback",
            FAIL,
            N_("Звонок не состоялся: %(error)s"),
            {"error": result.error},
            N_("Перезапустите киоск и проверьте снова; если не помогло — позвоните в техподдержку"),
            figures,
        )
    params = {
        "received": result.frames_received,
        "sent": result.frames_sent,
        "fps": round(float(result.fps), 1),
        "width": result.width,
        "height": result.height,
        "cpu": round(float(result.cpu_per_call_s), 2),
        "source": result.video_source,
    }
    detail = N_(
        "Получено кадров: %(received)s из %(sent)s, %(fps)s кадр/с, %(width)s×%(height)s, "
        "процессор: %(cpu)s с на секунду звонка (источник: %(source)s)"
    )
    if result.frames_received == 0:
        advice = N_("Видео не проходит даже внутри киоска: позвоните в техподдержку")
        return Finding("loopback", FAIL, detail, params, advice, figures)
    if result.width < HD[0] or result.height < HD[1]:
        advice = N_("Изображение приходит меньше 1280×720: проверьте камеру или позвоните в техподдержку")
        return Finding("loopback", FAIL, detail, params, advice, figures)
    if result.fps < MIN_FPS:
        advice = N_(
            "Киоск не успевает передавать видео 1280×720: закройте другие программы и проверьте снова; "
            "если не помогло — звонки пойдут с меньшим качеством, сообщите в техподдержку"
        )
        return Finding("loopback", FAIL, detail, params, advice, figures)
    if any(note.startswith(("camera ", "microphone ")) for note in result.notes):
        advice = N_(
            "Камера или микрофон не открылись для звонка (звонок прошёл на проверочной картинке): "
            "закройте другие программы, которые их используют, переподключите и проверьте снова"
        )
        return Finding("loopback", WARN, detail, params, advice, figures)
    return Finding("loopback", OK, detail, params, figures=figures)


def _figure(value: float | None, digits: int) -> float | int | str:
    if value is None:
        return "—"
    return round(float(value), digits) if digits else round(value)


def link_finding(identity: Any, *, budget_s: float = 6.0) -> Finding:
    """Round trip, throughput both ways and loss to central, and the call mode they allow."""
    from node.link_monitor.measure import MODE_LABELS, measure_link, offered_mode, save_latest, unmeasured
    from web.errors import USER_ERRORS

    try:  # node.key is sealed under the post's data key, which a command may not have opened
        central = identity.session()
    except (OSError, ValueError, *USER_ERRORS) as exc:
        quality = unmeasured(exc)
    else:
        quality = measure_link(central, budget_s=budget_s)
    mode = offered_mode(quality)
    figures = {**quality.as_dict(), "mode": mode}
    try:
        save_latest(Path(identity.data_dir), quality)  # what the call pages offer goes by the latest
    except OSError:
        pass
    if quality.rtt_ms is None:
        return Finding(
            "link",
            WARN,
            N_("Центр недоступен: %(error)s"),
            {"error": quality.error or "—"},
            N_(
                "Проверьте модем и кабель. Киоск работает и без связи: "
                "обращения уйдут в центр, когда связь появится"
            ),
            figures,
        )
    params = {
        "rtt": _figure(quality.rtt_ms, 0),
        "down": _figure(quality.down_kbps, 0),
        "up": _figure(quality.up_kbps, 0),
        "loss": _figure(quality.loss_pct, 1),
        "mode": MODE_LABELS.get(mode, mode),
    }
    detail = N_(
        "Задержка %(rtt)s мс, от центра %(down)s кбит/с, к центру %(up)s кбит/с, потери %(loss)s %%; "
        "консультация: %(mode)s"
    )
    if mode == "video":
        return Finding("link", OK, detail, params, figures=figures)
    advice = N_(
        "Для видеозвонка связь слаба: поставьте модем выше или ближе к окну, проверьте баланс и тариф; "
        "консультация пройдёт в доступном режиме"
    )
    return Finding("link", WARN, detail, params, advice, figures)


# -- what the browser measured ---------------------------------------------------------


def judge_preview(preview: dict[str, Any] | None) -> Finding:
    """The camera picture the kiosk's browser got: {width, height, fps, label} or {error}."""
    if preview is None:
        return Finding("camera_preview", SKIP, N_("Не проверялось"))
    if preview.get("error"):
        return Finding(
            "camera_preview",
            FAIL,
            N_("Браузер не получил изображение: %(error)s"),
            {"error": preview["error"]},
            N_("Подключите камеру, закройте другие программы, которые её используют, и проверьте снова"),
            dict(preview),
        )
    params = {
        "width": preview["width"],
        "height": preview["height"],
        "fps": round(preview["fps"]),
        "label": preview.get("label") or "—",
    }
    detail = N_("%(label)s: %(width)s×%(height)s, %(fps)s кадр/с")
    if preview["width"] < HD[0] or preview["height"] < HD[1]:
        advice = N_("Нужно не меньше 1280×720: замените камеру на HD-камеру")
        return Finding("camera_preview", FAIL, detail, params, advice, dict(preview))
    if preview["fps"] < MIN_FPS:
        advice = N_(
            "Кадров в секунду мало: улучшите освещение (камеры снижают частоту в темноте) и проверьте снова"
        )
        return Finding("camera_preview", FAIL, detail, params, advice, dict(preview))
    return Finding("camera_preview", OK, detail, params, figures=dict(preview))


def judge_microphone(level: dict[str, Any] | None) -> Finding:
    """The microphone level the browser saw: {peak (0…1), label} or {error}."""
    if level is None:
        return Finding("microphone_level", SKIP, N_("Не проверялось"))
    if level.get("error"):
        return Finding(
            "microphone_level",
            FAIL,
            N_("Браузер не получил звук: %(error)s"),
            {"error": level["error"]},
            N_("Подключите гарнитуру или микрофон и проверьте снова"),
            dict(level),
        )
    params = {"peak": round(level["peak"] * 100), "label": level.get("label") or "—"}
    detail = N_("%(label)s: наибольший уровень %(peak)s %%")
    if level["peak"] < MIN_MIC_PEAK:
        advice = N_(
            "Микрофон молчит: скажите что-нибудь во время проверки, проверьте, не выключен ли звук "
            "на гарнитуре, и проверьте снова"
        )
        return Finding("microphone_level", FAIL, detail, params, advice, dict(level))
    return Finding("microphone_level", OK, detail, params, figures=dict(level))


def judge_speaker(answer: dict[str, Any] | None) -> Finding:
    """The feldsher's answer to the test tone: {heard: true|false}."""
    if answer is None:
        return Finding("speaker_test", SKIP, N_("Не проверялось"))
    if answer["heard"]:
        return Finding("speaker_test", OK, N_("Фельдшер слышит проверочный звук"), figures=dict(answer))
    return Finding(
        "speaker_test",
        FAIL,
        N_("Фельдшер не слышит проверочный звук"),
        advice=N_(
            "Проверьте, что колонки или гарнитура подключены и включены, прибавьте громкость "
            "и проверьте снова"
        ),
        figures=dict(answer),
    )
