"""The ICD-10 classification shipped with central: lookup, search, and the check at «Отправить протокол».

Codes and English titles are the WHO's 2019 edition (``data/icd10_who2019.tsv``, made by
:mod:`central.protocols.icd10_build`); Russian titles and search keywords of the codes a
consultation centre uses most come from ``data/icd10_ru.tsv``. A code without a Russian
title shows the WHO's English one. Nothing is fetched at run time.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sync.errors import N_, ValidationError

__all__ = ["Disease", "classification", "lookup", "normalize_code", "search", "check_diagnoses"]

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
WHO_FILE = DATA_DIR / "icd10_who2019.tsv"
RU_FILE = DATA_DIR / "icd10_ru.tsv"
LIMIT = 20

# A code's letter typed on a Russian keyboard layout is often its Cyrillic twin: «Е11».
_CYRILLIC_TWINS = str.maketrans("АВСЕНКМОРТХ", "ABCEHKMOPTX")
_CODE_PREFIX = re.compile(r"^([A-Z])(\d{0,2})(?:\.?(\d{0,2}))?$")
_WORD = re.compile(r"[0-9a-zа-я]+")


@dataclass(frozen=True)
class Disease:
    """One ICD-10 code: its Russian title where we have one, and the WHO's English title."""

    code: str
    title_en: str
    title_ru: str = ""
    keywords: str = ""

    @property
    def title(self) -> str:
        return self.title_ru or self.title_en

    def as_json(self) -> dict[str, str]:
        return {"code": self.code, "title": self.title, "title_en": self.title_en}


def _rows(path: Path) -> Iterable[list[str]]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("#") or line.startswith("code\t") or not line.strip():
                continue
            yield line.rstrip("\n").split("\t")


def _words(text: str) -> frozenset[str]:
    return frozenset(_WORD.findall(text.lower().replace("ё", "е")))


@dataclass(frozen=True)
class _Entry:
    disease: Disease
    ru_words: frozenset[str]
    en_words: frozenset[str]


@functools.cache
def classification() -> dict[str, Disease]:
    """Every code of the shipped classification, by code, in the classification's order."""
    russian = {row[0]: (row[1], row[2] if len(row) > 2 else "") for row in _rows(RU_FILE)}
    return {code: Disease(code, title_en, *russian.get(code, ("", ""))) for code, title_en in _rows(WHO_FILE)}


@functools.cache
def _entries() -> tuple[_Entry, ...]:
    """The search index, built on the first word search (code lookups do without it)."""
    return tuple(
        _Entry(d, _words(f"{d.title_ru} {d.keywords}"), _words(d.title_en)) for d in classification().values()
    )


def normalize_code(raw: str) -> str:
    """«е11,9», «E119», « e11.9 » → «E11.9»; anything else comes back upper-cased as typed."""
    text = (raw or "").strip().upper().translate(_CYRILLIC_TWINS).replace(",", ".")
    match = _CODE_PREFIX.match(text)
    if not match:
        return text
    letter, digits, tail = match.groups()
    return f"{letter}{digits}.{tail}" if tail else f"{letter}{digits}"


def lookup(code: str) -> Disease | None:
    return classification().get(normalize_code(code))


def _matches(words: list[str], vocabulary: frozenset[str]) -> bool:
    return all(any(known.startswith(word) for known in vocabulary) for word in words)


def search(query: str, limit: int = LIMIT) -> list[Disease]:
    """Codes starting with a code prefix («I1», «e11.»), else titles containing every word's prefix.

    Matches in Russian titles and keywords come first, then English matches among the codes
    that have a Russian title (the commonly used ones), then the rest; within each, by code.
    """
    query = (query or "").strip()
    if not query:
        return []
    prefix = normalize_code(query)
    if _CODE_PREFIX.match(prefix):
        bare = prefix.rstrip(".")
        return [d for code, d in classification().items() if code.startswith(bare)][:limit]
    words = sorted(_words(query), key=len, reverse=True)
    if not words:
        return []
    tiers: tuple[list[Disease], list[Disease], list[Disease]] = ([], [], [])
    for entry in _entries():
        if entry.ru_words and _matches(words, entry.ru_words):
            tiers[0].append(entry.disease)
            if len(tiers[0]) >= limit:
                break
        elif _matches(words, entry.en_words):
            tiers[1 if entry.ru_words else 2].append(entry.disease)
    return [*tiers[0], *tiers[1], *tiers[2]][:limit]


def check_diagnoses(diagnoses: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """The diagnoses with their codes normalised and checked against the classification.

    An empty title takes the classification's. An unknown code is refused, naming it.
    """
    checked = []
    for raw_code, title in diagnoses:
        if not (raw_code or "").strip():
            if (title or "").strip():
                raise ValidationError(N_("Укажите код МКБ-10 для каждого заболевания"), field="diagnoses")
            continue
        disease = lookup(raw_code)
        if disease is None:
            raise ValidationError(
                N_("Кода «%(code)s» нет в МКБ-10: выберите заболевание из подсказки по коду или названию"),
                field="diagnoses",
                code=raw_code.strip(),
            )
        checked.append((disease.code, (title or "").strip() or disease.title))
    return checked
