"""The realtime gateway's proxy in front of a web worker: bodies stream both ways, the worker
hears the request as the client wrote it, and a client learns plainly when the workers are gone.

The gateway's proxy, served by uvicorn as `serve_gateway` serves it, listens on a port of this
machine; the "web worker" is a threaded HTTP/1.1 server on a unix socket that
records what it was sent.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import uvicorn

from central.gateway import server_config
from central.gateway.proxy import WebProxy
from tests.helpers.ports import free_port
from tests.helpers.timing import DEADLINE_S, wait_until

MIB = 1024 * 1024


class _Worker(http.server.BaseHTTPRequestHandler):
    """A web worker's answers, by path: /echo (what it was sent), /upload (the body's digest,
    read as it comes), /download (a body sent in two parts, the second once the client has the
    first), /set-cookie, /close-after (an answer, then the connection closed unannounced)."""

    protocol_version = "HTTP/1.1"
    server: _WorkerServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_HEAD(self) -> None:  # noqa: N802
        self._reply(200, b"", {"Content-Length": "1234"}, head=True)

    def _serve(self) -> None:
        self.server.requests.append((self.command, self.path, list(self.headers.items())))
        path = self.path.split("?", 1)[0]
        if path == "/upload":
            digest, size = hashlib.sha256(), 0
            for chunk in self._body():
                digest.update(chunk)
                size += len(chunk)
                self.server.received = size
            self.server.uploads_ended.append(size)
            self._json({"sha256": digest.hexdigest(), "size": size})
        elif path == "/download":
            part = self.server.download_part
            self.send_response(200)
            self.send_header("Content-Length", str(2 * len(part)))
            self.send_header("Keep-Alive", "timeout=30")
            self.end_headers()
            self.wfile.write(part)
            self.wfile.flush()
            if not self.server.client_has_first_part.wait(DEADLINE_S):
                return
            self.wfile.write(part)
        elif path == "/reject":  # before reading the body, as a worker refusing an upload does
            self._reply(413, b"too large", {})
        elif path == "/set-cookie":
            self._reply(200, b"{}", {"Set-Cookie": "session=of-someone-else; Path=/"})
        elif path == "/close-after":
            body = b"{}"
            self._reply(200, body, {})
            self.close_connection = True
        else:
            body = b"".join(self._body())
            self._json(
                {
                    "method": self.command,
                    "target": self.path,
                    "headers": [[k.lower(), v] for k, v in self.headers.items()],
                    "body": body.decode("latin-1"),
                },
                headers={"Connection": "keep-alive", "Keep-Alive": "timeout=30", "X-Worker": "1"},
            )

    def _body(self) -> Iterator[bytes]:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                size = int(self.rfile.readline().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return
                yield self.rfile.read(size)
                self.rfile.readline()
        left = int(self.headers.get("Content-Length") or 0)
        while left:
            chunk = self.rfile.read1(min(left, 256 * 1024))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk

    def _json(self, data: Any, headers: dict[str, str] | None = None) -> None:
        self._reply(200, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    def _reply(self, status: int, body: bytes, headers: dict[str, str], head: bool = False) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)


class _WorkerServer(socketserver.ThreadingUnixStreamServer):
    daemon_threads = True
    # As gunicorn's (2048), not socketserver's 5: a unix socket refuses a connection at once
    # when its backlog is full, and eight clients at once on a busy machine filled five (502s).
    request_queue_size = 128

    def __init__(self, path: str) -> None:
        super().__init__(path, _Worker)
        self.path = path
        self.requests: list[tuple[str, str, list[tuple[str, str]]]] = []
        self.received = 0
        self.download_part = b""
        self.client_has_first_part = threading.Event()
        self.connections: list[socket.socket] = []
        self.uploads_ended: list[int] = []
        self.closed = 0  # connections the worker has closed after its answers

    def shutdown_request(self, request: Any) -> None:
        super().shutdown_request(request)
        self.closed += 1

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, _addr = super().get_request()
        self.connections.append(conn)
        return conn, ("unix", 0)  # the handler wants an address to speak of

    def die(self) -> None:
        """Stop as a worker process that dies: its socket file and its connections gone."""
        self.shutdown()
        self.server_close()
        os.unlink(self.path)
        for conn in self.connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class Gateway:
    """The proxy served on `url`, passing to the worker at `socket_path`."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.worker: _WorkerServer | None = None
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(server_config(WebProxy(f"unix:{socket_path}"), "127.0.0.1", port))
        self._thread = threading.Thread(target=self.server.run, daemon=True)

    def start_worker(self) -> _WorkerServer:
        self.worker = _WorkerServer(str(self.socket_path))
        threading.Thread(target=self.worker.serve_forever, daemon=True).start()
        return self.worker

    def stop_worker(self) -> None:
        assert self.worker is not None
        self.worker.die()
        self.worker = None

    def __enter__(self) -> Gateway:
        self._thread.start()
        wait_until(lambda: self.server.started, "the gateway to listen")
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self._thread.join(DEADLINE_S)
        if self.worker is not None:
            self.stop_worker()


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    with Gateway(tmp_path / "web.sock") as gw:
        gw.start_worker()
        yield gw


