"""The realtime gateway's proxy tells the web workers who asked, as any proxy in front of them would."""

from __future__ import annotations

from central.gateway.proxy import forwarded_headers


def _scope(*headers: tuple[bytes, bytes]) -> dict[str, object]:
    return {"type": "http", "scheme": "http", "client": ("203.0.113.7", 50000), "headers": list(headers)}


def test_the_clients_address_scheme_and_host_are_appended_and_hop_by_hop_headers_dropped() -> None:
    sent = forwarded_headers(
        _scope(
            (b"host", b"centre.example:8700"),
            (b"connection", b"keep-alive"),
            (b"cookie", b"session=abc"),
            (b"x-forwarded-for", b"198.51.100.1"),
            (b"x-forwarded-proto", b"https"),
        )
    )
    headers = dict(sent)
    assert b"connection" not in headers
    assert headers[b"cookie"] == b"session=abc"
    assert headers[b"host"] == b"centre.example:8700"
    # What a proxy in front said comes first; this hop's word is the last (trusted one hop more).
    assert headers[b"x-forwarded-for"] == b"198.51.100.1, 203.0.113.7"
    assert headers[b"x-forwarded-proto"] == b"https, http"
    assert headers[b"x-forwarded-host"] == b"centre.example:8700"


def test_a_request_straight_from_a_client_is_forwarded_with_its_own_address() -> None:
    headers = dict(forwarded_headers(_scope((b"host", b"127.0.0.1:8700"))))
    assert headers[b"x-forwarded-for"] == b"203.0.113.7"
    assert headers[b"x-forwarded-proto"] == b"http"
