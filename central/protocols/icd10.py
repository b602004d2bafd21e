"""Finding МКБ-10 codes for «Добавьте заболевания», and the check at «Отправить протокол».

The classification is the national Russian edition (НСИ OID 1.2.643.5.1.13.13.11.1005,
version 2.27), read by :mod:`domain.icd10`. This module adds the search the
protocol form types into: by code prefix («J18», «е11,9») or by Russian words, each
word matching the start of a title's word («пневм») or another form of it («роды»
finds «родов», «родах»). ``data/icd10_keywords.tsv`` adds the words doctors type that
titles do not contain («ОРВИ», «ХОБЛ»). The index is built on the first word search.
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from domain.errors import ValidationError
from domain.icd10 import OID, VERSION, Code, classification, lookup, normalize_code, require_diagnosis
from domain.models import Diagnosis, DiagnosisRole
from i18n import N_

__all__ = ["OID", "VERSION", "LIMIT", "as_json", "search", "check_diagnoses", "lookup"]

KEYWORDS_FILE = Path(__file__).resolve().parent.parent / "data" / "icd10_keywords.tsv"
LIMIT = 20

_CODE_PREFIX = re.compile(r"^[A-Z]\d{0,2}(\.\d{0,2})?$")
_WORD = re.compile(r"[0-9a-zа-я]+")
# Inflectional endings of Russian nouns and adjectives, longest first: enough to see that
# «роды», «родов» and «родах» are one word, not a morphological analyser.
_ENDINGS = sorted(
    """а я о е ы и у ю ь ам ям ах ях ом ем ой ей ов ев ий ый ая яя ое ее ые ие ую юю ия ию ии ью
    ией иям иях ами ями иями ого его ому ему ыми ими ых их ым им""".split(),
    key=len,
    reverse=True,
)
_MIN_STEM = 3

# How well a typed word matches a word of a title.
_EXACT, _SAME_WORD, _PREFIX = 3, 2, 1


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower().replace("ё", "е"))


def _stem(word: str) -> str:
    for ending in _ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


@dataclass(frozen=True)
class _Index:
    entries: tuple[Code, ...]  # categories and subcategories in force, in the directory's order
    vocabulary: tuple[str, ...]  # every word of titles and keywords, sorted
    postings: dict[str, tuple[int, ...]]  # word → entries containing it
    by_stem: dict[str, tuple[str, ...]]  # stem → the words that have it
    stem_use: dict[str, int]  # stem → how many entries use a word with it
    heads: tuple[frozenset[str], ...]  # per entry: the first word of its title and of each keyword

    def matches(self, typed: str) -> dict[int, tuple[int, int]]:
        """Entries having a word that the typed word matches: how well, and how common that word is.

        Of the words a prefix completes to, the common ones are what a doctor is typing
        more often: «пневм» is «пневмония» before «пневмокониоз».
        """
        found: dict[int, tuple[int, int]] = {}
        start = bisect.bisect_left(self.vocabulary, typed)
        matched = [(self.by_stem.get(_stem(typed), ()), _SAME_WORD)]
        for word in self.vocabulary[start:]:
            if not word.startswith(typed):
                break
            matched.append(((word,), _EXACT if word == typed else _PREFIX))
        for words, quality in matched:
            for word in words:
                match = (quality, self.stem_use[_stem(word)])
                for entry in self.postings[word]:
                    if found.get(entry, (0, 0)) < match:
                        found[entry] = match
        return found

    def is_head(self, entry: int, typed: str) -> bool:
        stem = _stem(typed)
        return any(head.startswith(typed) or _stem(head) == stem for head in self.heads[entry])


def _keywords() -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in KEYWORDS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("code\t"):
            continue
        code, _, phrases = line.partition("\t")
        out[code] = [phrase.strip() for phrase in phrases.split(";") if phrase.strip()]
    return out


@functools.cache
def _index() -> _Index:
    keywords = _keywords()
    entries = tuple(c for c in classification().values() if c.is_category and c.in_force)
    postings: dict[str, list[int]] = {}
    heads: list[frozenset[str]] = []
    for number, code in enumerate(entries):
        phrases = [code.title, *keywords.get(code.code, ())]
        for word in {w for phrase in phrases for w in _words(phrase)}:
            postings.setdefault(word, []).append(number)
        heads.append(frozenset(words[0] for words in map(_words, phrases) if words))
    by_stem: dict[str, list[str]] = {}
    for word in postings:
        by_stem.setdefault(_stem(word), []).append(word)
    stem_use = {stem: len({n for word in words for n in postings[word]}) for stem, words in by_stem.items()}
    return _Index(
        entries=entries,
        vocabulary=tuple(sorted(postings)),
        postings={word: tuple(numbers) for word, numbers in postings.items()},
        by_stem={stem: tuple(words) for stem, words in by_stem.items()},
        stem_use=stem_use,
        heads=tuple(heads),
    )


def as_json(code: Code) -> dict[str, object]:
    """A search result: its code, Russian title, and whether it may stand in a protocol."""
    return {"code": code.code, "title": code.title, "diagnosis": code.is_diagnosis}


def search(query: str, limit: int = LIMIT) -> list[Code]:
    """Codes in force starting with a code prefix («I1», «e11.»), else titles matching every word.

    A typed word matches a title's word it begins («пневм» → «пневмония») or another form of
    the same word («роды» → «родов»). Titles whose first word matches come first (O80
    «Роды одноплодные…» before O62 «Нарушения родовой деятельности»), then the closer
    matches, then the directory's order.
    """
    query = (query or "").strip()
    if not query:
        return []
    prefix = normalize_code(query)
    if _CODE_PREFIX.match(prefix):
        bare = prefix.rstrip(".")
        return [c for c in _index().entries if c.code.startswith(bare)][:limit]
    # A lone letter («с», «в», or the first key of a word) narrows nothing and matches a
    # third of the vocabulary: it is left out. Digits stay («сахарный диабет 2»).
    words = [word for word in _words(query) if len(word) > 1 or word.isdigit()]
    typed = sorted(set(words), key=len, reverse=True)
    if not typed:
        return []
    index = _index()
    scores: dict[int, tuple[int, int]] | None = None
    for word in typed:
        found = index.matches(word)
        if scores is None:
            scores = found
        else:
            scores = {
                entry: (quality + found[entry][0], use + found[entry][1])
                for entry, (quality, use) in scores.items()
                if entry in found
            }
        if not scores:
            return []
    assert scores is not None
    first = words[0]

    def rank(entry: int) -> tuple[bool, int, int, bool, int]:
        quality, use = scores[entry]
        subcategory = "." in index.entries[entry].code
        return (not index.is_head(entry, first), -quality, -use, subcategory, entry)

    return [index.entries[entry] for entry in sorted(scores, key=rank)[:limit]]


def check_diagnoses(diagnoses: Iterable[Sequence[str]]) -> list[tuple[str, str, str]]:
    """The protocol's diagnoses as (code, title, role), checked for a new protocol.

    Each row is (code, title) or (code, title, role). Every code must be a diagnosis of the
    national МКБ-10 (in force, most detailed level); a refusal names the nearest valid codes.
    An empty title takes the classification's. Rows without a role get one by position: the
    first is the main diagnosis, the others concomitant. Exactly one main diagnosis.
    """
    checked: list[tuple[str, str, str]] = []
    for row in diagnoses:
        raw_code, title = row[0], row[1]
        role = (row[2] if len(row) > 2 else "").strip()
        if not (raw_code or "").strip():
            if (title or "").strip():
                raise ValidationError(N_("Укажите код МКБ-10 для каждого заболевания"), field="diagnoses")
            continue
        disease = require_diagnosis(raw_code)
        role = role or Diagnosis.role_by_position(len(checked))
        checked.append(Diagnosis.check(disease.code, (title or "").strip() or disease.title, role))
    DiagnosisRole.check_roles([role for _, _, role in checked])
    return checked
