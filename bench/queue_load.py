"""The consultant's queue under a region's history, over HTTP through a served central.

For each engine (PostgreSQL, SQLite) and size (100,000 and 1,000,000 appeals) this fills a
fresh central database the way years of work would leave it (the demo's directory, 300 posts
of the region and a few of another, 20,000 patients, ten specialties; appeals mostly closed,
the last week's new or in work), in bulk: COPY on PostgreSQL, executemany in one transaction
on SQLite, the secondary indexes dropped meanwhile and built again after. It then serves central
as production does (`faplink central run --server gunicorn`) and, as Иванова (cardiology)
and as the administrator (who sees every appeal), times over HTTP:

- the queue pages (`/appeals?queue=new|closed`, first page with the counters),
- the next pages that «Показать ещё» links to (a walk of `--pages` pages),
- the JSON API's closed list, first page and the pages after by cursor, and its size,
- the live patch a page asks for after a change (`/appeals/changes`).

Prints `name: value` lines (milliseconds, p50 and p95 of `--requests` requests) after
`summary:`. Goals (issue 14): the queue page p95 < 200 ms at 100,000 appeals and the first page
< 100 ms at 1,000,000 on PostgreSQL.

    .venv/bin/python bench/queue_load.py [--sizes 100000,1000000] [--engines postgresql,sqlite]
        [--requests 40] [--pages 20] [--pg postgresql://root@127.0.0.1:5432/postgres]
        [--work var/bench-queue] [--reuse]

`--reuse` keeps the filled databases (in `--work`, and PostgreSQL's `faplink_bench_queue_<size>`)
for the next run; without it they are made afresh and dropped afterwards.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import random
import re
import shutil
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

import psycopg2
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import (
    REPO,
    code_version,
    cpu_seconds,
    free_port,
    print_summary,
    start_process,
    stop_process,
    tcp_open,
    wait_until,
)  # noqa: E402

PG_ADMIN = "postgresql://root@127.0.0.1:5432/postgres"
SPECIALTIES = [
    "Кардиология",
    "Неврология",
    "Педиатрия",
    "Эндокринология",
    "Пульмонология",
    "Терапия",
    "Хирургия",
    "Гастроэнтерология",
    "Нефрология",
    "Онкология",
]
#: Share of appeals per specialty (cardiology and therapy lead, as at a regional centre).
WEIGHTS = [18, 10, 12, 8, 8, 16, 8, 8, 6, 6]
REGION_POSTS = 300
OTHER_POSTS = 20
PATIENTS = 20_000
DEADLINES = {"emergency": timedelta(hours=2), "urgent": timedelta(hours=24), "planned": timedelta(days=7)}


# -- filling -------------------------------------------------------------------------


@dataclass
class Directory:
    """Who the appeals are between: posts (with their feldsher), patients, specialties, doctors."""

    posts: list[tuple[str, str]]  # (post id, feldsher id)
    other_posts: list[tuple[str, str]]
    patients: list[str]
    specialties: list[str]
    doctors: dict[str, list[str]]  # specialty id → consultant ids (Иванова first for cardiology)


def _sync_fields(clock: Any, seq: int) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "origin": "central",
        "changed_by": "central",
        "hlc": clock.now(),
        "seq": seq,
    }


def _directory(rng: random.Random) -> Directory:
    """The demo's directory, grown to a region's: more posts, patients, specialties, doctors."""
    from domain.models import Organization, OrgKind, Patient, Region, Role, Specialty, Staff
    from faplink.demo_seed import seed
    from sync.db import bind_replica, database, replica
    from sync.model import reserve_seqs

    bind_replica("central")
    data = seed(days=1, weekends=True)
    clock = replica().clock
    seqs = iter(reserve_seqs(2 * (REGION_POSTS + OTHER_POSTS) + PATIENTS + 5 * len(SPECIALTIES)))

    def insert(model: Any, items: list[dict[str, Any]]) -> list[str]:
        """Rows in bulk, with their sync fields; their ids."""
        full = [{**_sync_fields(clock, next(seqs)), **item} for item in items]
        with database.atomic():
            for start in range(0, len(full), 500):
                model.insert_many(full[start : start + 500]).execute()
        return [row["id"] for row in full]

    existing = {s.name for s in Specialty.select()}
    insert(Specialty, [{"name": name} for name in SPECIALTIES if name not in existing])
    specialties = {s.name: s.id for s in Specialty.select()}
    doctors: dict[str, list[str]] = {specialties[name]: [] for name in SPECIALTIES}
    consultants = Staff.select().where(Staff.role == Role.CONSULTANT).order_by(Staff.last_name)
    for staff in consultants:
        if staff.specialty_id in doctors:
            doctors[staff.specialty_id].append(staff.id)
    ivanova = data.consultants["ivanova"]
    doctors[specialties["Кардиология"]].sort(key=lambda d: d != ivanova)
    for specialty, ids in doctors.items():
        missing = max(0, 3 - len(ids))
        ids += insert(
            Staff,
            [
                {
                    "last_name": f"Врач{n}",
                    "first_name": "Консультант",
                    "role": Role.CONSULTANT,
                    "organization": data.centre_id,
                    "specialty": specialty,
                }
                for n in range(missing)
            ],
        )

    def posts(count: int, region: str, prefix: str) -> list[tuple[str, str]]:
        ids = insert(
            Organization,
            [{"name": f"{prefix} №{n}", "kind": OrgKind.POST, "region": region} for n in range(count)],
        )
        feldshers = insert(
            Staff,
            [
                {"last_name": "Фельдшер", "first_name": str(n), "role": Role.FELDSHER, "organization": post}
                for n, post in enumerate(ids)
            ],
        )
        return list(zip(ids, feldshers, strict=True))

    demo_posts = [
        (post, Staff.get((Staff.organization == post) & (Staff.role == Role.FELDSHER)).id)
        for post, _ in data.posts
    ]
    region_posts = demo_posts + posts(REGION_POSTS - len(demo_posts), data.region_id, "ФАП")
    other_posts = posts(OTHER_POSTS, Region.create(name="Псковская область").id, "ФАП Псковской области")
    born = date(1940, 1, 1)
    patients = insert(
        Patient,
        [
            {
                "last_name": f"Пациент{n}",
                "first_name": "Иван",
                "birth_date": born + timedelta(days=rng.randrange(80 * 365)),
                "sex": "male" if n % 2 else "female",
                "organization": rng.choice(region_posts)[0],
            }
            for n in range(PATIENTS)
        ],
    )
    return Directory(region_posts, other_posts, patients, [specialties[n] for n in SPECIALTIES], doctors)


def _appeals(directory: Directory, count: int, now: datetime, rng: random.Random) -> Iterator[dict[str, Any]]:
    """`count` appeals over three years up to `now`, oldest first: closed (or cancelled) after a
    week, the last week's still new or in work; a third named to a doctor; a twentieth from
    another region."""
    from sync.db import replica
    from sync.model import reserve_seqs

    clock = replica().clock
    span = int(timedelta(days=3 * 365).total_seconds())
    for n, seq in enumerate(reserve_seqs(count)):
        # In the order they were made, as a table fills over the years (its rows lie in time order).
        created = now - timedelta(seconds=span * (count - n) / count + rng.randrange(3600))
        specialty = rng.choices(directory.specialties, WEIGHTS)[0]
        doctors = directory.doctors[specialty]
        post, author = rng.choice(directory.other_posts if rng.random() < 0.05 else directory.posts)
        form = rng.choices(["emergency", "urgent", "planned"], [5, 35, 60])[0]
        if now - created > timedelta(days=7):
            status = "closed" if rng.random() < 0.97 else "cancelled"
        else:
            status = rng.choices(["new", "in_work", "closed"], [40, 20, 40])[0]
        named = rng.choice(doctors) if rng.random() < 0.33 else None
        taker = (named or rng.choice(doctors)) if status in ("in_work", "closed") else None
        taken = created + timedelta(minutes=rng.randrange(10, 600))
        yield {
            **_sync_fields(clock, seq),
            "patient": rng.choice(directory.patients),
            "post": post,
            "author": author,
            "specialty": specialty,
            "consultant": named,
            "form_of_care": form,
            "question": "Контроль после выписки: коррекция терапии?",
            "consent_by": "patient",
            "consent_at": created,
            "created_at": created,
            "due_at": created + DEADLINES[form],
            "status": status,
            "taken_by": taker,
            "taken_at": taken if taker else None,
            "closed_at": taken + timedelta(minutes=rng.randrange(20, 240)) if status == "closed" else None,
            "cancelled_at": created + timedelta(hours=1) if status == "cancelled" else None,
        }


def _columns() -> list[tuple[str, str, Callable[[], Any] | Any]]:
    """Appeal's columns in table order: (field name, column name, default)."""
    from domain.models import Appeal

    return [(f.name, f.column_name, f.default) for f in Appeal._meta.sorted_fields]


