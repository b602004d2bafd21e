"""Small inline SVG charts of vitals and lab results over time, drawn on the server (no scripts, no CDN).

The kiosk's exam and patient pages and central's appeal page show the same charts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext
from markupsafe import Markup, escape

from domain.models import CATALOGUE, Patient

from .i18n import to_local
from .vitals import series, unit_label

__all__ = ["VitalChart", "vital_chart", "vital_charts"]

WIDTH, HEIGHT = 360, 130
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 12, 24


def _fmt(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def vital_chart(points: list[tuple[datetime, float]], title: str, unit: str) -> Markup:
    """An SVG line chart (one point per measurement, the latest value labelled)."""
    if not points:
        return Markup("")
    values = [v for _, v in points]
    low, high = min(values), max(values)
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    pad = (high - low) * 0.1
    low, high = low - pad, high + pad
    first, last = points[0][0], points[-1][0]
    span = max((last - first).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(moment: datetime) -> float:
        if len(points) == 1:
            return LEFT + plot_w / 2
        return LEFT + plot_w * (moment - first).total_seconds() / span

    def y(value: float) -> float:
        return TOP + plot_h * (1 - (value - low) / (high - low))

    coords = [(x(t), y(v)) for t, v in points]
    line = " ".join(f"{cx:.1f},{cy:.1f}" for cx, cy in coords)
    dots = "".join(
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3">'
        f"<title>{escape(_when(t))}: {escape(_fmt(v))}</title></circle>"
        for (cx, cy), (t, v) in zip(coords, points, strict=True)
    )
    label = escape(f"{title}, {unit}")
    last_x, last_y = coords[-1]
    svg = (
        f'<svg class="vital-chart" role="img" aria-label="{label}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" xmlns="http://www.w3.org/2000/svg">'
        f"<title>{label}</title>"
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" class="axis"/>'
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" class="axis"/>'
        f'<text x="{LEFT - 4}" y="{TOP + 8}" text-anchor="end">{escape(_fmt(round(high, 1)))}</text>'
        f'<text x="{LEFT - 4}" y="{TOP + plot_h}" text-anchor="end">{escape(_fmt(round(low, 1)))}</text>'
        f'<text x="{LEFT}" y="{HEIGHT - 6}">{escape(_when(first, "%d.%m"))}</text>'
        f'<text x="{WIDTH - RIGHT}" y="{HEIGHT - 6}" text-anchor="end">{escape(_when(last, "%d.%m"))}</text>'
        f'<polyline points="{line}" fill="none"/>{dots}'
        f'<text x="{min(last_x + 4, WIDTH - RIGHT)}" y="{max(last_y - 6, TOP + 8):.1f}" '
        f'text-anchor="end" class="last">{escape(_fmt(points[-1][1]))}</text>'
        "</svg>"
    )
    return Markup(svg)


def _when(moment: datetime, fmt: str = "%d.%m.%Y %H:%M") -> str:
    local = to_local(moment)
    return local.strftime(fmt) if local else ""


@dataclass(frozen=True)
class VitalChart:
    """One vital's chart with its caption in the user's language."""

    loinc: str
    label: str
    svg: Markup


def vital_charts(patient: Patient | str, days: int = 365) -> list[VitalChart]:
    """A chart for every vital and lab result the patient has values of, in the usual order."""
    charts = []
    for code, points in series(patient, days).items():
        label = gettext(CATALOGUE[code][0])
        charts.append(VitalChart(code, label, vital_chart(points, label, unit_label(CATALOGUE[code][1]))))
    return charts
