"""A correctly signed but malformed body is the post's mistake: a 4xx with a short JSON error, never a 500."""

from __future__ import annotations

import gzip
import json

from domain.migrations import SCHEMA_VERSION


def _error(response) -> dict:  # type: ignore[no-untyped-def,type-arg]
    assert 400 <= response.status_code < 500, (response.status_code, response.data[:300])
    body = json.loads(response.data)
    assert isinstance(body.get("error"), str) and isinstance(body.get("message"), str)
    return body


def test_corrupt_gzip_is_refused(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, _ = kiosks
    body = gzip.compress(json.dumps({"records": []}).encode())[:-9] + b"garbage!!"
    response = kiosk.send("POST", "/sync/v1/push", body, {"Content-Encoding": "gzip"})
    assert _error(response)["error"] == "invalid"


def test_a_json_array_as_body_is_refused(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, _ = kiosks
    for path in ("/sync/v1/push", "/sync/v1/hello", "/sync/v1/blobs/missing"):
        assert _error(kiosk.post_json(path, [1, 2, 3]))["error"] == "invalid", path


def test_deeply_nested_brackets_are_refused(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, _ = kiosks
    body = gzip.compress(b"[" * 100_000 + b"]" * 100_000)
    response = kiosk.send("POST", "/sync/v1/push", body, {"Content-Encoding": "gzip"})
    assert _error(response)["error"] == "invalid"
    nested = gzip.compress(b'{"records":[{"model":"patient","fields":' + b"[" * 5000 + b"]" * 5000 + b"}]}")
    assert _error(kiosk.send("POST", "/sync/v1/push", nested, {"Content-Encoding": "gzip"}))


def test_huge_numbers_are_refused(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, _, kiosk, _ = kiosks
    hello = {"protocol": 1, "schema": 10**30, "software": "x"}
    assert _error(kiosk.post_json("/sync/v1/hello", hello))["error"] == "invalid"
    for cursor in ("1e23", str(10**30), "-5"):
        response = kiosk.send("GET", f"/sync/v1/pull?cursor={cursor}&limit=10")
        assert _error(response)["error"] == "invalid", cursor
    response = kiosk.send("GET", "/sync/v1/pull?cursor=0&limit=" + str(10**30))
    assert _error(response)["error"] == "invalid"
    push = {"records": [], "pull": {"cursor": 10**30, "limit": 10}}
    assert _error(kiosk.post_json("/sync/v1/push", push))["error"] == "invalid"
    sane = kiosk.post_json("/sync/v1/hello", {"protocol": 1, "schema": SCHEMA_VERSION, "software": "x"})
    assert sane.status_code == 200


def test_a_record_with_huge_or_odd_values_is_refused_not_a_crash(kiosks) -> None:  # type: ignore[no-untyped-def]
    _, data, kiosk, _ = kiosks
    whole = kiosk.post_json("/sync/v1/push", {"records": [kiosk.record("patient", {"last_name": 10**40})]})
    assert _error(whole)["error"] == "invalid"  # a number no column holds refuses the body
    odd = [
        {"last_name": 2**62},
        {"birth_date": 1e308},
        {"birth_date": "9999999-01-01"},
        {"snils": {"a": 1}},
        {"organization": ["x"]},
    ]
    base = {
        "last_name": "Тестова",
        "first_name": "Анна",
        "birth_date": "1970-01-01",
        "sex": "female",
        "phone": "+79161234567",
        "organization": kiosk.post_id,
    }
    records = [kiosk.record("patient", base | change) for change in odd]
    records.append({"model": "patient", "id": "x", "hlc": 10**18, "fields": []})
    records.append({"model": "patient", "id": "x", "hlc": "9" * 400 + ".0.a", "fields": {}})
    answer = kiosk.push(*records)
    assert answer["applied"] == 0 and len(answer["refused"]) == len(records)
