"""The English catalog covers every Russian msgid in the sources, and is compiled.

The msgids are extracted in-process with babel.cfg (the same mapping and
keywords as faplink/translations/update.sh), so a new `_("…")` without an
English translation fails here: run `bash faplink/translations/update.sh`,
translate the new entries in messages.po, and run the script again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask, render_template_string
from flask_babel import Babel, gettext

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "faplink" / "translations"
PO_PATH = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO_PATH = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"
UPDATE_SCRIPT = TRANSLATIONS / "update.sh"

# Must match the `-k` options in faplink/translations/update.sh (checked below).
KEYWORDS: dict[str, tuple[int, ...] | None] = {
    "_": None,
    "gettext": None,
    "lazy_gettext": None,
    "N_": None,
    "ngettext": (1, 2),
}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _msgid_key(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


@pytest.fixture(scope="module")
def source_msgids() -> dict[str, list[str]]:
    """Every msgid in the Python sources and templates, with where it is used."""
    with open(ROOT / "babel.cfg", encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found: dict[str, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        for text in (message,) if isinstance(message, str) else message:
            if text:
                found.setdefault(text, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def po_catalog() -> Catalog:
    with open(PO_PATH, "rb") as fileobj:
        return read_po(fileobj, locale="en")


def _translations(catalog: Catalog) -> dict[str, str | tuple[str, ...]]:
    return {
        _msgid_key(message.id): message.string
        for message in catalog
        if message.id and message.string and not message.fuzzy
    }


def test_update_script_uses_the_same_keywords() -> None:
    script = UPDATE_SCRIPT.read_text(encoding="utf-8")
    declared = {spec.split(":")[0] for spec in re.findall(r"-k\s+(\S+)", script)}
    assert declared == set(KEYWORDS)


def test_extraction_finds_the_known_strings(source_msgids: dict[str, list[str]]) -> None:
    # Python `_()`, `N_()` and Jinja templates are all being read.
    for text in ("Новые обращения", "экстренная", "Синхронизировать сейчас"):
        assert text in source_msgids
    assert len(source_msgids) > 100


def test_every_source_msgid_has_an_english_translation(
    source_msgids: dict[str, list[str]], po_catalog: Catalog
) -> None:
    translated = _translations(po_catalog)
    missing = [
        f"{text!r} ({', '.join(places[:2])})"
        for text, places in sorted(source_msgids.items())
        if text not in translated
    ]
    assert not missing, (
        f"{len(missing)} msgid(s) lack a non-fuzzy English translation in {PO_PATH.name}; "
        "run `bash faplink/translations/update.sh` and translate:\n  " + "\n  ".join(missing)
    )


def test_catalog_has_no_fuzzy_or_empty_entries(po_catalog: Catalog) -> None:
    bad = [
        message.id for message in po_catalog if message.id and (message.fuzzy or not message.string)
    ]
    assert not bad, f"fuzzy or empty entries in {PO_PATH.name}: {bad}"


def test_translations_keep_the_placeholders(po_catalog: Catalog) -> None:
    wrong = []
    for message in po_catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if sorted(PLACEHOLDER.findall(string)) != expected:
                wrong.append(f"{ids[0]!r} -> {string!r}")
    assert not wrong, "translations with different %(name)s placeholders:\n  " + "\n  ".join(wrong)


def test_compiled_catalog_matches_the_po(po_catalog: Catalog) -> None:
    assert MO_PATH.exists(), "messages.mo is missing: run faplink/translations/update.sh"
    with open(MO_PATH, "rb") as fileobj:
        compiled = read_mo(fileobj)
    in_mo = {_msgid_key(m.id): m.string for m in compiled if m.id and m.string}
    assert in_mo == _translations(po_catalog), (
        "messages.mo is out of date with messages.po: "
        "run `.venv/bin/pybabel compile -d faplink/translations -D messages`"
    )


def test_flask_babel_serves_english() -> None:
    app = Flask(__name__)
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS)
    app.config["BABEL_DEFAULT_LOCALE"] = "ru"
    Babel(app, locale_selector=lambda: "en")
    with app.test_request_context("/?lang=en"):
        assert gettext("Новые обращения") == "New appeals"
        assert gettext("Можно взять в работу с %(time)s", time="10:30") == (
            "Can be taken in work from 10:30"
        )
        page = render_template_string('{{ _("Синхронизировать сейчас") }}')
        assert page == "Sync now"
