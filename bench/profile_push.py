"""Where a push of many records spends its time, without the network: node side and central side.

Builds a post with --records patients (as sync_compare does: seed, first sync,
workload), then, in this process:
  node     collect_changes → to_wire → gzip, in batches of --batch;
  central  decode → apply_records (what `POST /sync/v1/push` runs), on a copy of
           central's database, batch by batch;
and prints the seconds of each step; with --profile, the functions that take the
most time at central (cProfile, sorted by cumulative then own time).

    .venv/bin/python bench/profile_push.py [--records 10000] [--batch 2000] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sync_compare import faplink_template  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=2000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="faplink-profile-push-"))
    try:
        template, _work, info = faplink_template(root / "t", root / "workload", args.records, 0, 1, print)
        from node import create_app
        from sync.apply import apply_records
        from sync.changes import collect_changes, latest_stamp
        from sync.db import CENTRAL, bind_replica, database, open_database
        from sync.migrations import migrate
        from sync.state import CENTRAL_MIGRATIONS
        from sync.wire import decode, encode

        node_dir = template / info["post_dir"]
        # The post's database is encrypted at rest: its own app factory opens it with its key.
        create_app({"DATA_DIR": node_dir, "SYNC_ENABLED": False})
        db = database.obj
        t0 = time.perf_counter()
        rows, _ = collect_changes(0, args.records * 2, only_by=info["node_id"])
        t1 = time.perf_counter()
        wire = [row.to_wire() for row in rows]
        t2 = time.perf_counter()
        bodies = [encode({"records": wire[i : i + args.batch]}) for i in range(0, len(wire), args.batch)]
        t3 = time.perf_counter()
        db.close()
        print(
            f"node: {len(rows):,} records; collect_changes {t1 - t0:.2f} s, to_wire {t2 - t1:.2f} s, "
            f"gzip {t3 - t2:.2f} s; {sum(map(len, bodies)):,} B in {len(bodies)} bodies"
        )

        cdb = open_database(template / "central" / "central.db")
        migrate(cdb, CENTRAL_MIGRATIONS)
        bind_replica(CENTRAL, latest_stamp())
        profiler = cProfile.Profile() if args.profile else None
        decode_s = apply_s = 0.0
        for body in bodies:
            a = time.perf_counter()
            payload = decode(body)
            b = time.perf_counter()
            if profiler:
                profiler.enable()
            result = apply_records(
                payload["records"], peer=info["node_id"], from_central=False, scope_org=info["organization"]
            )
            if profiler:
                profiler.disable()
            c = time.perf_counter()
            decode_s += b - a
            apply_s += c - b
            if result.refused or result.pending:
                print(f"  refused {len(result.refused)}, pending {result.pending}")
        cdb.close()
        note = " (under cProfile: slower than without)" if profiler else ""
        print(
            f"central: decode {decode_s:.2f} s, apply_records {apply_s:.2f} s = "
            f"{apply_s / len(rows) * 1000:.2f} ms per record{note}"
        )
        if profiler:
            for order, count in (("cumulative", 30), ("tottime", 15)):
                out = io.StringIO()
                pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(count)
                print(out.getvalue())
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
