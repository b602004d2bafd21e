"""The identifier and code systems faplink's FHIR resources use, in one place.

- СНИЛС: ``urn:oid:1.2.643.100.3``, the OID of the SNILS in the national OID
  registry (used for it in ЕГИСЗ's СЭМД and in qualified certificates).
- ЕНП (the OMS policy's single number): ``urn:oid:1.2.643.2.69.1.1.1.6.228``,
  «Полис ОМС единого образца» in the document-type directory of the ИЭМК
  integration platform (N3.Health), whose FHIR Patient the regions' МИС already
  send and search by; SNILS there is ``…6.223``, and we accept that as a search
  system too (see ``SNILS_SYSTEMS``).
- МКБ-10: the national edition, НСИ ``1.2.643.5.1.13.13.11.1005``.
- A diagnosis's role: НСИ ``1.2.643.5.1.13.13.11.1077`` «Виды нозологических
  единиц диагноза» (1 основное, 2 осложнение основного, 3 сопутствующее).
- Vitals and lab results: LOINC with UCUM units.
"""

from __future__ import annotations

__all__ = [
    "SNILS",
    "SNILS_SYSTEMS",
    "ENP",
    "ENP_SYSTEMS",
    "ICD10_RU",
    "DIAGNOSIS_ROLE",
    "DIAGNOSIS_ROLES",
    "LOINC",
    "UCUM",
    "FAPLINK",
    "FORM_OF_CARE_PRIORITY",
]

SNILS = "urn:oid:1.2.643.100.3"
#: Systems a МИС may search SNILS by: ours and the ИЭМК platform's document type «СНИЛС».
SNILS_SYSTEMS = (SNILS, "urn:oid:1.2.643.2.69.1.1.1.6.223")
ENP = "urn:oid:1.2.643.2.69.1.1.1.6.228"
ENP_SYSTEMS = (ENP,)
ICD10_RU = "urn:oid:1.2.643.5.1.13.13.11.1005"
DIAGNOSIS_ROLE = "urn:oid:1.2.643.5.1.13.13.11.1077"
#: Our roles → (НСИ 1077 code, its Russian name).
DIAGNOSIS_ROLES = {
    "main": ("1", "Основное заболевание"),
    "complication": ("2", "Осложнение основного заболевания"),
    "concomitant": ("3", "Сопутствующее заболевание"),
}
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
#: faplink's own identifiers (an appeal's short number, an attachment's SHA-256).
FAPLINK = "urn:faplink"

#: Form of care → ServiceRequest.priority (экстренная stat, неотложная urgent, плановая routine).
FORM_OF_CARE_PRIORITY = {"emergency": "stat", "urgent": "urgent", "planned": "routine"}
