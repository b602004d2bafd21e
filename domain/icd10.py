"""МКБ-10, the Russian national edition: which codes exist and which of them are diagnoses.

The data is the Ministry of Health's НСИ directory «Международная статистическая
классификация болезней и проблем, связанных со здоровьем (МКБ-10)», OID
1.2.643.5.1.13.13.11.1005, version 2.27 (``data/icd10_nsi_<OID>_<version>.csv``,
copied verbatim). It lives with the models because the rule «a diagnosis is a
code in force at the most detailed level of its branch» belongs to the Diagnosis
record, and the migration that gives old diagnoses Russian titles runs on both
node and central. Nothing is fetched at run time; the file is read on first use.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from pathlib import Path

from i18n import N_

from .errors import ValidationError

__all__ = [
    "OID",
    "VERSION",
    "DATA_FILE",
    "Code",
    "classification",
    "lookup",
    "normalize_code",
    "nearest_diagnoses",
    "require_diagnosis",
]

OID = "1.2.643.5.1.13.13.11.1005"
VERSION = "2.27"
DATA_FILE = Path(__file__).resolve().parent / "data" / f"icd10_nsi_{OID}_{VERSION}.csv"
#: How many valid codes a refusal names at most.
CHOICES_SHOWN = 10

# A code's letter typed on a Russian keyboard layout is often its Cyrillic twin: «Е11».
_CYRILLIC_TWINS = str.maketrans("АВСЕНКМОРТХ", "ABCEHKMOPTX")
_CODE_PREFIX = re.compile(r"^([A-Z])(\d{0,2})(?:\.?(\d{0,2}))?$")
#: A category or subcategory; the directory's other rows are chapters («I») and blocks («A00-A09»).
_CODE = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")


@dataclass(frozen=True)
class Code:
    """One row of the directory: a code (or a block, or a chapter) and its Russian title."""

    code: str
    title: str
    parent: str  # the parent row's code; "" for a chapter
    in_force: bool  # ACTUAL = 1
    children: tuple[str, ...]  # codes of the rows that name this one as parent, in the directory's order

    @property
    def is_category(self) -> bool:
        """A category or subcategory (J18, J18.9), not a block or a chapter."""
        return bool(_CODE.match(self.code))

    @property
    def is_diagnosis(self) -> bool:
        """In force and at the most detailed level its branch has in force (J18.9, not J18).

        A code whose children have all been withdrawn (M45) is again the most detailed one.
        """
        return self.is_category and self.in_force and not self.children_in_force

    @property
    def children_in_force(self) -> tuple[str, ...]:
        table = classification()
        return tuple(code for code in self.children if table[code].in_force)


@functools.cache
def classification() -> dict[str, Code]:
    """Every row of the directory by its code, in the directory's order."""
    with DATA_FILE.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter=";"))
    code_of = {row["ID"]: row["MKB_CODE"].strip() for row in rows}
    children: dict[str, list[str]] = {}
    for row in rows:
        if row["ID_PARENT"]:
            children.setdefault(code_of[row["ID_PARENT"]], []).append(code_of[row["ID"]])
    return {
        code_of[row["ID"]]: Code(
            code=code_of[row["ID"]],
            title=" ".join(row["MKB_NAME"].split()),
            parent=code_of.get(row["ID_PARENT"], ""),
            in_force=row["ACTUAL"].strip() == "1",
            children=tuple(children.get(code_of[row["ID"]], ())),
        )
        for row in rows
    }


def normalize_code(raw: str) -> str:
    """«е11,9», «E119», « e11.9 » → «E11.9»; anything else comes back upper-cased as typed."""
    text = (raw or "").strip().upper().translate(_CYRILLIC_TWINS).replace(",", ".")
    match = _CODE_PREFIX.match(text)
    if not match:
        return text
    letter, digits, tail = match.groups()
    return f"{letter}{digits}.{tail}" if tail else f"{letter}{digits}"


def lookup(code: str) -> Code | None:
    """The category or subcategory with this code (typed in any of the usual ways), or None."""
    found = classification().get(normalize_code(code))
    return found if found is not None and found.is_category else None


def _diagnoses_under(code: str) -> list[str]:
    """The valid diagnoses in a branch, in the directory's order."""
    table = classification()
    out: list[str] = []
    stack = [code]
    while stack:
        node = table[stack.pop()]
        if node.is_diagnosis:
            out.append(node.code)
        elif node.in_force:
            stack.extend(reversed(node.children))
    return out


def nearest_diagnoses(code: str) -> list[str]:
    """The valid diagnoses closest to a code that is not one: its own branch, else its parent's.

    J18 → J18.0 … J18.9; a withdrawn subcategory → the valid codes beside it; an unknown
    J18.7 → the codes of J18.
    """
    table = classification()
    code = normalize_code(code)
    while code and code not in table:
        # An unknown subcategory's nearest relative is its category: J18.7 → J18.
        code = code[:-1].rstrip(".") if len(code) > 3 else ""
    start = code
    while code:
        found = [c for c in _diagnoses_under(code) if c != start]
        if found:
            return found
        code = table[code].parent
    return []


def require_diagnosis(raw_code: str) -> Code:
    """The code if it may stand in a new protocol; otherwise a refusal naming the nearest valid codes."""
    code = normalize_code(raw_code)
    found = lookup(code)
    if found is not None and found.is_diagnosis:
        return found
    choices = nearest_diagnoses(code)
    shown = ", ".join(choices[:CHOICES_SHOWN]) + (" …" if len(choices) > CHOICES_SHOWN else "")
    if found is None:
        if not choices:
            raise ValidationError(
                N_("Кода «%(code)s» нет в МКБ-10: выберите заболевание из подсказки по коду или названию"),
                field="diagnoses",
                code=code,
            )
        raise ValidationError(
            N_("Кода «%(code)s» нет в МКБ-10; ближайшие коды: %(choices)s"),
            field="diagnoses",
            code=code,
            choices=shown,
        )
    if not found.in_force:
        raise ValidationError(
            N_(
                "Код %(code)s не действует в МКБ-10 (НСИ, версия %(version)s); "
                "действующие коды рядом: %(choices)s"
            ),
            field="diagnoses",
            code=code,
            version=VERSION,
            choices=shown,
        )
    raise ValidationError(
        N_("%(code)s — рубрика, а не диагноз: укажите уточнённый код (%(choices)s)"),
        field="diagnoses",
        code=code,
        choices=shown,
    )