def _full(row: dict[str, Any], columns: list[tuple[str, str, Any]]) -> list[Any]:
    return [
        row[name] if name in row else (default() if callable(default) else default)
        for name, _, default in columns
    ]


def _secondary_indexes(db: Any, postgres: bool) -> list[tuple[str, str]]:
    """The CREATE INDEX statements of appeal's secondary indexes (to drop before a bulk load)."""
    if postgres:
        rows = db.execute_sql(
            "SELECT indexname, indexdef FROM pg_indexes"
            " WHERE tablename = 'appeal' AND indexname <> 'appeal_pkey'"
        ).fetchall()
    else:
        rows = db.execute_sql(
            "SELECT name, sql FROM sqlite_master"
            " WHERE type = 'index' AND tbl_name = 'appeal' AND sql IS NOT NULL"
        ).fetchall()
    return [(str(name), str(sql)) for name, sql in rows]


def fill(count: int, postgres: bool, seed: int = 14) -> float:
    """Fill the bound (migrated, empty) database with the directory and `count` appeals; seconds taken."""
    from sync.clock import utcnow
    from sync.db import database

    started = time.monotonic()
    rng = random.Random(seed)
    directory = _directory(rng)
    db = database.obj
    columns = _columns()
    names = ", ".join(f'"{column}"' for _, column, _ in columns)
    indexes = _secondary_indexes(db, postgres)
    for name, _ in indexes:
        db.execute_sql(f'DROP INDEX "{name}"')
    now = utcnow()
    appeals = _appeals(directory, count, now, rng)
    conn = db.connection()
    if postgres:
        with conn.cursor() as cursor:
            while batch := list(islice(appeals, 50_000)):
                text = "".join(",".join(_csv(v) for v in _full(row, columns)) + "\n" for row in batch)
                cursor.copy_expert(f"COPY appeal ({names}) FROM STDIN WITH (FORMAT csv)", io.StringIO(text))
        conn.commit()
    else:
        marks = ", ".join("?" for _ in columns)
        with db.atomic():
            while batch := list(islice(appeals, 50_000)):
                values = [[_sqlite(v) for v in _full(row, columns)] for row in batch]
                conn.executemany(f"INSERT INTO appeal ({names}) VALUES ({marks})", values)
    for _, sql in indexes:
        db.execute_sql(sql)
    if postgres:  # as autovacuum would soon after a load this size: statistics, visibility map
        vacuum = psycopg2.connect(**db.connect_params, database=db.database)
        vacuum.autocommit = True
        with vacuum.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        vacuum.close()
    return time.monotonic() - started


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, (int, float)):
        return str(value)
    text = str(value)
    return '"' + text.replace('"', '""') + '"'


