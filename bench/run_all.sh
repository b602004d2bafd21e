#!/usr/bin/env bash
# The sync benchmarks and the loopback call's CPU, then the summary lines of all. `make bench` calls this.
#   RUNS=3 (default) runs per engine; COMPARE_ARGS / SHAPED_ARGS: more options for each
#   (e.g. SHAPED_ARGS="--records 200 --files 1" for a quick try). Root is needed for the
#   shaped link.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
RUNS=${RUNS:-3}
# Central as production serves it (kept-alive connections); FAPLINK_CENTRAL_SERVER=werkzeug for the demo's.
export FAPLINK_CENTRAL_SERVER=${FAPLINK_CENTRAL_SERVER:-gunicorn}

if [ ! -d bench/node_modules/pouchdb-server ]; then
  npm --prefix bench ci --no-audit --no-fund || echo "npm peers could not be installed: pouchdb will fail"
fi
if [ ! -x bench/.venv-morango/bin/python ]; then
  { python3 -m venv bench/.venv-morango \
    && bench/.venv-morango/bin/python -m pip install -q -r bench/requirements-morango.txt; } \
    || echo "the morango venv could not be set up: morango will be reported as not measured"
fi

logs=$(mktemp -d)
"$PY" bench/sync_compare.py --runs "$RUNS" ${COMPARE_ARGS:-} | tee "$logs/sync_compare.log"
rc_compare=${PIPESTATUS[0]}
# The same against PouchDB with text files (ECG exports), which faplink sends gzipped.
"$PY" bench/sync_compare.py --runs "$RUNS" --file-kind ecg --engines faplink,pouchdb ${COMPARE_ARGS:-} \
  | tee "$logs/sync_compare_ecg.log"
rc_ecg=${PIPESTATUS[0]}
"$PY" bench/shaped_link.py --runs "$RUNS" ${SHAPED_ARGS:-} | tee "$logs/shaped_link.log"
rc_shaped=${PIPESTATUS[0]}
# The kiosk's loopback call (aiortc, FFmpeg test source): CPU per second at 640×480 and 1280×720.
"$PY" bench/call_cpu.py --runs "$RUNS" | tee "$logs/call_cpu.log"
rc_call=${PIPESTATUS[0]}
# The consultant's МКБ-10 search as someone types: per keystroke, in-process and through the API.
"$PY" bench/icd10_typing.py | tee "$logs/icd10_typing.log"
rc_icd=${PIPESTATUS[0]}

echo
echo "summary:"
for log in "$logs/sync_compare.log" "$logs/sync_compare_ecg.log" "$logs/shaped_link.log" "$logs/call_cpu.log"; do
  sed -n '/^summary:$/,$p' "$log" | sed '1d'
done
tail -n 3 "$logs/icd10_typing.log"
rm -rf "$logs"
[ "$rc_compare" -eq 0 ] && [ "$rc_ecg" -eq 0 ] && [ "$rc_shaped" -eq 0 ] && [ "$rc_call" -eq 0 ] && [ "$rc_icd" -eq 0 ]
