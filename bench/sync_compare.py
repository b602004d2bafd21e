"""The same replication, post → centre, by faplink, pouchdb-server and morango, on loopback.

Workload (the same data for every engine, made from a seed):
  - 10,000 patients of ~250 bytes of application JSON each (names, birth date,
    sex, phone, post); each engine adds its own metadata to that;
  - 20 files of 1 MiB (random bytes after `%PDF-1.4\\n`; with --file-kind ecg, 12-lead
    ECG exports as text), each on its own appeal (faplink) or its own document
    (PouchDB, as its attachment).
Each engine is running and warmed up (one replication with nothing to send) before
the workload is written at the post; then one replication is measured, through a
counting TCP relay on 127.0.0.1 (bytes = TCP payload both ways: HTTP headers and
bodies), as the ledger of the relay's requests tells them apart:

  faplink   one round inside a running node (`faplink node run`, after its first
            round), started as «Синхронизировать сейчас» starts it; time from the
            node's log (bench/faplink_side.py). Central as production serves it
            (gunicorn) unless FAPLINK_CENTRAL_SERVER says otherwise.
  pouchdb   pouchdb-server to pouchdb-server, the centre's pulling from the post's
            (binary attachments, gzipped JSON); time: the `_replicate` request
            (bench/pouchdb_side.py). --pouch-direction push: the post's pushes.
  morango   Kolibri's sync engine: a Django peer, one push sync session
            (bench/morango_side.py); records alone, compared with faplink_records
            and pouchdb_records (the same engines on the records alone).

Bytes are reported whole, and split: the files' requests (faplink's blob uploads,
PouchDB's attachment GETs), where only the incompressible payload counts, given as
their wire overhead over the files' size; and the records' (everything else), where
encoding can win. Runs are interleaved (faplink 1, pouchdb 1, faplink 2, …); the
summary gives medians. Each run starts from fresh copies and is checked: every
record and file must be at the centre afterwards.

    .venv/bin/python bench/sync_compare.py [--runs 3] [--records 10000] [--files 20]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchlib import app_json, code_version, fmt_bytes, median  # noqa: E402
from faplink_side import (  # noqa: E402,F401 - shaped_link and profile_* import these from here
    PY,
    central_counts,
    faplink_command,
    faplink_template,
    round_seconds,
    run_faplink,
    set_central_url,
)
from morango_side import morango_available, run_morango  # noqa: E402
from pouchdb_side import DIRECTIONS, NODE, POUCH_SERVER, pouch_peers_missing, run_pouchdb  # noqa: E402,F401
from runs import Run, ready_go  # noqa: E402

MIB = 1024 * 1024
#: The goals (issue 14): half of pouchdb-server's time and of its records' bytes; files ≤ 2 % over their size.
GOAL_WALL_RATIO, GOAL_RECORDS_RATIO, GOAL_FILES_OVERHEAD_PCT = 0.5, 0.5, 2.0
ENGINES = ("faplink", "pouchdb", "faplink_records", "morango", "pouchdb_records")

_ready_go = ready_go  # the name shaped_link.py imports


def summarize(name: str, runs: list[Run], file_bytes: int, summary: dict[str, str]) -> None:
    """Medians of one engine's runs into the summary."""
    summary[f"{name}_runs"] = str(len(runs))
    summary[f"{name}_wall_s"] = f"{median(r.wall_s for r in runs):.2f}"
    summary[f"{name}_bytes"] = f"{median(r.total for r in runs):.0f}"
    summary[f"{name}_bytes_up"] = f"{median(r.up for r in runs):.0f}"
    summary[f"{name}_bytes_down"] = f"{median(r.down for r in runs):.0f}"
    split = [r for r in runs if r.files_wire is not None]
    if split and file_bytes:
        files = median(r.files_wire or 0 for r in split)
        summary[f"{name}_bytes_records"] = f"{median(r.records_wire or 0 for r in split):.0f}"
        summary[f"{name}_bytes_files"] = f"{files:.0f}"
        summary[f"{name}_files_overhead_pct"] = f"{100 * (files - file_bytes) / file_bytes:.2f}"
    elif not file_bytes:
        summary[f"{name}_bytes_records"] = summary[f"{name}_bytes"]
    else:
        summary[f"{name}_bytes_records"] = "not told apart (attachments inside _bulk_docs)"
    if any("other_bytes" in r.extra for r in runs):
        summary[f"{name}_link_other_bytes"] = f"{median(r.extra.get('other_bytes', 0) for r in runs):.0f}"
    summary[f"{name}_cpu_centre_s"] = f"{median(r.extra['cpu_server_s'] for r in runs):.2f}"
    summary[f"{name}_cpu_post_s"] = f"{median(r.extra['cpu_client_s'] for r in runs):.2f}"
    # Both sides' CPU: what the wall time comes to on an idle machine, and what a busy one hides.
    summary[f"{name}_cpu_s"] = (
        f"{median(r.extra['cpu_server_s'] + r.extra['cpu_client_s'] for r in runs):.2f}"
    )