def _sqlite(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (datetime, date)):
        return str(value)  # as peewee and sqlite3 store them: 'YYYY-MM-DD HH:MM:SS[.ffffff]'
    return value


# -- the databases ---------------------------------------------------------------------


def _pg(admin_url: str, *statements: tuple[str, tuple[Any, ...]]) -> list[Any]:
    """Run `statements` on the server's admin database (autocommit: CREATE/DROP DATABASE); the last's rows."""
    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for sql, params in statements:
                cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def _pg_exists(admin_url: str, name: str) -> bool:
    return bool(_pg(admin_url, ("SELECT 1 FROM pg_database WHERE datname = %s", (name,))))


def _pg_drop(admin_url: str, name: str) -> None:
    _pg(
        admin_url,
        ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,)),
        (f'DROP DATABASE IF EXISTS "{name}"', ()),
    )


def prepare(
    engine: str, size: int, work: Path, admin_url: str, reuse: bool
) -> tuple[str, Path, float | None]:
    """A filled central database for `engine` and `size`: its URL, its data directory, and the
    seconds the fill took (None when a kept one was reused)."""
    from domain.models import Appeal
    from sync.db import database, open_database, open_database_url
    from sync.migrations import migrate
    from sync.state import CENTRAL_MIGRATIONS

    data_dir = work / f"{engine}-{size}"
    name = f"faplink_bench_queue_{size}"
    url = (
        f"{admin_url.rsplit('/', 1)[0]}/{name}"
        if engine == "postgresql"
        else f"sqlite:///{data_dir / 'central.db'}"
    )
    kept = data_dir.is_dir() and (engine == "sqlite" or _pg_exists(admin_url, name))
    if reuse and kept:
        db = open_database_url(url) if engine == "postgresql" else open_database(data_dir / "central.db")
        try:
            if Appeal.select().count() >= size:
                return url, data_dir, None
        finally:
            database.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    data_dir.mkdir(parents=True)
    if engine == "postgresql":
        _pg_drop(admin_url, name)
        _pg(admin_url, (f'CREATE DATABASE "{name}"', ()))
        db = open_database_url(url)
    else:
        db = open_database(data_dir / "central.db")
    try:
        migrate(db, CENTRAL_MIGRATIONS)
        seconds = fill(size, postgres=engine == "postgresql")
    finally:
        database.close()
    return url, data_dir, seconds


