"""The kiosk's own screens, shown before the node's pages: starting, and cannot start."""

from __future__ import annotations

from html import escape

__all__ = ["SUPPORT_PHONE", "starting_screen", "error_screen"]

SUPPORT_PHONE = "8 (800) 500-02-99"

_STYLE = """
body { margin:0; height:100vh; display:flex; align-items:center; justify-content:center;
       font-family:"DejaVu Sans", Arial, sans-serif; background:#f5f7fa; color:#1c2430; }
.box { max-width:640px; background:#fff; border:1px solid #d9dee7; border-radius:12px; padding:2rem 2.4rem; }
h1 { margin-top:0; font-size:1.6rem; } h1.error { color:#c0392b; }
pre { white-space:pre-wrap; background:#f5f7fa; padding:.8rem; border-radius:6px;
      font-size:.8rem; color:#6b7280; }
button { font:inherit; padding:.6rem 1.4rem; border-radius:6px; border:1px solid #1f5fbf; cursor:pointer;
         background:#1f5fbf; color:#fff; margin-right:.6rem; }
button.secondary { background:#fff; color:#1f5fbf; }
"""


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="ru"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{_STYLE}</style></head><body><div class="box">{body}</div></body></html>'
    )


def starting_screen() -> str:
    return _page(
        "Запуск рабочего места",
        "<h1>Запуск рабочего места…</h1><p>Подождите, это займёт меньше минуты.</p>",
    )


def error_screen(reason: str, detail: str = "") -> str:
    """What the feldsher sees when the node cannot start: what happened and what to do."""
    details = (
        f"<details><summary>Сведения для инженера</summary><pre>{escape(detail)}</pre></details>"
        if detail
        else ""
    )
    return _page(
        "Рабочее место не запустилось",
        f'<h1 class="error">{escape(reason)}</h1>'
        "<p>Рабочее место фельдшера сейчас недоступно. Нажмите «Повторить». Если не помогло, "
        f"позвоните в техническую поддержку: <strong>{SUPPORT_PHONE}</strong>.</p>"
        f"{details}"
        '<p><button type="button" onclick="window.pywebview.api.retry()">Повторить</button>'
        '<button type="button" class="secondary" onclick="window.pywebview.api.quit()">Закрыть</button></p>',
    )