def ratios(summary: dict[str, str]) -> None:
    """faplink's figures over the others', then whether the goals are met."""

    def ratio(a: str, b: str, key: str, what: str) -> None:
        x, y = summary.get(f"{a}_{key}", ""), summary.get(f"{b}_{key}", "")
        try:
            summary[f"ratio_{what}_faplink_{b}"] = f"{float(x) / float(y):.2f}" if float(y) else "inf"
        except ValueError:
            pass  # an engine not measured, or a figure it cannot give

    ratio("faplink", "pouchdb", "wall_s", "wall")
    ratio("faplink", "pouchdb", "bytes", "bytes")
    ratio("faplink", "pouchdb", "bytes_records", "records_bytes")
    ratio("faplink", "pouchdb", "cpu_s", "cpu")
    ratio("faplink_records", "morango", "wall_s", "wall")
    ratio("faplink_records", "morango", "bytes", "bytes")
    ratio("faplink_records", "pouchdb_records", "wall_s", "wall")
    ratio("faplink_records", "pouchdb_records", "bytes", "bytes")

    def goal(key: str, value: str | None, limit: float) -> None:
        if value is not None:
            summary[key] = "met" if float(value) <= limit else "NOT met"

    goal("goal_wall_at_most_half_of_pouchdb", summary.get("ratio_wall_faplink_pouchdb"), GOAL_WALL_RATIO)
    goal(
        "goal_records_bytes_at_most_half_of_pouchdb",
        summary.get("ratio_records_bytes_faplink_pouchdb"),
        GOAL_RECORDS_RATIO,
    )
    goal(
        "goal_files_overhead_at_most_2pct",
        summary.get("faplink_files_overhead_pct"),
        GOAL_FILES_OVERHEAD_PCT,
    )