def test_the_worker_hears_the_request_as_the_client_wrote_it_plus_who_asked(gateway: Gateway) -> None:
    http = requests.Session()
    answer = http.post(
        f"{gateway.url}/api/v1/%D0%B0%2Fb?q=%D0%98+x&b=1",
        data=b'{"x": 1}',
        headers={
            "Cookie": "session=abc",
            "X-Forwarded-For": "198.51.100.1",
            "Keep-Alive": "timeout=5",
            "Proxy-Authorization": "Basic c2VjcmV0",
            "Expect": "",
        },
    )
    assert answer.status_code == 200
    seen = answer.json()
    headers = dict(seen["headers"])
    assert seen["method"] == "POST"
    assert seen["target"] == "/api/v1/%D0%B0%2Fb?q=%D0%98+x&b=1"  # not decoded, not requoted
    assert seen["body"] == '{"x": 1}'
    assert headers["cookie"] == "session=abc"
    assert headers["host"] == gateway.url.removeprefix("http://")
    assert headers["x-forwarded-for"] == "198.51.100.1, 127.0.0.1"
    assert headers["x-forwarded-proto"] == "http"
    assert headers["x-forwarded-host"] == gateway.url.removeprefix("http://")
    assert headers["content-length"] == "8"
    for hop in ("keep-alive", "proxy-authorization", "transfer-encoding"):
        assert hop not in headers
    # The proxy adds nothing of its own (no encodings the client did not offer, no agent).
    assert headers["accept-encoding"] == "gzip, deflate"
    assert headers["user-agent"].startswith("python-requests/")
    # The worker's own headers come back; its connection's do not.
    assert answer.headers["X-Worker"] == "1"
    assert "Keep-Alive" not in answer.headers