# -- measuring -------------------------------------------------------------------------


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


class Client:
    def __init__(self, base: str, login: str) -> None:
        self.base = base
        self.http = requests.Session()
        answer = self.http.post(
            f"{base}/api/v1/session", json={"login": login, "password": "demo1234"}, timeout=60
        )
        answer.raise_for_status()

    def get(self, path: str) -> tuple[requests.Response, float]:
        started = time.perf_counter()
        answer = self.http.get(path if path.startswith("http") else self.base + path, timeout=120)
        took = time.perf_counter() - started
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
        return answer, took


def _more_link(html: str, section: str) -> str | None:
    found = re.search(rf'<section[^>]*data-list="{section}".*?href="([^"]+)" data-more=', html, re.S)
    return found.group(1).replace("&amp;", "&") if found else None


def measure(client: Client, requests_count: int, pages: int, who: str, central_pid: int) -> dict[str, float]:
    """The figures of one user: wall times over HTTP, and central's own CPU per first page
    (its share of a busy machine's time does not inflate that one)."""
    out: dict[str, float] = {}

    def record(name: str, samples: list[float]) -> None:
        out[f"{who}_{name}_p50_ms"], out[f"{who}_{name}_p95_ms"] = _ms(samples)

    for queue in ("new", "closed"):
        client.get(f"/appeals?queue={queue}")  # warm: the worker's connection, templates
        cpu = cpu_seconds(central_pid)
        record(
            f"queue_{queue}_first", [client.get(f"/appeals?queue={queue}")[1] for _ in range(requests_count)]
        )
        out[f"{who}_queue_{queue}_first_central_cpu_ms"] = (
            (cpu_seconds(central_pid) - cpu) * 1000 / requests_count
        )
    html, _ = client.get("/appeals?queue=closed")
    seq = int(re.search(r'data-seq="(\d+)"', html.text).group(1))  # type: ignore[union-attr]
    link = _more_link(html.text, "closed")
    seen: set[str] = set()
    samples: list[float] = []
    for _ in range(pages):
        if link is None:
            break
        answer, took = client.get(link)
        samples.append(took)
        rows = re.findall(r'<li data-row="([^"]+)"', answer.text)
        if not rows or seen & set(rows):
            raise RuntimeError("a next page repeated rows or came empty")
        seen |= set(rows)
        link = _more_link(answer.text, "closed")
    record("queue_closed_next", samples)

    first = [client.get("/api/v1/appeals?queue=closed") for _ in range(requests_count)]
    record("api_closed_first", [took for _, took in first])
    out[f"{who}_api_closed_page_kb"] = round(len(first[0][0].content) / 1024, 1)
    cursor = first[0][0].json()["next"]
    samples = []
    for _ in range(pages):
        if not cursor:
            break
        answer, took = client.get(f"/api/v1/appeals?queue=closed&after={cursor}")
        samples.append(took)
        cursor = answer.json()["next"]
    record("api_closed_next", samples)
    record(
        "live_patch",
        [client.get(f"/appeals/changes?queue=new&since={seq}")[1] for _ in range(requests_count)],
    )
    return out


