"""What a browser test asserts of every kiosk page it sees: touch targets, the one-row menu, one
time format, no English on a Russian page; and the screenshots it leaves for a person to look at.

A touch target is every visible a, button, input, select, textarea, summary and [role=button]; a
checkbox or radio is pressed through its label, so the label is measured instead. Documented
exception: a link inside a sentence (an `a` in a `p` that is not styled as a button) is a text
link, sized by its text.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from playwright.sync_api import Page

__all__ = [
    "MIN_TARGET",
    "KIOSK_SIZES",
    "small_targets",
    "menu_rows",
    "clipped_menu_entries",
    "utc_or_iso",
    "english_words",
    "check_page",
    "screenshot_dir",
]

MIN_TARGET = 44
#: The kiosks' screens: the i3 box on a 4:3 monitor and a 16:10 all-in-one.
KIOSK_SIZES = ((1024, 768), (1280, 800))

_SMALL_TARGETS = """(min) => {
  const out = [];
  for (const el of document.querySelectorAll(
      'a, button, input, select, textarea, summary, [role=button], label')) {
    const choice = 'input[type=radio], input[type=checkbox]';
    if (el.tagName === 'LABEL' && !el.querySelector(choice)) continue;  // a form field's caption
    if (el.matches(choice) && el.closest('label')) continue;  // its label is the target
    if (el.matches('input[type=hidden]')) continue;
    if (!el.checkVisibility({checkOpacity: true, checkVisibilityCSS: true})) continue;
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    if (el.tagName === 'A' && el.closest('p') && !el.classList.contains('button')) continue;
    if (box.width < min || box.height < min) {
      const text = (el.innerText || el.value || el.name || el.id || '').replace(/\\s+/g, ' ').slice(0, 40);
      out.push(`${el.tagName.toLowerCase()} «${text}» ${Math.round(box.width)}×${Math.round(box.height)}`);
    }
  }
  return out;
}"""

_MENU_ROWS = """() => new Set(Array.from(document.querySelectorAll('.mainnav a'),
  (a) => Math.round(a.getBoundingClientRect().top))).size"""

_CLIPPED = """() => {
  const nav = document.querySelector('.mainnav');
  if (!nav) return [];
  const box = nav.getBoundingClientRect();
  return Array.from(nav.querySelectorAll('a')).filter((a) => {
    const r = a.getBoundingClientRect();
    return r.left < box.left - 1 || r.right > box.right + 1;
  }).map((a) => a.innerText);
}"""

_ISO = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")
#: Latin words that are names, not English: the product, device makers, protocol names.
_NAMES = {"faplink", "contec", "beurer", "mettler-toledo", "mtsics", "astm", "cms", "fake_device"}
_WORD = re.compile(r"^[A-Za-z][A-Za-z-]*[a-z][A-Za-z-]*$")  # a word with a lowercase letter


def small_targets(page: Page) -> list[str]:
    """Visible touch targets under 44×44 CSS px, as «tag «text» W×H»."""
    return list(page.evaluate(_SMALL_TARGETS, MIN_TARGET))


def menu_rows(page: Page) -> int:
    """How many rows the main menu's entries take."""
    return int(page.evaluate(_MENU_ROWS))


def clipped_menu_entries(page: Page) -> list[str]:
    """Menu entries not wholly in view (the row scrolls sideways rather than wrap)."""
    return list(page.evaluate(_CLIPPED))


def utc_or_iso(text: str) -> list[str]:
    """UTC/GMT or ISO 8601 times in a page's visible text."""
    return re.findall(r"\b(?:UTC|GMT)\b", text) + _ISO.findall(text)


def english_words(text: str) -> list[str]:
    """Latin words on a Russian page that are not names (file names, addresses, codes and
    acronyms such as PDF, SpO2 or demo-post-1 are not words)."""
    found = []
    for token in text.split():
        if token.lstrip("(«").startswith("."):
            continue  # a file's extension: (.p12, .pfx)
        word = token.strip(".,:;!?()«»\"'—·")
        if len(word) < 3 or not _WORD.match(word) or word.lower() in _NAMES:
            continue
        found.append(word)
    return found


def screenshot_dir(fallback: Path) -> Path:
    """FAPLINK_SCREENSHOTS if set (to keep them), else the test's temporary directory."""
    path = Path(os.environ.get("FAPLINK_SCREENSHOTS") or fallback)
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_page(page: Page, name: str, shots: Path | None = None) -> None:
    """Assert the kiosk rules on the page as it is now; keep a screenshot as `name`."""
    page.wait_for_load_state("load")  # its stylesheets applied
    width = page.viewport_size["width"] if page.viewport_size else 0
    where = f"{name} at {width} px"
    small = small_targets(page)
    assert not small, f"{where}: touch targets under {MIN_TARGET} px: {small}"
    if page.locator(".mainnav a").count():
        assert menu_rows(page) == 1, f"{where}: the menu wraps"
        assert not clipped_menu_entries(page), f"{where}: menu entries cut off: {clipped_menu_entries(page)}"
    text = page.locator("body").inner_text()
    assert not utc_or_iso(text), f"{where}: UTC or ISO times: {utc_or_iso(text)}"
    assert not english_words(text), f"{where}: English on a Russian page: {english_words(text)}"
    if shots is not None:
        page.screenshot(path=str(shots / f"{name}-{width}.png"))