def test_a_cookie_one_client_is_given_never_reaches_another_clients_request(gateway: Gateway) -> None:
    assert requests.get(f"{gateway.url}/set-cookie").status_code == 200
    headers = dict(requests.get(f"{gateway.url}/echo", headers={"Cookie": "mine=1"}).json()["headers"])
    assert headers["cookie"] == "mine=1"


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_large_upload_reaches_the_worker_while_the_client_is_still_sending_it(
    gateway: Gateway, framing: str
) -> None:
    assert gateway.worker is not None
    worker = gateway.worker
    part = os.urandom(MIB)
    parts = 24  # well past any buffer along the way

    def body() -> Iterator[bytes]:
        yield part
        # Had the gateway held the body back, the worker would never see this first part.
        wait_until(lambda: worker.received >= MIB, "the worker to receive the first MiB")
        for _ in range(parts - 1):
            yield part

    conn = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=DEADLINE_S)
    conn.putrequest("PUT", "/upload")
    if framing == "content-length":
        conn.putheader("Content-Length", str(parts * MIB))
        conn.endheaders()
        for piece in body():
            conn.send(piece)
    else:
        conn.putheader("Transfer-Encoding", "chunked")
        conn.endheaders()
        for piece in body():
            conn.send(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.send(b"0\r\n\r\n")
    response = conn.getresponse()
    assert response.status == 200
    answer = json.loads(response.read())
    conn.close()
    expected = hashlib.sha256(part * parts).hexdigest()
    assert answer == {"sha256": expected, "size": parts * MIB}
    sent = {name.lower(): value for name, value in worker.requests[-1][2]}
    if framing == "content-length":
        assert sent["content-length"] == str(parts * MIB)
    else:
        assert sent["transfer-encoding"] == "chunked"


def test_a_client_that_goes_away_in_the_middle_of_an_upload_does_not_leave_the_worker_waiting(
    gateway: Gateway,
) -> None:
    assert gateway.worker is not None
    worker = gateway.worker
    client = socket.create_connection(("127.0.0.1", int(gateway.url.rsplit(":", 1)[1])))
    client.sendall(b"PUT /upload HTTP/1.1\r\nHost: centre\r\nContent-Length: %d\r\n\r\n" % (16 * MIB))
    client.sendall(os.urandom(MIB))
    wait_until(lambda: worker.received >= MIB, "the worker to receive the first MiB")
    client.close()
    # The worker's connection is closed, so its read ends short instead of waiting for the rest.
    ended = wait_until(lambda: worker.uploads_ended, "the worker's upload to end")
    assert ended == [MIB]
    assert requests.post(f"{gateway.url}/echo", data=b"next").json()["body"] == "next"


def test_a_large_download_reaches_the_client_while_the_worker_is_still_sending_it(gateway: Gateway) -> None:
    assert gateway.worker is not None
    gateway.worker.download_part = os.urandom(8 * MIB)
    with requests.get(f"{gateway.url}/download", stream=True, timeout=DEADLINE_S) as answer:
        assert answer.status_code == 200
        assert "Keep-Alive" not in answer.headers
        got = bytearray()
        chunks = answer.iter_content(64 * 1024)
        while len(got) < 8 * MIB:  # the worker sends the rest only once the client has this
            got += next(chunks)
        gateway.worker.client_has_first_part.set()
        for chunk in chunks:
            got += chunk
    assert bytes(got) == gateway.worker.download_part * 2


def test_a_worker_that_answers_before_reading_the_body_is_heard_and_its_connection_not_reused(
    gateway: Gateway,
) -> None:
    http = requests.Session()
    answer = http.put(f"{gateway.url}/reject", data=os.urandom(4 * MIB), timeout=DEADLINE_S)
    assert answer.status_code == 413
    assert answer.text == "too large"
    # The body's unread rest never reaches the worker as a request of its own.
    for n in range(3):
        assert http.post(f"{gateway.url}/echo", data=str(n).encode()).json()["body"] == str(n)
    assert gateway.worker is not None
    assert [path for _m, path, _h in gateway.worker.requests] == ["/reject", "/echo", "/echo", "/echo"]


def test_a_client_is_told_plainly_when_the_web_workers_are_down(gateway: Gateway) -> None:
    http = requests.Session()
    assert http.get(f"{gateway.url}/echo").status_code == 200  # a kept-alive connection to the worker
    gateway.stop_worker()
    answer = http.get(f"{gateway.url}/echo")
    assert answer.status_code == 502
    assert answer.text == "central's web workers are not answering\n"
    # And when they are back, so is the gateway, on the same client connection.
    gateway.start_worker()
    assert http.get(f"{gateway.url}/echo").status_code == 200


def test_a_connection_the_worker_closed_is_not_used_again(gateway: Gateway) -> None:
    assert gateway.worker is not None
    worker = gateway.worker
    http = requests.Session()
    for _ in range(3):
        closed = worker.closed
        assert http.get(f"{gateway.url}/close-after").status_code == 200
        # Once the worker has closed it (on a busy machine that may come after the answer is
        # through the proxy: until then nobody can know), a POST, which the proxy may not
        # send twice, must not go down that connection.
        wait_until(lambda closed=closed: worker.closed > closed, "the worker to close the connection")
        assert http.post(f"{gateway.url}/echo", data=b"x").json()["body"] == "x"


def test_an_answer_to_head_has_no_body_and_the_next_request_is_served(gateway: Gateway) -> None:
    http = requests.Session()
    answer = http.head(f"{gateway.url}/anything")
    assert answer.status_code == 200
    assert answer.headers["Content-Length"] == "1234"
    assert http.get(f"{gateway.url}/echo").json()["method"] == "GET"


def test_many_clients_at_once_each_get_their_own_answer(gateway: Gateway) -> None:
    results: dict[int, str] = {}

    def client(n: int) -> None:
        http = requests.Session()
        for k in range(20):
            results[n * 100 + k] = http.post(f"{gateway.url}/echo", data=f"{n}-{k}".encode()).json()["body"]

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(DEADLINE_S)
    assert results == {n * 100 + k: f"{n}-{k}" for n in range(8) for k in range(20)}