def serve(url: str, data_dir: Path, log: Path) -> tuple[Any, str]:
    port = free_port()
    proc = start_process(
        [
            sys.executable,
            "-m",
            "faplink.cli",
            "central",
            "run",
            "--server",
            "gunicorn",
            "--port",
            str(port),
            "--data",
            str(data_dir),
            "--database-url",
            url,
        ],
        log,
        cwd=REPO,
    )
    wait_until(lambda: tcp_open("127.0.0.1", port), 120, "central to listen", process=proc, log=log)
    return proc, f"http://127.0.0.1:{port}"


def _label(size: int) -> str:
    return f"{size // 1_000_000}M" if size % 1_000_000 == 0 else f"{size // 1000}k"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--engines", default="postgresql,sqlite")
    parser.add_argument("--requests", type=int, default=40, help="requests per figure")
    parser.add_argument("--pages", type=int, default=20, help="next pages walked")
    parser.add_argument("--pg", default=os.environ.get("FAPLINK_BENCH_PG", PG_ADMIN))
    parser.add_argument("--work", type=Path, default=REPO / "var" / "bench-queue")
    parser.add_argument("--reuse", action="store_true", help="keep the filled databases for the next run")
    args = parser.parse_args()
    commit, dirty = code_version()
    figures: dict[str, Any] = {
        "code_commit": commit + ("+changes" if dirty else ""),
        "load_1m_start": os.getloadavg()[0],
    }
    for engine in args.engines.split(","):
        if engine == "postgresql":
            try:
                _pg(args.pg, ("SELECT 1", ()))
            except psycopg2.Error as exc:
                figures["queue_postgresql"] = (
                    f"not measured: no PostgreSQL at {args.pg} ({exc.__class__.__name__})"
                )
                continue
        for size in (int(s) for s in args.sizes.split(",")):
            name = f"queue_{engine}_{_label(size)}"
            url, data_dir, fill_s = prepare(engine, size, args.work, args.pg, args.reuse)
            if fill_s is not None:
                figures[f"{name}_fill_s"] = round(fill_s, 1)
                print(f"{name}: filled {size} appeals in {fill_s:.0f} s", flush=True)
            proc, base = serve(url, data_dir, args.work / f"{engine}-{size}.log")
            try:
                for login, who in (("ivanova", "consultant"), ("admin", "admin")):
                    client = Client(base, login)
                    for key, value in measure(client, args.requests, args.pages, who, proc.pid).items():
                        figures[f"{name}_{key}"] = round(value, 1)
                        print(f"{name}_{key}: {figures[f'{name}_{key}']}", flush=True)
            finally:
                stop_process(proc)
            if not args.reuse:
                shutil.rmtree(data_dir, ignore_errors=True)
                if engine == "postgresql":
                    _pg_drop(args.pg, f"faplink_bench_queue_{size}")
    figures["load_1m_end"] = os.getloadavg()[0]
    print_summary(figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
