"""The realtime gateway's CPU per proxied request: what its proxy costs, apart from the web workers.

Each run starts a real gateway (`faplink central gateway`, Redis message queue, SQLite data
directory) in front of web workers on a unix socket, then fires small requests through it
from `--clients` threads and reads the gateway process's CPU time from /proc:

- **keep-alive** (`--requests`): each client holds one connection and runs no-change sync
  rounds as a post does, a signed-looking ``POST /sync/v1/hello`` then ``GET /sync/v1/pull``
  (the node's four ``X-Faplink-*`` headers, a gzipped JSON body for the hello);
- **new connections** (`--new-requests`): every request on a connection of its own
  (``Connection: close``), as a client without keep-alive.

The web workers are gunicorn's threaded workers, as `faplink central web` runs them, serving
a WSGI app that answers each path with a fixed small JSON body, so that the figure is the
gateway's alone and the machine is left to it (`fleet_load.py` measures the whole instance).

Figures, medians of `--runs`: ``gateway_us_per_request`` (user + system CPU of the gateway
÷ requests), ``gateway_us_per_round`` (× 2), ``p50_ms``/``p95_ms`` of a request as the
client sees it, the same for new connections (``new_conn_…``), and ``web_us_per_request``
(the web workers', for scale).

    .venv/bin/python bench/gateway_proxy.py                      # 5 runs, ~1 minute
    .venv/bin/python bench/gateway_proxy.py --runs 1 --requests 2000 --keep
    .venv/bin/python bench/gateway_proxy.py --code ../other-checkout         # another version's gateway
"""

from __future__ import annotations

import argparse
import base64
import gzip
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (  # noqa: E402
    REPO,
    code_version,
    cpu_seconds,
    free_port,
    median,
    start_process,
    stop_process,
    wait_until,
)

REDIS = os.environ.get("FAPLINK_BENCH_REDIS", "redis://127.0.0.1:6379/0")
HELLO_PATH = "/sync/v1/hello"
PULL_PATH = "/sync/v1/pull?cursor=1734%3A00000000000000000412&limit=500"
#: What a no-change round's answers look like (sizes as central's: tens to a few hundred bytes).
_ANSWERS = {
    "/sync/v1/hello": json.dumps(
        {"protocol": 3, "server_time_ms": 1765000000000, "features": ["gzip", "blob-resume", "push-pull"]}
    ).encode(),
    "/sync/v1/pull": json.dumps(
        {"records": [], "cursor": "1734:00000000000000000412", "more": False}
    ).encode(),
}


# -- the trivial web workers --------------------------------------------------------


def trivial_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A WSGI app answering every path with a fixed small JSON body (after reading the request's)."""
    stream = environ["wsgi.input"]
    while stream.read(65536):
        pass
    body = _ANSWERS.get(environ.get("PATH_INFO", ""), b'{"ok":true}')
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def serve_trivial_web(bind: str, workers: int) -> None:
    from central.serving import serve_gunicorn

    serve_gunicorn(lambda: trivial_app, bind, workers=workers)  # type: ignore[arg-type, return-value]


# -- the clients ---------------------------------------------------------------------


def _signed_looking(method: str, path: str, body: bytes, *, close: bool) -> bytes:
    """A request as a post's `CentralSession` sends it (requests' headers, the node's four)."""
    headers = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        "User-Agent: python-requests/2.32.3",
        "Accept-Encoding: gzip, deflate",
        "Accept: */*",
        "Connection: close" if close else "Connection: keep-alive",
        "X-Faplink-Node: kiosk-bench-0001",
        f"X-Faplink-Time: {int(time.time() * 1000)}",
        f"X-Faplink-Nonce: {secrets.token_hex(16)}",
        f"X-Faplink-Signature: {base64.b64encode(secrets.token_bytes(64)).decode()}",
    ]
    if body:
        headers += [
            "Content-Type: application/json",
            "Content-Encoding: gzip",
            f"Content-Length: {len(body)}",
        ]
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + body


def round_requests(close: bool) -> list[bytes]:
    hello = gzip.compress(
        json.dumps({"protocol": 3, "node": "kiosk-bench-0001", "features": ["gzip"]}).encode()
    )
    return [
        _signed_looking("POST", HELLO_PATH, hello, close=close),
        _signed_looking("GET", PULL_PATH, b"", close=close),
    ]


class ResponseError(RuntimeError):
    pass


def _read_response(sock: socket.socket, buf: bytearray) -> tuple[int, bool]:
    """Read one response off `sock` (bytes past it stay in `buf`); (status, connection closes)."""
    while (end := buf.find(b"\r\n\r\n")) < 0:
        chunk = sock.recv(65536)
        if not chunk:
            raise ResponseError("connection closed before a response")
        buf += chunk
    head = bytes(buf[:end]).decode("latin-1").split("\r\n")
    del buf[: end + 4]
    status = int(head[0].split(" ", 2)[1])
    fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    if "content-length" not in fields:
        raise ResponseError(f"no Content-Length in the response: {head}")
    length = int(fields["content-length"])
    while len(buf) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ResponseError("connection closed in a response's body")
        buf += chunk
    del buf[:length]
    return status, fields.get("connection", "").lower() == "close"