def run_line(name: str, i: int, run: Run) -> str:
    split = ""
    if run.files_wire is not None:
        split = f" = records {run.records_wire:,} + files {run.files_wire:,}"
    other = ""
    if run.extra.get("other_bytes"):
        other = f"; besides, {run.extra['other_bytes']:,} B of the node's live link and fleet report"
    return (
        f"{name} run {i + 1}: {run.wall_s:.2f} s, {run.total:,} B on the wire{split} "
        f"(up {run.up:,}, down {run.down:,}){other}; CPU: centre "
        f"{run.extra['cpu_server_s']:.1f} s, post {run.extra['cpu_client_s']:.1f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--file-size", type=int, default=MIB)
    parser.add_argument(
        "--file-kind",
        choices=("pdf", "ecg"),
        default="pdf",
        help="pdf: random bytes after a PDF header (incompressible, the default); "
        "ecg: 12-lead ECG exports as text (compressible); summary keys then start with ecg_",
    )
    parser.add_argument(
        "--engines",
        default="faplink,pouchdb,morango",
        help="comma-separated subset of faplink,pouchdb,morango",
    )
    parser.add_argument(
        "--pouch-direction",
        choices=DIRECTIONS,
        default="pull",
        help="pull: the centre's pouchdb-server replicates from the post's (binary attachments, "
        "the default); push: the post's replicates to the centre's (attachments as base64)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs, data)")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    os.environ.setdefault("FAPLINK_CENTRAL_SERVER", "gunicorn")

    def log(line: str) -> None:
        print(line, flush=True)

    root = Path(tempfile.mkdtemp(prefix="faplink-sync-compare-"))
    summary: dict[str, str] = {}
    commit, dirty = code_version()
    summary["code_commit"] = commit
    summary["code_uncommitted_changes"] = "yes" if dirty else "no"
    summary["host_load_1m_at_start"] = f"{os.getloadavg()[0]:.2f}"
    results: dict[str, list[Run]] = {}
    failures: dict[str, str] = {}
    try:
        log(
            f"sync_compare: {args.records:,} records + {args.files} files of "
            f"{fmt_bytes(args.file_size)} ({args.file_kind}), {args.runs} interleaved runs per engine, "
            f"loopback through a counting relay (data in {root})"
        )
        log("preparing faplink's central and post (seed, first sync, the workload) …")
        try:
            full_t, work, info = faplink_template(
                root / "faplink-full",
                root / "workload",
                args.records,
                args.files,
                args.file_size,
                log,
                args.file_kind,
                write_workload=False,
            )
        except Exception as exc:  # noqa: BLE001 - reported as the summary
            traceback.print_exc(file=sys.stdout)
            log("")
            log("summary:")
            print(f"compare_status: failed: preparing the data: {type(exc).__name__}: {str(exc)[:300]}")
            return 1
        rec_sizes = [len(app_json(p)) for p in work.patients]
        log(
            f"  workload: {len(work.patients):,} patients, application JSON "
            f"{sum(rec_sizes) / len(rec_sizes):.0f} B each on average "
            f"({fmt_bytes(work.record_bytes)} in all); {len(work.files)} files, "
            f"{fmt_bytes(work.blob_bytes)} in all"
        )
        summary["workload_records"] = str(len(work.patients))
        summary["workload_record_app_json_bytes"] = f"{sum(rec_sizes) / len(rec_sizes):.0f}"
        summary["workload_files"] = str(len(work.files))
        summary["workload_file_bytes"] = str(work.blob_bytes)
        summary["workload_file_kind"] = args.file_kind
        summary["faplink_central_server"] = os.environ["FAPLINK_CENTRAL_SERVER"]
        summary["pouchdb_replication"] = (
            "pull: the centre's pouchdb-server replicates from the post's"
            if args.pouch_direction == "pull"
            else "push: the post's pouchdb-server replicates to the centre's"
        )

        records_t = rec_work = rec_info = None
        if "morango" in engines:
            log("preparing a faplink post with the records alone (to compare with morango) …")
            try:
                records_t, rec_work, rec_info = faplink_template(
                    root / "faplink-records",
                    root / "workload-records",
                    args.records,
                    0,
                    args.file_size,
                    log,
                    write_workload=False,
                )
            except Exception as exc:  # noqa: BLE001 - reported, the others go on
                traceback.print_exc(file=sys.stdout)
                failures["morango"] = f"preparing the records-only data failed: {type(exc).__name__}: {exc}"

        plan: list[tuple[str, Callable[[int], Run]]] = []
        if "faplink" in engines:
            plan.append(("faplink", lambda i: run_faplink(full_t, info, work, root / f"run-faplink-{i}")))
        if "pouchdb" in engines:
            why = pouch_peers_missing()
            if why:
                failures["pouchdb"] = why
            else:
                plan.append(
                    ("pouchdb", lambda i: run_pouchdb(work, root / f"run-pouchdb-{i}", args.pouch_direction))
                )
        if "morango" in engines and records_t and rec_work is not None and rec_info is not None:
            why = morango_available()
            if why:
                failures["morango"] = why
            else:
                plan.append(
                    (
                        "faplink_records",
                        lambda i: run_faplink(
                            records_t, rec_info, rec_work, root / f"run-faplink-records-{i}"
                        ),
                    )
                )
                plan.append(("morango", lambda i: run_morango(rec_work, root / f"run-morango-{i}")))
            if "pouchdb" in engines and "pouchdb" not in failures:
                plan.append(
                    (
                        "pouchdb_records",
                        lambda i: run_pouchdb(
                            rec_work, root / f"run-pouchdb-records-{i}", args.pouch_direction
                        ),
                    )
                )

        for i in range(args.runs):
            for name, runner in plan:
                if name in failures:
                    continue
                try:
                    run = runner(i)
                except Exception as exc:  # noqa: BLE001 - reported, the others go on
                    failures[name] = f"{type(exc).__name__}: {str(exc)[-600:]}"
                    log(f"{name} run {i + 1}: FAILED: {failures[name]}")
                    traceback.print_exc(file=sys.stdout)
                    continue
                results.setdefault(name, []).append(run)
                log(run_line(name, i, run))
                written: dict[str, Any] | None = run.extra.get("written")
                if written and i == 0:
                    log(
                        "  faplink's wire form of one patient (to_wire, JSON): "
                        f"{written['wire_record_bytes']} B, of which field_stamps "
                        f"{written['wire_field_stamps_bytes']} B; the workload was written into the "
                        f"running post in {written['seconds']} s"
                    )

        for name, _runner in plan:
            runs = sorted(results.get(name, []), key=lambda r: r.wall_s)
            if runs:
                log(f"  {name}: requests of the median run (bytes through the relay, request to last byte):")
                for line in runs[len(runs) // 2].ledger:
                    log(line)

        log("")
        for name in ENGINES:
            if results.get(name):
                file_bytes = work.blob_bytes if name in ("faplink", "pouchdb") else 0
                summarize(name, results[name], file_bytes, summary)
        for name, why in failures.items():
            log(f"{name}: not measured: {why}")
            summary[f"{name}_status"] = f"not measured: {why.splitlines()[0][:200]}"
        ratios(summary)
        notes = [
            "times: faplink = one round inside the running node (its log), pouchdb = the _replicate "
            "request, morango = sync session create → push → close; bytes = TCP payload through the "
            "relay, both directions, of the replication's requests only.",
            "files' overhead = (bytes of the requests that carry the files − the files' size) / their size.",
        ]
        if "morango" in engines:
            notes.append(
                "morango has no blob transfer: faplink/morango ratios compare the "
                f"{len(work.patients):,} patient records alone (faplink_records); "
                "pouchdb_records is PouchDB on the same records alone."
            )
        for note in notes:
            log(f"note: {note}")
        log("")
        summary["host_load_1m_at_end"] = f"{os.getloadavg()[0]:.2f}"
        log("summary:")
        prefix = "" if args.file_kind == "pdf" else f"{args.file_kind}_"
        for key, value in summary.items():
            print(f"{prefix}{key}: {value}", flush=True)
        return 0 if not failures or set(failures) == {"morango"} else 1
    finally:
        if args.keep:
            log(f"(kept {root})")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