def fire(port: int, total: int, clients: int, *, new_connections: bool) -> tuple[list[float], int]:
    """`total` requests (rounds of two) from `clients` threads; each request's seconds, and errors
    (no answer, or anything but a 200)."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per_client = [total // clients + (1 if n < total % clients else 0) for n in range(clients)]

    def client(count: int) -> None:
        mine: list[float] = []
        sock: socket.socket | None = None
        buf = bytearray()
        requests = round_requests(new_connections)
        for n in range(count):
            started = time.perf_counter()
            try:
                if sock is None:
                    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
                    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    buf.clear()
                sock.sendall(requests[n % 2])
                status, closes = _read_response(sock, buf)
            except (OSError, ResponseError):
                status, closes = 0, True
            mine.append(time.perf_counter() - started)
            if status != 200:
                with lock:
                    errors[0] += 1
            if sock is not None and (closes or new_connections):
                sock.close()
                sock = None
        if sock is not None:
            sock.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(c,)) for c in per_client]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies, errors[0]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# -- one run -------------------------------------------------------------------------


def one_run(args: argparse.Namespace, work: Path, n: int) -> dict[str, float]:
    logs = work / "logs"
    sock_path = work / f"web-{n}.sock"
    bind = f"unix:{sock_path}"
    web_cmd = [sys.executable, str(Path(__file__).resolve()), "--serve-trivial-web", bind]
    env = {"FAPLINK_MESSAGE_QUEUE": REDIS, "PYTHONPATH": args.code}
    web = start_process(web_cmd, logs / f"web-{n}.log", env=env, cwd=work)
    port = free_port()
    gateway = None
    try:
        wait_until(sock_path.exists, 90, "the web workers' socket", web, logs / f"web-{n}.log")
        gateway = start_process(
            [
                sys.executable,
                "-m",
                "faplink.cli",
                "central",
                "gateway",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--web",
                bind,
                "--data",
                str(work / "central"),
            ],
            logs / f"gateway-{n}.log",
            env=env,
            cwd=work,  # not a checkout: PYTHONPATH alone says which code runs
        )

        def answers() -> bool:
            _latencies, errors = fire(port, 2, 1, new_connections=False)
            return errors == 0

        wait_until(answers, 90, "the gateway to answer", gateway, logs / f"gateway-{n}.log")
        fire(port, args.warmup, args.clients, new_connections=False)

        figures: dict[str, float] = {}
        for name, total, new in (("", args.requests, False), ("new_conn_", args.new_requests, True)):
            if total <= 0:
                continue
            gw0, web0 = cpu_seconds(gateway.pid), cpu_seconds(web.pid)
            started = time.perf_counter()
            latencies, errors = fire(port, total, args.clients, new_connections=new)
            wall = time.perf_counter() - started
            gw, webcpu = cpu_seconds(gateway.pid) - gw0, cpu_seconds(web.pid) - web0
            figures |= {
                f"{name}gateway_us_per_request": gw / total * 1e6,
                f"{name}gateway_us_per_round": gw / total * 2e6,
                f"{name}web_us_per_request": webcpu / total * 1e6,
                f"{name}p50_ms": percentile(latencies, 0.5) * 1e3,
                f"{name}p95_ms": percentile(latencies, 0.95) * 1e3,
                f"{name}requests_per_s": total / wall,
                f"{name}errors": errors,
            }
        return figures
    finally:
        stop_process(gateway)
        stop_process(web)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--requests", type=int, default=6000, help="kept-alive requests per run (rounds × 2)")
    parser.add_argument("--new-requests", type=int, default=2000, help="requests on new connections per run")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=400)
    parser.add_argument(
        "--code",
        default=str(REPO),
        help="PYTHONPATH of the gateway and web workers: another checkout, to compare two versions",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    parser.add_argument("--serve-trivial-web", metavar="BIND", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_trivial_web:
        serve_trivial_web(args.serve_trivial_web, workers=2)
        return

    commit, dirty = code_version()
    load_start = os.getloadavg()[0]
    work = Path(tempfile.mkdtemp(prefix="faplink-bench-gateway-"))
    results: list[dict[str, float]] = []
    try:
        for n in range(1, args.runs + 1):
            figures = one_run(args, work, n)
            results.append(figures)
            print(f"run {n}: " + ", ".join(f"{k} {v:.3g}" for k, v in figures.items()), flush=True)
    finally:
        if args.keep:
            print(f"work directory kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("summary:")
    print(f"code_commit: {commit}{' (uncommitted changes)' if dirty else ''}")
    print(f"code: {args.code}")
    print(f"clients: {args.clients}")
    for key in results[0]:
        print(f"{key}: {median(r[key] for r in results):.4g}")
    print(f"load_avg_start: {load_start:.2f}")
    print(f"load_avg_end: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
